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

Both indexes are inverted: a question touches only the postings of its own
features, so cost grows with how common its words are, not with the number of
articles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.knowledge.analysis import STOPWORDS, char_ngrams, content_words, sorted_phrase, stem
from bot.knowledge.articles import Article

K1 = 1.2
COVERAGE_SCALE = K1 + 1  # BM25 term saturation: what a word found many times scores
B = 0.75
W_COVERAGE = 0.45
W_SHAPE = 0.35
W_CLOSENESS = 0.20
RERANK = 12  # articles re-ranked with rapidfuzz
TYPO_MIN_LENGTH = 4

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Scored:
    index: int
    score: float
    coverage: float
    shape: float
    closeness: float
    matched: tuple[str, ...]  # question words that the article knows
    question: str  # the article's closest question ("" if none)


_STOPWORD_LIST = sorted(w for w in STOPWORDS if len(w) >= TYPO_MIN_LENGTH)


@lru_cache(maxsize=8192)
def _misspelt_stopword(word: str) -> bool:
    """ "dose" for "does", "whta" for "what": one edit from a stopword."""
    if len(word) < TYPO_MIN_LENGTH or len(word) > 7:
        return False
    return process.extractOne(word, _STOPWORD_LIST, scorer=OSA.distance, score_cutoff=1) is not None


class _Postings:
    """feature -> (article indexes, weights), frozen into numpy arrays."""

    def __init__(self) -> None:
        self._building: dict[str, tuple[list[int], list[float]]] = {}
        self.table: dict[str, tuple[Ints, Floats]] = {}

    def add(self, feature: str, doc: int, weight: float) -> None:
        ids, weights = self._building.setdefault(feature, ([], []))
        ids.append(doc)
        weights.append(weight)

    def freeze(self) -> None:
        self.table = {
            f: (np.asarray(ids, dtype=np.int32), np.asarray(ws, dtype=np.float32))
            for f, (ids, ws) in self._building.items()
        }
        self._building = {}

    def accumulate(self, query: dict[str, float], size: int) -> Floats:
        scores = np.zeros(size, dtype=np.float32)
        for feature, weight in query.items():
            hit = self.table.get(feature)
            if hit is not None:
                ids, ws = hit
                scores[ids] += ws * np.float32(weight)
        return scores


def _article_words(article: Article) -> list[str]:
    parts = [article.title, article.title, *article.questions, *article.tags]
    return [w for part in parts for w in content_words(part)]


class Matcher:
    """An index over a fixed list of articles; build once, query many times."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.articles = list(articles)
        n = len(self.articles)
        self._n = n
        # -- words: BM25 over one document per article
        docs = [[stem(w) for w in _article_words(a)] for a in self.articles]
        df: dict[str, int] = {}
        for doc in docs:
            for term in set(doc):
                df[term] = df.get(term, 0) + 1
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._idf_unknown = math.log(1 + (n + 0.5) / 0.5)
        avgdl = (sum(len(d) for d in docs) / n) if n else 1.0
        self._words = _Postings()
        for i, doc in enumerate(docs):
            tf: dict[str, int] = {}
            for term in doc:
                tf[term] = tf.get(term, 0) + 1
            norm = K1 * (1 - B + B * len(doc) / avgdl)
            for term, count in tf.items():
                self._words.add(term, i, self._idf[term] * count * (K1 + 1) / (count + norm))
        self._words.freeze()
        # surface forms, for mapping a misspelt word to one the articles use
        surface: dict[str, str] = {}
        for a in self.articles:
            for part in (a.title, *a.questions, *a.tags):
                for w in content_words(part):
                    if len(w) >= TYPO_MIN_LENGTH and w.isalpha():
                        surface.setdefault(w, stem(w))
        self._surface = surface
        self._surface_list = list(surface)
        # -- character n-grams: one centroid per article
        self._gram_df: dict[str, int] = {}
        question_grams: list[list[dict[str, int]]] = []
        for a in self.articles:
            grams = [char_ngrams(content_words(q)) for q in (a.title, *a.questions)]
            question_grams.append(grams)
        total = 0
        for grams in question_grams:
            for g in grams:
                total += 1
                for gram in g:
                    self._gram_df[gram] = self._gram_df.get(gram, 0) + 1
        self._gram_total = total
        self._shape = _Postings()
        for i, grams in enumerate(question_grams):
            centroid: dict[str, float] = {}
            for g in grams:
                vec = {k: (1 + math.log(c)) * self._gram_idf(k) for k, c in g.items()}
                length = math.sqrt(sum(v * v for v in vec.values())) or 1.0
                for k, v in vec.items():
                    centroid[k] = centroid.get(k, 0.0) + v / length
            length = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
            for k, v in centroid.items():
                self._shape.add(k, i, v / length)
        self._shape.freeze()
        # -- sorted content words of every question, for rapidfuzz
        self._phrases = [
            [(sorted_phrase(content_words(q)), q) for q in (a.title, *a.questions)]
            for a in self.articles
        ]
        self._map_word = lru_cache(maxsize=8192)(self._map_word_uncached)

    def _gram_idf(self, gram: str) -> float:
        return math.log((1 + self._gram_total) / (1 + self._gram_df.get(gram, 0))) + 1.0

    def _map_word_uncached(self, word: str) -> str | None:
        """A known stem for a word the articles never use, if one is spelt closely."""
        if len(word) < TYPO_MIN_LENGTH or not word.isalpha() or not self._surface_list:
            return None
        # one edit (a transposition counts as one) for short words, two for longer
        found = process.extractOne(
            word, self._surface_list, scorer=OSA.distance, score_cutoff=1 if len(word) <= 5 else 2
        )
        return None if found is None else self._surface[found[0]]

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
        for word in dict.fromkeys(found):
            term = stem(word)
            if term not in self._idf:
                if _misspelt_stopword(word):
                    continue
                mapped = self._map_word(word)
                if mapped is not None:
                    term = mapped
            terms[term] = self._idf.get(term, self._idf_unknown)
            fixed.append(word)
        if not terms:
            return []
        ceiling = sum(terms.values())
        known = {t: 1.0 for t in terms if t in self._idf}
        coverage = self._words.accumulate(known, self._n) / np.float32(ceiling * COVERAGE_SCALE)
        grams = char_ngrams(fixed)
        qvec = {k: (1 + math.log(c)) * self._gram_idf(k) for k, c in grams.items()}
        length = math.sqrt(sum(v * v for v in qvec.values())) or 1.0
        shape = self._shape.accumulate({k: v / length for k, v in qvec.items()}, self._n)
        first = W_COVERAGE * coverage + W_SHAPE * shape
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
            score = float(first[i]) + W_CLOSENESS * closeness
            results.append(
                Scored(
                    index=i,
                    score=min(1.0, score),
                    coverage=float(coverage[i]),
                    shape=float(shape[i]),
                    closeness=closeness,
                    matched=(),
                    question=question,
                )
            )
        results.sort(key=lambda s: (-s.score, s.index))
        return [
            replace(s, matched=tuple(t for t in known if self._words_has(t, s.index)))
            for s in results[:limit]
        ]

    def _words_has(self, term: str, doc: int) -> bool:
        hit = self._words.table.get(term)
        return hit is not None and bool(np.any(hit[0] == doc))
