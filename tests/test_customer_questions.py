"""The shipped knowledge base against questions written the way customers write
to support (tests/data/customer_questions.jsonl): long with context, typos, lower
case, two asks in one, indirect, frustrated, one word, with greetings.

The figures asserted are what today's matcher measures there (a regression
guard). Issue 17 holds the default install to higher floors once the new matcher
lands: answered right >= 85 %, asked back <= 15 %, wrong <= 2 %, out of scope
answered <= 10 %; raise `TODAY` to them then."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from bot.knowledge import KnowledgeBase, Thresholds
from bot.knowledge.tools import accepted, evaluate, read_eval, summary

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
QUESTIONS = ROOT / "tests" / "data" / "customer_questions.jsonl"
OLDER = ROOT / "tests" / "data" / "knowledge_eval.jsonl"

# measured with `candor kb eval tests/data/customer_questions.jsonl --knowledge knowledge`
# at 5dbe8d2's matcher and default thresholds: 83 of 294 answered right, 3 wrong,
# 195 asked back (48 of them with one option), 0 of 33 out-of-scope answered; with a
# question's clear part answered when it asks two things (bot/knowledge/asks.py) and
# customers' spellings mapped (analysis.SPELLINGS): 98 right, 3 wrong, 180 asked back
# (41 with one option), 0 out-of-scope answered
TODAY = {
    "answered_correct": 0.33,  # at least
    "right_or_offered": 0.87,  # at least
    "answered_wrong": 0.011,  # at most
    "asked_back": 0.62,  # at most
    "one_option_menus": 0.14,  # at most
    "oos_answered": 0.0,  # at most
}
AT_LEAST = {"answered_correct", "right_or_offered"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    kb = KnowledgeBase.load(KNOWLEDGE, Thresholds())
    assert kb.problems == []
    return kb


@pytest.fixture(scope="module")
def figures(kb: KnowledgeBase) -> dict[str, float]:
    return summary(evaluate(kb, read_eval(QUESTIONS), progress=False))


def test_the_set_is_big_spread_over_every_article_and_weighted_to_what_is_asked_most(
    kb: KnowledgeBase,
) -> None:
    pairs = read_eval(QUESTIONS)
    assert len(pairs) >= 200
    assert sum(1 for _, expected in pairs if expected is None) >= 25
    assert len({text for text, _ in pairs}) == len(pairs), "a question is in twice"
    labels = {a for _, expected in pairs for a in accepted(expected)}
    assert labels <= {a.id for a in kb.articles()}
    best = Counter(accepted(expected)[0] for _, expected in pairs if expected is not None)
    thin = sorted(a.id for a in kb.articles() if best[a.id] < 4)
    assert thin == [], "every article needs questions"
    for most_asked in ("pricing-plans", "free-trial", "cancellation", "invoices"):
        assert best[most_asked] >= 12, most_asked
    assert sum(1 for _, expected in pairs if isinstance(expected, tuple)) >= 30  # two asks


def test_no_question_is_an_articles_own_question_or_the_older_sets(kb: KnowledgeBase) -> None:
    """Written afresh: not copied or reworded from the articles' `questions` (what
    the matcher indexes) nor from tests/data/knowledge_eval.jsonl."""
    own = [q.casefold() for a in kb.articles() for q in a.questions]
    older = [text.casefold() for text, _ in read_eval(OLDER)]
    close = [
        (text, other)
        for text, _ in read_eval(QUESTIONS)
        for other in own + older
        if fuzz.token_sort_ratio(text.casefold(), other) >= 90
    ]
    assert close == []


@pytest.mark.parametrize(("figure", "bound"), sorted(TODAY.items()))
def test_todays_matcher_holds_its_measured_figures(
    figures: dict[str, float], figure: str, bound: float
) -> None:
    if figure in AT_LEAST:
        assert figures[figure] >= bound, figures
    else:
        assert figures[figure] <= bound, figures


@pytest.mark.parametrize("path", [QUESTIONS, OLDER], ids=["customer_questions", "knowledge_eval"])
def test_meaning_fused_in_is_no_riskier_than_words_alone(path: Path) -> None:
    """semantic = "static" with its measured defaults against words alone with
    theirs, on both shipped sets: no more wrong answers, no more out-of-scope
    questions answered, no fewer right answers, no more asking back. (The plain
    fusion answered "Do you support 2FA?" with the support-hours article.)"""
    pairs = read_eval(path)
    figures = {
        mode: summary(evaluate(KnowledgeBase.load(KNOWLEDGE, semantic=mode), pairs, progress=False))
        for mode in ("off", "static")
    }
    words, fused = figures["off"], figures["static"]
    assert fused["answered_wrong"] <= words["answered_wrong"], figures
    assert fused["oos_answered"] <= words["oos_answered"], figures
    assert fused["answered_correct"] >= words["answered_correct"], figures
    assert fused["asked_back"] <= words["asked_back"], figures
