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
articles. They are built a slice of articles at a time (bot/knowledge/index.py), which
bounds the build's memory without changing a score.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.knowledge.analysis import char_ngrams, root, sorted_phrase, words
from bot.knowledge.articles import Article
from bot.knowledge.embedding import StaticEncoder
from bot.knowledge.index import BUILD_SLICE, K1, TYPO_MIN_LENGTH, build
from bot.knowledge.languages import analysis_for
from bot.knowledge.minilm import MiniLMEncoder

COVERAGE_SCALE = K1 + 1  # BM25 term saturation: what a word found many times scores
W_COVERAGE = 0.45
W_SHAPE = 0.35
W_CLOSENESS = 0.20
RERANK = 12  # articles re-ranked with rapidfuzz
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


class Matcher:
    """An index over a fixed list of articles; build once, query many times."""

    def __init__(
        self,
        articles: Sequence[Article],
        semantic: Semantic = "off",
        slice_size: int = BUILD_SLICE,
        language: str = "en",
        spellings: Collection[str] | None = None,
    ) -> None:
        """`slice_size`: articles indexed at a time (bot/knowledge/index.py); the index
        is the same for any, a smaller one lowers the build's peak memory. `language`:
        whose analysis reads the articles and the questions (bot/knowledge/languages.py).
        `spellings`: the articles' words a word they never use may be a typo of (all by
        default; a language's index gives its own articles' only, never the English
        ones it holds untranslated: "wetter" is not a typo of "better")."""
        self._analysis = analysis_for(language)
        self.articles = list(articles)
        n = len(self.articles)
        self._n = n
        self.semantic: Semantic = semantic
        self._encoder = _encoder(semantic)
        self._meaning = self._build_meaning() if self._encoder is not None else None
        index = build(self.articles, slice_size, self._analysis)
        self._words, self._idf = index.words.postings, index.words.idf
        self._idf_unknown, self._surface = index.words.idf_unknown, index.words.surface
        self._surface_list = [w for w in self._surface if spellings is None or w in spellings]
        self._shape, self._gram_ids = index.shape.postings, index.shape.gram_ids
        self._gram_idf, self._gram_idf_unknown = index.shape.idf, index.shape.idf_unknown
        self._phrases = index.phrases  # each title's and question's sorted content words
        self._map_word = lru_cache(maxsize=8192)(self._map_word_uncached)

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
        # one edit (a transposition counts as one) for short words, two for longer ones,
        # those from the same first letter (a typo seldom starts wrong twice over); in a
        # language with no vocabulary to tell a real word, one edit from the same first
        # letter ("reise" is not "preise", "mois" not "fois", "rechnen" not "rechnung")
        limit = 1 if len(word) <= 5 or not self._analysis.english else 2
        found = process.extractOne(
            word, self._surface_list, scorer=OSA.distance, score_cutoff=limit
        )
        strict = found is not None and (found[1] > 1 or not self._analysis.english)
        if found is None or (strict and str(found[0])[0] != word[0]):
            return None
        spelt = str(found[0])
        if word in self._analysis.vocabulary() and root(word) != root(spelt):
            return None  # a word meant as written ("hiring" is not "giving", nor
        return spelt  # "refused" "refund"); its other forms are ("cheapest", "cheaper")

    def rank(self, text: str, limit: int = 5) -> list[Scored]:
        """The best `limit` articles for a question, best first."""
        if not self._n:
            return []
        found = self._analysis.content_words(text)
        if not found:
            return []
        # words -> known stems (typos mapped), unknown ones kept to count against
        terms: dict[str, float] = {}
        fixed: list[str] = []
        corrected: dict[str, str] = {}  # typo -> the articles' spelling, for the meaning
        for word in dict.fromkeys(found):
            term = self._analysis.stem(word)
            if term not in self._idf:
                if self._analysis.misspelt_stopword(word):
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
            for k, phrase in enumerate(self._phrases.of(i)):
                ratio = fuzz.ratio(query_phrase, phrase, score_cutoff=best)
                if ratio > best:
                    article = self.articles[i]
                    best, question = ratio, article.questions[k - 1] if k else article.title
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
