"""A second opinion learnt from the articles' own questions.

The matcher (matcher.py) scores each article by what a question shares with it; it
cannot learn which words tell one article from its neighbours ("seat" in a question
about adding people is not about prices). A linear classifier can: trained on every
article's questions, title and tags (each labelled with its article), over character
n-grams within words (2 to 5: typos and word forms share most of them) and words and
word pairs, weighted by tf-idf. On the shipped knowledge base its best article is the
right one more often than the matcher's (benchmarks/RESULTS.md, "A second opinion").

It is a second opinion, never the only one: in base.py it stands in for the best
article's lead over the next. The best article scores at least `answer_score` but is
not `answer_margin` ahead: it is answered when the classifier puts it first too, with
at least `Thresholds.learned_probability` (chosen on the calibration set), and learnt
it from at least MIN_EXAMPLES texts. Two models that
err differently agreeing is much stronger evidence than either's score.

Training is stochastic gradient descent on the log loss (scikit-learn's
SGDClassifier, one model per article, seeded: the same articles give the same model),
well under a second for the shipped knowledge base. Above MAX_ARTICLES articles no
classifier is trained (its weights grow with articles × n-grams; the matcher alone
decides there, as before). A model trained for the same articles is reused within a
process (a reload of unchanged articles, the tests)."""

from __future__ import annotations

import hashlib
import threading
import warnings
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.knowledge.analysis import words
from bot.knowledge.articles import Article

# an article's opinion counts only when it was learnt from this many of its texts
# (title, questions, tags) or more: from two or three, a classifier cannot tell
# articles apart, it repeats their words (the calibration set's articles have 11)
MIN_EXAMPLES = 8
MAX_ARTICLES = 300  # benchmarks/learned_bench.py: training time and memory grow with it
ALPHA = 1e-4  # the regularisation: chosen with benchmarks/threshold_sweep.py (RESULTS.md)
EPOCHS = 50
NGRAMS = (2, 5)  # character n-grams within words
KEPT = 2  # trained models held per process besides those knowledge bases use


Floats = npt.NDArray[np.float32]
OPINIONS = 5  # articles an opinion names, the likeliest first


@dataclass(frozen=True, slots=True)
class Opinion:
    likeliest: tuple[tuple[str, float], ...]  # (article id, probability), the best first

    @property
    def article(self) -> str:
        """The id of the article the classifier puts first."""
        return self.likeliest[0][0]

    @property
    def probability(self) -> float:
        """Its probability, 0..1 (all the articles' sum to 1)."""
        return self.likeliest[0][1]

    def of(self, article_id: str) -> float | None:
        """The probability of `article_id` when it is among the likeliest."""
        return next((p for a, p in self.likeliest if a == article_id), None)


class Learned:
    """A classifier over a fixed list of articles: train once, ask many times.

    Asking does not go through scikit-learn's pipeline (a few milliseconds of
    machinery per text): each vectorizer's own analyzer (`build_analyzer`, the same
    n-grams as in training) gives the text's n-grams, and the tf-idf weighting and
    the linear model's scores are a few numpy operations on the trained arrays."""

    def __init__(self, vectorizers: Sequence[Any], model: Any, examples: dict[str, int]) -> None:
        self._examples = examples
        # the model itself is not kept (its float64 weights were 40 % of a kept
        # model's memory at 300 articles), nor a copy of the vocabularies: the
        # analyzers hold their vectorizers, and with them their vocabularies
        self._ids: list[str] = [str(c) for c in model.classes_]
        self._parts: list[tuple[Any, dict[str, int], Floats, int]] = []
        offset = 0
        for vectorizer in vectorizers:
            vocabulary: dict[str, int] = vectorizer.vocabulary_
            idf = np.asarray(vectorizer.idf_, dtype=np.float32)
            self._parts.append((vectorizer.build_analyzer(), vocabulary, idf, offset))
            offset += len(vocabulary)
        # features x articles, so that a text's few features are a few rows
        self._weights: Floats = np.ascontiguousarray(np.asarray(model.coef_, np.float32).T)
        self._intercept: Floats = np.asarray(model.intercept_, dtype=np.float32)
        if len(self._ids) == 2:  # a binary model has one row: the second class's
            self._weights = np.hstack([-self._weights, self._weights])
            self._intercept = np.concatenate([-self._intercept, self._intercept])
        # a question is asked of the ranking and of the decision: computed once
        self._asked = lru_cache(maxsize=1024)(self._opinion)

    @classmethod
    def train(cls, articles: Sequence[Article]) -> Learned | None:
        """None when there is nothing to learn (fewer than two articles) or too much
        (more than MAX_ARTICLES)."""
        if not 2 <= len(articles) <= MAX_ARTICLES:
            return None
        key = _fingerprint(articles)
        with _lock:
            kept = _alive.get(key)
            if kept is not None:
                _keep(key, kept)
                return kept
        made = cls._fit(articles)
        if made is None:
            return None
        with _lock:
            _alive[key] = made
            _keep(key, made)
        return made

    @classmethod
    def _fit(cls, articles: Sequence[Article]) -> Learned | None:
        """None when scikit-learn cannot learn these texts (no word of two letters in
        any of them, one id for every article): the matcher alone decides then, a
        knowledge base must load whatever its articles say."""
        try:
            return cls(*fitted(articles))
        except ValueError:
            return None

    def knows_well(self, article_id: str) -> bool:
        """Whether the article was learnt from at least MIN_EXAMPLES texts."""
        return self._examples.get(article_id, 0) >= MIN_EXAMPLES

    def opinion(self, text: str) -> Opinion | None:
        return self._asked(text)

    def _opinion(self, text: str) -> Opinion | None:
        """The articles this classifier finds likeliest for `text`, with their
        probabilities; None for a text with nothing it knows (no n-gram of the
        articles')."""
        text = spelt(text)
        rows: list[int] = []
        values: list[float] = []
        for analyzer, vocabulary, idf, offset in self._parts:
            counts = Counter(i for g in analyzer(text) if (i := vocabulary.get(g)) is not None)
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
            weighted = tf * idf[index]  # sublinear tf times idf, then unit length
            weighted /= np.linalg.norm(weighted)
            rows.extend((index + offset).tolist())
            values.extend(weighted.tolist())
        if not rows:
            return None
        scores = np.asarray(values, np.float32) @ self._weights[rows] + self._intercept
        likely = 1 / (1 + np.exp(-scores))  # one-vs-rest log loss: each article's own
        probabilities = likely / likely.sum()  # as scikit-learn's predict_proba
        order = np.argsort(-probabilities, kind="stable")[:OPINIONS]
        return Opinion(tuple((self._ids[i], float(probabilities[i])) for i in order))


def fitted(articles: Sequence[Article]) -> tuple[list[Any], Any, dict[str, int]]:
    """The two vectorizers and the model trained on `articles`' texts, and how many
    different texts each article gave."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    texts: list[str] = []
    labels: list[str] = []
    for article in articles:
        for text in (article.title, *article.questions, *article.tags):
            texts.append(spelt(text))
            labels.append(article.id)
    vectorizers = [
        TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
    ]
    features = hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
    model = SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=EPOCHS, random_state=0)
    with warnings.catch_warnings():
        # a knowledge base of a few short articles converges before or after the
        # last epoch alike: the model is as good either way
        warnings.simplefilter("ignore")
        model.fit(features, labels)
    # what an article was learnt from: its different texts (a question written ten
    # times, or the title again as a tag, teaches no more than once)
    distinct = {
        (label, " ".join(text.casefold().split()))
        for text, label in zip(texts, labels, strict=True)
    }
    return vectorizers, model, dict(Counter(label for label, _ in distinct))


def spelt(text: str) -> str:
    """The text as the matcher reads it: folded, customers' spellings mapped
    ("hw lng is teh trail" -> "how long is the trial"), on both sides."""
    return " ".join(words(text))


def _fingerprint(articles: Sequence[Article]) -> str:
    """What the model learns from, each text and each list length-prefixed: no two
    different lists of articles share it (a title "x\\0y" is not a title "x" and a
    question "y"; a question is not a tag), so a kept model is never another's."""
    digest = hashlib.blake2b(digest_size=16)

    def put(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "big") + data)

    put(str(len(articles)).encode())
    for article in articles:
        texts = (article.id, article.title, *article.questions, *article.tags)
        put(f"{len(article.questions)}:{len(article.tags)}".encode())
        for text in texts:
            put(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _keep(key: str, model: Learned) -> None:
    """`model` the most recently used of the KEPT held without a knowledge base using
    them (under _lock). A model stays reusable while a knowledge base holds it (the
    running one, when it reloads), and only KEPT more: a bot whose articles are
    edited again and again holds the model in use, not every one it trained."""
    _trained.pop(key, None)
    _trained[key] = model
    while len(_trained) > KEPT:
        _trained.pop(next(iter(_trained)))


_lock = threading.Lock()
_trained: dict[str, Learned] = {}  # the most recently used last
_alive: weakref.WeakValueDictionary[str, Learned] = weakref.WeakValueDictionary()
