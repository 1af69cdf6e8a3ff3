"""Turning text into the features the matcher compares: folded words, stems and
character n-grams. Pure functions, shared by the index and the query side so
that both see exactly the same thing."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans("", "", "'’‘`´")
_stemmer = snowballstemmer.stemmer("english")

# Words that say nothing about which article is meant. Negations and question
# words that change the topic ("not", "when", "why") are kept.
STOPWORDS = frozenset(
    """
    a about above after again am an and any are as at be been being below between both but by
    could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his i id ill im ive if in into is it its itself just let lets
    me more most my myself of off on once only or other our ours ourselves out over own please
    same she should so some such than thank thanks that thats the their theirs them themselves
    then there these they this those through to too under until up very was we were what whats
    which while who whom will with would you youd youll your youre yours yourself yourselves
    hi hello hey u ur pls plz can may might must shall also get got tell know want wanted
    need like ok okay yes really way something anything thing things
    """.split()  # noqa: SIM905
)


def fold(text: str) -> str:
    """Compatibility-normalised, case-folded, accents removed, apostrophes dropped."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Every folded word, in order."""
    return _WORD.findall(fold(text))


def content_words(text: str) -> list[str]:
    """Folded words without stopwords; all words if nothing else is left."""
    found = words(text)
    kept = [w for w in found if w not in STOPWORDS]
    return kept or found


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    return str(_stemmer.stemWord(word))


def word_ngrams(word: str, sizes: tuple[int, ...] = (3, 4, 5)) -> list[str]:
    """Character n-grams of one word padded with spaces, with repeats."""
    padded = f" {word} "
    return [padded[i : i + n] for n in sizes for i in range(len(padded) - n + 1)]


def char_ngrams(word_list: list[str], sizes: tuple[int, ...] = (3, 4, 5)) -> dict[str, int]:
    """Character n-grams of each word padded with spaces, counted."""
    counts: dict[str, int] = {}
    for word in word_list:
        for gram in word_ngrams(word, sizes):
            counts[gram] = counts.get(gram, 0) + 1
    return counts


def sorted_phrase(word_list: list[str]) -> str:
    """The words sorted and joined: `fuzz.ratio` on these equals token_sort_ratio."""
    return " ".join(sorted(word_list))
