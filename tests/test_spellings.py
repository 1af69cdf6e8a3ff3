"""Customers' spellings of the words of buying and billing ("trail", "cancle",
"invioce", "hw lng"), their shorthand ("pls", "u", "yr") and an acronym's forms
("SOC2", "SOC 2") read as the articles' words before matching, on both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, Thresholds
from bot.knowledge.analysis import SPELLINGS, closest_spelling, content_words, words

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("hw lng is teh trail", "how long is the trial"),
        ("cancle my subcription pls", "cancel my subscription please"),
        ("an invioce and a reciept", "an invoice and a receipt"),
        ("discoutn, refnd, seperate", "discount refund separate"),
        ("anual or montly", "annual or monthly"),
        ("the prise of a qoute", "the price of a quote"),
        ("purchace", "purchase"),
        ("u r thx ur", "you are thanks your"),
        ("per yr, per mo", "per year per month"),
        ("SOC2", "soc 2"),
        ("MFA", "2fa"),
        ("SLAs and DPAs", "sla and dpa"),
    ],
)
def test_customers_spellings_are_read_as_the_articles_words(typed: str, read: str) -> None:
    assert words(typed) == read.split()


def test_the_map_maps_to_other_words_only_and_never_to_nothing() -> None:
    assert SPELLINGS  # (a pair that maps a word to itself is left out)
    for wrong, right in SPELLINGS.items():
        assert right and right != (wrong,), wrong
        assert all(r == words(r)[0] for r in right), wrong  # the right form is itself


def test_both_sides_see_the_same_words() -> None:
    """An acronym written either way in an article or a question is one word."""
    assert content_words("SOC 2 report") == content_words("soc2 report")


@pytest.mark.parametrize(
    ("question", "spelt"),
    [
        ("hw lng is teh trail", "how long is the trial"),
        ("wat is the prise per yr", "what is the price per year"),
        ("soc2 report?", "SOC 2 report?"),
    ],
)
def test_a_misspelt_question_is_decided_as_if_spelt_right(question: str, spelt: str) -> None:
    kb = KnowledgeBase.load(KNOWLEDGE, Thresholds())
    typed, right = kb.decide(question), kb.decide(spelt)
    assert typed.kind == right.kind
    assert [c.article.id for c in typed.candidates] == [c.article.id for c in right.candidates]


def test_the_trial_misspelt_is_answered() -> None:
    decision = KnowledgeBase.load(KNOWLEDGE, Thresholds()).decide("hw lng is teh trail")
    assert decision.kind == "answer"
    assert decision.candidates[0].article.id == "free-trial"


KNOWN = ["subscription", "description", "invoice", "invoices", "cost", "case", "trial"]


@pytest.mark.parametrize(
    ("word", "corrected"),
    [
        ("subcription", "subscription"),  # one letter missing
        ("subscirption", "subscription"),  # a transposition is one edit
        ("invioces", "invoices"),  # "invoice" and "invoices" are one word: unambiguous
        ("trail", "trial"),
        ("cast", None),  # as close to "cost" as to "case": ambiguous
        ("tri", None),  # too short to correct
        ("sbscrptn", None),  # too far
        ("trial", "trial"),
    ],
)
def test_an_unknown_word_is_corrected_only_when_close_and_unambiguous(
    word: str, corrected: str | None
) -> None:
    assert closest_spelling(word, KNOWN) == corrected


@pytest.mark.parametrize("word", ["", "x" * 100_000, "ab12", "\u202e\u0000", "ǅǆ" * 50])
def test_any_word_gets_an_answer(word: str) -> None:
    assert closest_spelling(word, KNOWN) is None or closest_spelling(word, KNOWN) in KNOWN
    assert closest_spelling(word, []) is None


def test_no_real_word_is_read_as_another_word_of_the_shipped_articles() -> None:
    """Every English word (the shipped vocabulary's whole words) the matcher would
    read as a spelling of the articles' is a form of the same word ("cheapest" for
    "cheaper"), never another ("refused" for "refund", "hiring" for "giving")."""
    from bot.knowledge.analysis import english_words, root

    kb = KnowledgeBase.load(KNOWLEDGE, Thresholds())
    matcher = kb._matcher
    read_as = {w: matcher._map_word(w) for w in sorted(english_words())}
    changed = {w: s for w, s in read_as.items() if s is not None and root(w) != root(s)}
    assert changed == {}
    assert english_words()  # (the vocabulary is there: else every word would be a typo)
