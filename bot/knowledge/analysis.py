"""Turning text into the features the matcher compares: folded words, stems and
character n-grams. Pure functions, shared by the index and the query side so
that both see exactly the same thing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

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


# Spellings customers use for the words of buying, billing and support, each to the
# word (or words) the articles use: common misspellings, chat shorthand and the forms
# of an acronym. Applied to every text, articles' and questions' alike (`words`), so
# both sides see the same word. Misspellings the map does not list are left to the
# matcher's own correction of a word the index does not know (`closest_spelling`).
_SPELLINGS_TEXT = """
trail trial | trails trials | tiral trial | trialm trial | triall trial | tral trial
cancle cancel | cancell cancel | cancellling cancelling | cancelation cancellation
cansel cancel | cancl cancel | cancled cancelled | canceld cancelled
invioce invoice | invoce invoice | invocie invoice | inovice invoice | invioces invoices
invoces invoices | invoive invoice | invice invoice
subcription subscription | subscribtion subscription | subsciption subscription
subscripton subscription | suscription subscription | subscrition subscription
reciept receipt | receit receipt | reciepts receipts | recipt receipt | receipe receipt
discoutn discount | disount discount | discont discount | dicount discount
discout discount | discunt discount
refnd refund | refound refund | refunt refund | reimbursment reimbursement
seperate separate | seperately separately | seprate separate
anual annual | annualy annually | anually annually | annaul annual | yearley yearly
montly monthly | monthy monthly | monthley monthly | mothly monthly | mnthly monthly
prise price | pirce price | prcie price | pricng pricing | priceing pricing
qoute quote | quoet quote | qoutes quotes
purchace purchase | purchse purchase | purchas purchase | purshase purchase
payement payment | paymnet payment | paymet payment | paymant payment
biling billing | billling billing | bliling billing
acct account
licence license | lisence license | licens license
upgarde upgrade | updgrade upgrade | dowgrade downgrade | downgarde downgrade
contarct contract | contrat contract | agreemnet agreement | agrement agreement
enterprize enterprise | entreprise enterprise | buisness business | bussiness business
busines business | compnay company | comapny company
secuirty security | securty security | complience compliance | compliane compliance
suport support | supprot support | suppport support | custmer customer
expencive expensive | expensiv expensive | cheep cheap
hw how | hwo how | lng long | teh the | wat what | wht what | whta what | waht what
cn can | cna can | wil will | hav have | thier their | recieve receive | recieved received
u you | r are | ur your | urs yours | pls please | plz please | thx thanks | thnx thanks
ty thanks | yr year | yrs years | mo month | mos months | mth month | mths months
b4 before | bc because | cuz because | coz because
pw password | pwd password | mfa 2fa | tfa 2fa | slas sla | dpas dpa
soc2 soc 2
"""
SPELLINGS: dict[str, tuple[str, ...]] = {
    wrong: tuple(right)
    for pair in _SPELLINGS_TEXT.replace("\n", "|").split("|")
    if pair.strip()
    for wrong, *right in [pair.split()]
    if right and [wrong] != right
}


def words(text: str) -> list[str]:
    """Every folded word, in order, customers' spellings mapped (SPELLINGS)."""
    found = _WORD.findall(fold(text))
    if not any(w in SPELLINGS for w in found):
        return found
    return [r for w in found for r in SPELLINGS.get(w, (w,))]


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


SPELLING_MIN_LENGTH = 4  # shorter words are too easily one edit from another word
CLOSE_LENGTH = 5  # words up to this long may be one edit off; longer ones two


VOCABULARY = Path(__file__).resolve().parent / "model" / "vocab.txt"


@cache
def english_words() -> frozenset[str]:
    """The whole words of the shipped model's vocabulary (bot/knowledge/model/, 30,522
    entries, most of them English words): a word found there is meant as written and
    is never corrected into another ("hiring" is not a typo of "giving", nor "sub" of
    "subscription"); typos are not there ("subcription", "invioce")."""
    try:
        text = VOCABULARY.read_text(encoding="utf-8")
    except OSError:  # (a damaged install: doctor says so; nothing is then held a word)
        return frozenset()
    return frozenset(w for w in text.split() if w.isalpha())


_ENDINGS = ("est", "ing", "ed", "er", "es", "s")  # longest first


def root(word: str) -> str:
    """`word` without one inflection's ending (-s, -es, -ed, -ing, -er, -est), if a
    root of three letters or more is left: "cheapest" and "cheaper" are one word,
    "refused" and "refund" are not."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def closest_spelling(
    word: str, known: Sequence[str], meaning: Callable[[str], str] = stem
) -> str | None:
    """The spelling in `known` (the words an index knows) that `word`, which it does
    not know, is a typo of: within one edit (a transposition is one) for a word of up
    to CLOSE_LENGTH letters, two for a longer one, and unambiguous: every known
    spelling that close means the same (`meaning`, the stem by default: "invoice"
    and "invoices" are one), or None. "subcription" -> "subscription"; "cast" is as
    close to "cost" as to "case": None."""
    if len(word) < SPELLING_MIN_LENGTH or not word.isalpha() or not known:
        return None
    limit = 1 if len(word) <= CLOSE_LENGTH else 2
    found = process.extract(word, known, scorer=OSA.distance, score_cutoff=limit, limit=None)
    if not found:
        return None
    nearest = min(distance for _, distance, _ in found)
    closest = [str(w) for w, distance, _ in found if distance == nearest]
    return closest[0] if len({meaning(w) for w in closest}) == 1 else None
