"""Ranking articles against a question.

Three signals, each in 0..1, combined with fixed weights chosen by measurement
(see benchmarks/RESULTS.md):

- coverage: BM25 over each article's title, questions and tags (stemmed words),
  divided by what the question's words could score at most. Words the knowledge
  base has never seen count against it at full weight, which is what makes a
  question about something else score low. Unknown words are first mapped to a
  known word when rapidfuzz finds a close spelling (typos).
- shape: cosine between the question's character 3-5-grams and each article's
  centroid of its questions' n-grams, robust to typos, plurals and word forms.
- closeness: rapidfuzz `ratio` on sorted content words (token_sort_ratio, the
  fast way) against the article's best-matching question, for the few articles
  the first two signals put on top only.

Those three make the lexical score. With `semantic="static"` (not the default)
it is fused with what the question means: the cosine between the question's
static embedding (bot/knowledge/embedding.py) and each article's, which finds "how
much is it" for the pricing article without a shared word. `fused = (1 -
W_SEMANTIC) * lexical + W_SEMANTIC * meaning`, where meaning rescales the cosine
so that the similarity unrelated texts have anyway (about MEANING_FLOOR) counts
as nothing. Each result says how far it leads on words alone among the
re-ranked articles (`words_lead`, negative when another leads): the decision
answers only a clear words leader (bot/knowledge/base.py).

Both indexes are inverted: a question touches only the postings of its own
features, so cost grows with how common its words are, not with the number of
articles.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.knowledge.analysis import (
    STOPWORDS,
    char_ngrams,
    content_words,
    sorted_phrase,
    stem,
    word_ngrams,
    words,
)
from bot.knowledge.articles import Article
from bot.knowledge.embedding import StaticEncoder
from bot.knowledge.minilm import MiniLMEncoder

K1 = 1.2
COVERAGE_SCALE = K1 + 1  # BM25 term saturation: what a word found many times scores
B = 0.75
W_COVERAGE = 0.45
W_SHAPE = 0.35
W_CLOSENESS = 0.20
RERANK = 12  # articles re-ranked with rapidfuzz
TYPO_MIN_LENGTH = 4
W_SEMANTIC = 0.2  # chosen on the calibration set with the thresholds (threshold_sweep.py)
MEANING_FLOOR = 0.35  # cosine of texts that have nothing to do with each other, about
SEMANTIC_SLICE = 2048  # articles embedded at a time, bounding the build's memory
# Rows per matrix-vector product at query time: OpenBLAS runs a larger product on all
# cores, which on a busy 2-core machine made the 10,000-article p50 16 ms instead of 0.5.
MEANING_ROWS = 512

# semantic = "minilm" (the optional extra, bot/knowledge/minilm.py): its own two numbers,
# chosen the same way (threshold_sweep.py --modes minilm)
W_MINILM = 0.7
MINILM_FLOOR = 0.0

Semantic = Literal["minilm", "static", "off"]

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Scored:
    index: int
    score: float  # the fused score when semantic matching is on, else the lexical one
    coverage: float
    shape: float
    closeness: float
    matched: tuple[str, ...]  # question words that the article knows
    question: str  # the article's closest question ("" if none)
    lexical: float = 0.0  # coverage, shape and closeness combined
    semantic: float | None = None  # the meaning part, 0..1; None when semantic is off
    # lexical minus the best lexical of the other re-ranked articles (< 0: another
    # article leads on words alone)
    words_lead: float = 1.0


_STOPWORD_LIST = sorted(w for w in STOPWORDS if len(w) >= TYPO_MIN_LENGTH)


@lru_cache(maxsize=8192)
def _misspelt_stopword(word: str) -> bool:
    """ "dose" for "does", "whta" for "what": one edit from a stopword."""
    if len(word) < TYPO_MIN_LENGTH or len(word) > 7:
        return False
    return process.extractOne(word, _STOPWORD_LIST, scorer=OSA.distance, score_cutoff=1) is not None


class _Postings:
    """An inverted index: feature -> (article indexes, weights), kept as one
    compressed sparse row matrix so that a query gathers all its postings in a few
    numpy calls and sums them with one `bincount`."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._feature = array("i")
        self._doc = array("i")
        self._weight = array("f")
        self.indptr: Ints = np.zeros(1, dtype=np.int64)
        self.docs: Ints = np.zeros(0, dtype=np.int32)
        self.weights: Floats = np.zeros(0, dtype=np.float32)

    def add(self, feature: str, doc: int, weight: float) -> None:
        fid = self._ids.setdefault(feature, len(self._ids))
        self._feature.append(fid)
        self._doc.append(doc)
        self._weight.append(weight)

    def freeze(self) -> None:
        features = np.frombuffer(self._feature, dtype=np.int32)
        order = np.argsort(features, kind="stable")
        self.docs = np.frombuffer(self._doc, dtype=np.int32)[order].copy()
        self.weights = np.frombuffer(self._weight, dtype=np.float32)[order].copy()
        counts = np.bincount(features, minlength=len(self._ids))
        self.indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self._feature, self._doc, self._weight = array("i"), array("i"), array("f")

    @classmethod
    def from_arrays(
        cls,
        ids: dict[str, int],
        features: npt.NDArray[np.int64],
        docs: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float64],
    ) -> _Postings:
        made = cls()
        made._ids = ids
        order = np.argsort(features, kind="stable")
        made.docs = docs[order].astype(np.int32)
        made.weights = weights[order].astype(np.float32)
        counts = np.bincount(features, minlength=len(ids))
        made.indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return made

    def postings(self, feature: str) -> Ints | None:
        fid = self._ids.get(feature)
        if fid is None:
            return None
        return self.docs[self.indptr[fid] : self.indptr[fid + 1]]

    def accumulate(self, query: dict[str, float], size: int) -> Floats:
        spans = [
            (self.indptr[fid], self.indptr[fid + 1], weight)
            for feature, weight in query.items()
            if (fid := self._ids.get(feature)) is not None
        ]
        if not spans:
            return np.zeros(size, dtype=np.float32)
        starts = np.array([a for a, _, _ in spans], dtype=np.int64)
        ends = np.array([b for _, b, _ in spans], dtype=np.int64)
        lengths = ends - starts
        # every position of every span, without a Python loop over the postings
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + offsets
        factors = np.repeat(np.array([w for _, _, w in spans], dtype=np.float32), lengths)
        summed = np.bincount(
            self.docs[positions], weights=self.weights[positions] * factors, minlength=size
        )
        return summed.astype(np.float32)


class Matcher:
    """An index over a fixed list of articles; build once, query many times."""

    def __init__(self, articles: Sequence[Article], semantic: Semantic = "off") -> None:
        self.articles = list(articles)
        n = len(self.articles)
        self._n = n
        self.semantic: Semantic = semantic
        self._encoder = _encoder(semantic)
        self._meaning = self._build_meaning() if self._encoder is not None else None
        # every text of every article, as content words, computed once
        texts = [[a.title, *a.questions] for a in self.articles]
        words_of = [[content_words(t) for t in group] for group in texts]
        tag_words = [[w for t in a.tags for w in content_words(t)] for a in self.articles]
        self._build_words(words_of, tag_words)
        self._build_shape(words_of)
        # sorted content words of every question, for rapidfuzz
        self._phrases = [
            [(sorted_phrase(ws), text) for ws, text in zip(group, texts[i], strict=True)]
            for i, group in enumerate(words_of)
        ]
        self._map_word = lru_cache(maxsize=8192)(self._map_word_uncached)

    def _build_words(self, words_of: list[list[list[str]]], tag_words: list[list[str]]) -> None:
        """BM25 over one document per article: the title twice, questions, tags."""
        n = self._n
        docs = []
        surface: dict[str, str] = {}  # spellings the articles use, for mapping typos
        for group, tags in zip(words_of, tag_words, strict=True):
            doc = []
            for ws in (group[0], *group, tags):
                for w in ws:
                    term = stem(w)
                    doc.append(term)
                    if len(w) >= TYPO_MIN_LENGTH and w.isalpha():
                        surface.setdefault(w, term)
            docs.append(doc)
        self._surface = surface
        self._surface_list = list(surface)
        df: dict[str, int] = {}
        for doc in docs:
            for term in set(doc):
                df[term] = df.get(term, 0) + 1
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._idf_unknown = math.log(1 + (n + 0.5) / 0.5)
        avgdl = (sum(len(d) for d in docs) / n if n else 0.0) or 1.0  # no words at all
        self._words = _Postings()
        for i, doc in enumerate(docs):
            tf: dict[str, int] = {}
            for term in doc:
                tf[term] = tf.get(term, 0) + 1
            norm = K1 * (1 - B + B * len(doc) / avgdl)
            for term, count in tf.items():
                self._words.add(term, i, self._idf[term] * count * (K1 + 1) / (count + norm))
        self._words.freeze()

    def _build_shape(self, words_of: list[list[list[str]]]) -> None:
        """Character n-gram TF-IDF: each question a unit vector, each article the
        normalised sum of its questions' vectors. Done in numpy over all questions
        at once; Python only maps words to n-gram ids (once per distinct word)."""
        gram_ids: dict[str, int] = {}
        per_word: dict[str, list[int]] = {}
        question_of = array("i")
        gram_of = array("i")
        article_of: list[int] = []
        for i, group in enumerate(words_of):
            for ws in group:
                q = len(article_of)
                article_of.append(i)
                for w in ws:
                    ids = per_word.get(w)
                    if ids is None:
                        ids = [gram_ids.setdefault(g, len(gram_ids)) for g in word_ngrams(w)]
                        per_word[w] = ids
                    gram_of.extend(ids)
                    question_of.extend([q] * len(ids))
        size = max(1, len(gram_ids))
        questions = len(article_of)
        keys = np.frombuffer(question_of, dtype=np.int32).astype(np.int64) * size + np.frombuffer(
            gram_of, dtype=np.int32
        )
        pairs, counts = np.unique(keys, return_counts=True)
        q_idx, g_idx = pairs // size, pairs % size
        df = np.bincount(g_idx, minlength=size)
        self._gram_ids = gram_ids
        self._gram_idf = np.log((1 + questions) / (1 + df)) + 1.0
        self._gram_idf_unknown = math.log(1 + questions) + 1.0
        weight = (1 + np.log(counts)) * self._gram_idf[g_idx]
        norms = np.sqrt(np.bincount(q_idx, weights=weight * weight, minlength=questions))
        weight = weight / np.maximum(norms[q_idx], 1e-12)
        a_idx = np.asarray(article_of, dtype=np.int64)[q_idx]
        cells, inverse = np.unique(a_idx * size + g_idx, return_inverse=True)
        values = np.bincount(inverse, weights=weight)
        c_article, c_gram = cells // size, cells % size
        lengths = np.sqrt(np.bincount(c_article, weights=values * values, minlength=self._n))
        values = values / np.maximum(lengths[c_article], 1e-12)
        self._shape = _Postings.from_arrays(gram_ids, c_gram, c_article, values)

    def _build_meaning(self) -> Floats:
        """Each article's unit vector: the normalised sum of its title's, each
        question's and its body's vectors (so that no one text outweighs the rest
        by its length), built SEMANTIC_SLICE articles at a time."""
        assert self._encoder is not None
        out = np.zeros((self._n, self._encoder.dims), dtype=np.float32)
        for start in range(0, self._n, SEMANTIC_SLICE):
            chunk = self.articles[start : start + SEMANTIC_SLICE]
            texts = [[a.title, *a.questions, a.body] for a in chunk]
            rows = self._encoder.encode_many([t for group in texts for t in group])
            owner = np.repeat(np.arange(len(chunk)), [len(group) for group in texts])
            summed = np.zeros((len(chunk), self._encoder.dims), dtype=np.float32)
            np.add.at(summed, owner, rows)
            lengths = np.linalg.norm(summed, axis=1, keepdims=True)
            out[start : start + len(chunk)] = np.where(
                lengths > 0, summed / np.maximum(lengths, 1e-12), 0.0
            )
        return out

    def fusion(self) -> tuple[float, float]:
        """The meaning's weight in the fused score, and the cosine that counts as
        nothing, for this matcher's `semantic` mode (read at call time: the sweep sets
        them)."""
        if self.semantic == "minilm":
            return W_MINILM, MINILM_FLOOR
        return W_SEMANTIC, MEANING_FLOOR

    def _meanings(self, text: str) -> Floats | None:
        """0..1 per article: how close in meaning, the floor of unrelated texts as 0."""
        if self._encoder is None or self._meaning is None:
            return None
        query = self._encoder.encode(text)
        cosine: Floats = np.empty(self._n, dtype=np.float32)
        for start in range(0, self._n, MEANING_ROWS):  # one thread each, see MEANING_ROWS
            end = start + MEANING_ROWS
            np.dot(self._meaning[start:end], query, out=cosine[start:end])
        floor = self.fusion()[1]
        scaled: Floats = np.clip((cosine - floor) / (1 - floor), 0.0, 1.0)
        return scaled

    def _shape_query(self, words: list[str]) -> dict[str, float]:
        grams = char_ngrams(words)
        idf, ids, unknown = self._gram_idf, self._gram_ids, self._gram_idf_unknown
        vec = {}
        for gram, count in grams.items():
            gid = ids.get(gram)
            vec[gram] = (1 + math.log(count)) * (float(idf[gid]) if gid is not None else unknown)
        length = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {k: v / length for k, v in vec.items()}

    def _map_word_uncached(self, word: str) -> str | None:
        """A known spelling for a word the articles never use, if one is spelt closely."""
        if len(word) < TYPO_MIN_LENGTH or not word.isalpha() or not self._surface_list:
            return None
        # one edit (a transposition counts as one) for short words, two for longer
        found = process.extractOne(
            word, self._surface_list, scorer=OSA.distance, score_cutoff=1 if len(word) <= 5 else 2
        )
        return None if found is None else str(found[0])

    def rank(self, text: str, limit: int = 5) -> list[Scored]:
        """The best `limit` articles for a question, best first."""
        if not self._n:
            return []
        found = content_words(text)
        if not found:
            return []
        # words -> known stems (typos mapped), unknown ones kept to count against
        terms: dict[str, float] = {}
        fixed: list[str] = []
        corrected: dict[str, str] = {}  # typo -> the articles' spelling, for the meaning
        for word in dict.fromkeys(found):
            term = stem(word)
            if term not in self._idf:
                if _misspelt_stopword(word):
                    continue
                mapped = self._map_word(word)
                if mapped is not None:
                    term = self._surface[mapped]
                    if self._encoder is not None and not self._encoder.knows(word):
                        corrected[word] = mapped  # a real word is not a typo for the meaning
            terms[term] = self._idf.get(term, self._idf_unknown)
            fixed.append(word)
        if not terms:
            return []
        ceiling = sum(terms.values())
        known = {t: 1.0 for t in terms if t in self._idf}
        coverage = self._words.accumulate(known, self._n) / np.float32(ceiling * COVERAGE_SCALE)
        shape = self._shape.accumulate(self._shape_query(fixed), self._n)
        words_first = W_COVERAGE * coverage + W_SHAPE * shape
        # all the words, stopwords too ("turn off the lights"), typos corrected
        meaning = self._meanings(" ".join(corrected.get(w, w) for w in words(text)))
        first = words_first  # closeness is not known yet: candidates are picked without it
        weight = self.fusion()[0]
        if meaning is not None:
            first = (1 - weight) * words_first + weight * meaning
        top = min(RERANK, self._n)
        picked = np.argpartition(-first, top - 1)[:top] if top < self._n else np.arange(self._n)
        query_phrase = sorted_phrase(found)
        results: list[Scored] = []
        for i in picked.tolist():
            best, question = 0.0, ""
            for phrase, original in self._phrases[i]:
                ratio = fuzz.ratio(query_phrase, phrase, score_cutoff=best)
                if ratio > best:
                    best, question = ratio, original
            closeness = best / 100.0
            lexical = min(1.0, float(words_first[i]) + W_CLOSENESS * closeness)
            semantic = None if meaning is None else float(meaning[i])
            score = lexical if semantic is None else (1 - weight) * lexical + weight * semantic
            results.append(
                Scored(
                    index=i,
                    score=min(1.0, score),
                    coverage=float(coverage[i]),
                    shape=float(shape[i]),
                    closeness=closeness,
                    matched=(),
                    question=question,
                    lexical=lexical,
                    semantic=semantic,
                )
            )
        results.sort(key=lambda s: (-s.score, s.index))
        lexicals = sorted((s.lexical for s in results), reverse=True)
        first_lexical, second_lexical = lexicals[0], (lexicals[1:] or [0.0])[0]
        return [
            replace(
                s,
                matched=tuple(t for t in known if self._words_has(t, s.index)),
                words_lead=s.lexical
                - (second_lexical if s.lexical >= first_lexical else first_lexical),
            )
            for s in results[:limit]
        ]

    def _words_has(self, term: str, doc: int) -> bool:
        hit = self._words.postings(term)  # sorted: articles were added in order
        if hit is None:
            return False
        at = int(np.searchsorted(hit, doc))
        return at < len(hit) and int(hit[at]) == doc


def _encoder(semantic: Semantic) -> StaticEncoder | MiniLMEncoder | None:
    """The meaning model of a mode, loaded once per process (raises EmbeddingMissing,
    saying what to install, when it is not there)."""
    if semantic == "static":
        return StaticEncoder.shipped()
    if semantic == "minilm":
        return MiniLMEncoder.shipped()
    return None
