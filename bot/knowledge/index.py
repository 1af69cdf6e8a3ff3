"""The matcher's lexical index, built a slice of articles at a time.

What the index holds (bot/knowledge/matcher.py says how each is scored):

- words: BM25 weights of each article's stemmed words (the title twice, its
  questions, its tags) as an inverted index, the idf of every known stem, and the
  spellings the articles use (for mapping typos);
- shape: each article's unit vector of character 3-5-gram TF-IDF (the normalised sum
  of its title's and questions' unit vectors) as an inverted index, and the idf of
  every known n-gram;
- phrases: each title's and question's content words, sorted, for rapidfuzz.

Memory: the articles are read once, one at a time, into flat arrays of ids (a word,
a stem and an n-gram is a Python string once, in the dictionary that gives its id;
each text is a run of word ids). The numpy work over (text, n-gram) pairs, which is
where a build over all articles at once peaked (700 MiB at 10,000 articles), is
done `slice_size` articles at a time in two passes: the first counts document
frequencies and each n-gram's postings, the second computes the weights with the
corpus-wide idf and writes each slice's postings straight into their place in the
final arrays (int32 article ids, float32 weights). The arithmetic per element and
the order of every sum are those of a build in one slice, so the index, and so
every score, is the same whatever the slice size.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.knowledge.analysis import sorted_phrase, word_ngrams
from bot.knowledge.articles import Article
from bot.knowledge.languages import Analysis, analysis_for

K1 = 1.2
B = 0.75
TYPO_MIN_LENGTH = 4  # shorter words are never taken for typos of others
BUILD_SLICE = 256  # articles whose (text, n-gram) pairs are in memory at once

Floats = npt.NDArray[np.float32]
Doubles = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]
Longs = npt.NDArray[np.int64]


def _spans(starts: Longs, ends: Longs) -> Longs:
    """Every position of every span [start, end), in order, without a Python loop."""
    lengths = ends - starts
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    positions: Longs = np.arange(int(lengths.sum()), dtype=np.int64) + offsets
    return positions


class Postings:
    """An inverted index: feature -> (article indexes, weights), kept as one
    compressed sparse row matrix so that a query gathers all its postings in a few
    numpy calls and sums them with one `bincount`."""

    def __init__(self, ids: dict[str, int], indptr: Longs, docs: Ints, weights: Floats) -> None:
        self._ids = ids
        self.indptr = indptr
        self.docs = docs
        self.weights = weights

    @classmethod
    def from_arrays(
        cls, ids: dict[str, int], features: Ints, docs: Ints, weights: Doubles
    ) -> Postings:
        """From unordered (feature, article, weight) triples; within a feature the
        articles keep the triples' order."""
        order = np.argsort(features, kind="stable")
        counts = np.bincount(features, minlength=len(ids))
        indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return cls(ids, indptr, docs[order].astype(np.int32), weights[order].astype(np.float32))

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
        # each span is contiguous: copying the slices is cheaper than gathering positions
        docs = np.concatenate([self.docs[a:b] for a, b, _ in spans])
        weights = np.concatenate([self.weights[a:b] for a, b, _ in spans])
        lengths = [b - a for a, b, _ in spans]
        factors = np.repeat(np.array([w for _, _, w in spans], dtype=np.float32), lengths)
        summed = np.bincount(docs, weights=weights * factors, minlength=size)
        return summed.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Words:
    postings: Postings
    idf: dict[str, float]  # stem -> BM25 idf
    idf_unknown: float  # what a word no article uses would have
    surface: dict[str, str]  # spellings the articles use -> their stem


@dataclass(frozen=True, slots=True)
class Shape:
    postings: Postings
    gram_ids: dict[str, int]
    idf: Doubles  # by n-gram id
    idf_unknown: float


@dataclass(frozen=True, slots=True)
class Phrases:
    """Each article's texts (title, then questions) as sorted content words."""

    flat: list[str]
    starts: Longs  # article i's are flat[starts[i] : starts[i + 1]]

    def of(self, article: int) -> list[str]:
        return self.flat[int(self.starts[article]) : int(self.starts[article + 1])]


@dataclass(frozen=True, slots=True)
class Index:
    words: Words
    shape: Shape
    phrases: Phrases


class _Reader:
    """The articles read once, one at a time, into flat arrays of ids."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis  # the language's words and stems
        # words (BM25): one posting per (article, stem), with its count
        self.terms: dict[str, int] = {}
        self.post_term, self.post_doc, self.post_count = array("i"), array("i"), array("i")
        self.doc_length = array("i")
        self.surface: dict[str, str] = {}
        # shape: each text (title, questions) a run of word ids; each word its n-grams
        self.word_ids: dict[str, int] = {}
        self.gram_ids: dict[str, int] = {}
        self.word_grams = array("i")
        self.word_gram_starts = array("q", [0])
        self.text_words = array("i")
        self.text_starts = array("q", [0])
        self.article_texts = array("q", [0])  # article i's texts: [a_t[i], a_t[i + 1])
        self.phrases: list[str] = []
        self.phrase_starts = array("q", [0])

    def read(self, article: Article) -> None:
        content_words = self.analysis.content_words
        group = [content_words(t) for t in (article.title, *article.questions)]
        tags = [w for t in article.tags for w in content_words(t)]
        self._read_words(group, tags)
        for ws in group:
            for w in ws:
                wid = self.word_ids.get(w)
                if wid is None:
                    wid = self.word_ids[w] = len(self.word_ids)
                    gids = self.gram_ids
                    self.word_grams.extend(gids.setdefault(g, len(gids)) for g in word_ngrams(w))
                    self.word_gram_starts.append(len(self.word_grams))
                self.text_words.append(wid)
            self.text_starts.append(len(self.text_words))
            self.phrases.append(sorted_phrase(ws))
        self.article_texts.append(len(self.text_starts) - 1)
        self.phrase_starts.append(len(self.phrases))

    def _read_words(self, group: list[list[str]], tags: list[str]) -> None:
        doc = len(self.doc_length)
        tf: dict[str, int] = {}
        length = 0
        for ws in (group[0], *group, tags):
            for w in ws:
                term = self.analysis.stem(w)
                tf[term] = tf.get(term, 0) + 1
                length += 1
                if len(w) >= TYPO_MIN_LENGTH and w.isalpha():
                    self.surface.setdefault(w, term)
        for term, count in tf.items():
            self.post_term.append(self.terms.setdefault(term, len(self.terms)))
            self.post_doc.append(doc)
            self.post_count.append(count)
        self.doc_length.append(length)


def _ints(values: array[int]) -> Longs:
    return np.frombuffer(values, dtype=np.int32 if values.typecode == "i" else np.int64).astype(
        np.int64
    )


def _words_index(reader: _Reader, n: int) -> Words:
    post_term = np.frombuffer(reader.post_term, dtype=np.int32)
    df = np.bincount(post_term, minlength=len(reader.terms)).tolist()
    idf = {
        t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in zip(reader.terms, df, strict=True)
    }
    by_id = np.array(list(idf.values()), dtype=np.float64)
    lengths = _ints(reader.doc_length)
    avgdl = (int(lengths.sum()) / n if n else 0.0) or 1.0  # no words at all
    norm = K1 * (1 - B + B * lengths / avgdl)
    counts = _ints(reader.post_count)
    docs = np.frombuffer(reader.post_doc, dtype=np.int32)
    weights = by_id[post_term] * counts * (K1 + 1) / (counts + norm[docs])
    postings = Postings.from_arrays(reader.terms, post_term, docs, weights)
    return Words(postings, idf, math.log(1 + (n + 0.5) / 0.5), reader.surface)


class _ShapeSlices:
    """The (text, n-gram) pairs of `slice_size` articles at a time."""

    def __init__(self, reader: _Reader, n: int, slice_size: int) -> None:
        self.n, self.slice_size = n, slice_size
        self.grams = len(reader.gram_ids)
        self.size = max(1, self.grams)  # keys are text * size + n-gram
        self.word_grams = np.frombuffer(reader.word_grams, dtype=np.int32)
        self.word_gram_starts = _ints(reader.word_gram_starts)
        self.text_words = np.frombuffer(reader.text_words, dtype=np.int32)
        self.text_starts = _ints(reader.text_starts)
        self.article_texts = _ints(reader.article_texts)
        self.texts = len(self.text_starts) - 1
        self.text_article = np.repeat(
            np.arange(n, dtype=np.int64), np.diff(self.article_texts)
        ).astype(np.int64)

    def pairs(self) -> Iterator[tuple[Longs, Longs, Longs]]:
        """Per slice: distinct (text, n-gram) pairs sorted, as text and n-gram ids,
        and how often the n-gram is in the text."""
        for first in range(0, self.n, self.slice_size):
            last = min(self.n, first + self.slice_size)
            t0, t1 = int(self.article_texts[first]), int(self.article_texts[last])
            w0, w1 = int(self.text_starts[t0]), int(self.text_starts[t1])
            occurrences = self.text_words[w0:w1].astype(np.int64)
            text_of = np.repeat(
                np.arange(t0, t1, dtype=np.int64), np.diff(self.text_starts[t0 : t1 + 1])
            )
            starts = self.word_gram_starts[occurrences]
            ends = self.word_gram_starts[occurrences + 1]
            grams = self.word_grams[_spans(starts, ends)].astype(np.int64)
            keys = np.repeat(text_of, ends - starts) * self.size + grams
            found, counts = np.unique(keys, return_counts=True)
            yield found // self.size, found % self.size, counts


def _shape_index(reader: _Reader, n: int, slice_size: int) -> Shape:
    """Character n-gram TF-IDF: each text a unit vector, each article the normalised
    sum of its texts' vectors."""
    s = _ShapeSlices(reader, n, slice_size)
    size = s.size
    df = np.zeros(size, dtype=np.int64)
    per_gram = np.zeros(size, dtype=np.int64)  # postings of each n-gram: articles with it
    for t_idx, g_idx, _ in s.pairs():  # first pass: the counts
        df += np.bincount(g_idx, minlength=size)
        cells = np.unique(s.text_article[t_idx] * size + g_idx)
        per_gram += np.bincount(cells % size, minlength=size)
    idf = np.log((1 + s.texts) / (1 + df)) + 1.0
    indptr = np.concatenate(([0], np.cumsum(per_gram))).astype(np.int64)
    docs = np.empty(int(indptr[-1]), dtype=np.int32)
    weights = np.empty(int(indptr[-1]), dtype=np.float32)
    fill = indptr[:-1].copy()  # where each n-gram's next posting goes
    for t_idx, g_idx, counts in s.pairs():  # second pass: the weights, into place
        weight = (1 + np.log(counts)) * idf[g_idx]
        t_first = int(t_idx[0]) if len(t_idx) else 0
        local = t_idx - t_first
        norms = np.sqrt(np.bincount(local, weights=weight * weight))
        weight = weight / np.maximum(norms[local], 1e-12)
        a_idx = s.text_article[t_idx]
        cells, inverse = np.unique(a_idx * size + g_idx, return_inverse=True)
        values = np.bincount(inverse, weights=weight)
        c_article, c_gram = cells // size, cells % size
        a_first = int(c_article[0]) if len(c_article) else 0
        lengths = np.sqrt(np.bincount(c_article - a_first, weights=values * values))
        values = values / np.maximum(lengths[c_article - a_first], 1e-12)
        order = np.argsort(c_gram, kind="stable")
        by_gram = c_gram[order]
        rank = np.arange(len(by_gram)) - np.searchsorted(by_gram, by_gram)
        at = fill[by_gram] + rank
        docs[at] = c_article[order]
        weights[at] = values[order]
        fill += np.bincount(by_gram, minlength=size)
    postings = Postings(reader.gram_ids, indptr[: s.grams + 1], docs, weights)
    return Shape(postings, reader.gram_ids, idf, math.log(1 + s.texts) + 1.0)


def read(articles: Sequence[Article], analysis: Analysis | None = None) -> _Reader:
    reader = _Reader(analysis or analysis_for("en"))
    for article in articles:
        reader.read(article)
    return reader


def build(
    articles: Sequence[Article], slice_size: int = BUILD_SLICE, analysis: Analysis | None = None
) -> Index:
    """The index over `articles`, read with `analysis` (English's by default); the
    same for any `slice_size` >= 1."""
    if slice_size < 1:
        raise ValueError("slice_size must be at least 1")
    reader = read(articles, analysis)
    n = len(articles)
    words = _words_index(reader, n)
    shape = _shape_index(reader, n, slice_size)
    phrases = Phrases(reader.phrases, _ints(reader.phrase_starts))
    return Index(words, shape, phrases)
