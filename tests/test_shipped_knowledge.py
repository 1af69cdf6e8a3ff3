"""The knowledge base Candor ships with, measured against its evaluation file.

The floors are the promises in README: a wrong answer is the worst outcome, so it
is held lowest; asking back with the right option offered counts as help."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, Thresholds
from bot.knowledge.tools import evaluate, kb_check, read_eval, summary

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
EVAL = ROOT / "tests" / "data" / "knowledge_eval.jsonl"


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    kb = KnowledgeBase.load(KNOWLEDGE, Thresholds())
    assert kb.problems == []
    return summary(evaluate(kb, read_eval(EVAL), progress=False))


def test_the_shipped_articles_pass_kb_check() -> None:
    out = io.StringIO()
    assert kb_check(KNOWLEDGE, out) == 0, out.getvalue()
    assert "0 errors" in out.getvalue()
    kb = KnowledgeBase.load(KNOWLEDGE)
    assert len(kb.articles()) >= 30
    handover = {a.id for a in kb.articles() if a.handover}
    assert {"refunds", "legal-questions", "complaints"} <= handover


def test_the_evaluation_file_is_big_enough_and_honest() -> None:
    pairs = read_eval(EVAL)
    assert len(pairs) >= 150
    assert sum(1 for _, article in pairs if article is None) >= 40
    kb = KnowledgeBase.load(KNOWLEDGE)
    questions = {q.casefold() for a in kb.articles() for q in a.questions}
    copied = [text for text, _ in pairs if text.casefold() in questions]
    assert copied == [], "evaluation questions must not be copies of the articles' questions"


def test_in_scope_questions_are_rarely_answered_wrongly(figures: dict[str, float]) -> None:
    assert figures["answered_wrong"] <= 0.03


def test_most_questions_get_the_right_answer_or_the_right_option(
    figures: dict[str, float],
) -> None:
    assert figures["right_or_offered"] >= 0.90
    assert figures["answered_correct"] >= 0.50  # asking back every time is no help


def test_questions_the_articles_do_not_cover_are_rarely_answered(
    figures: dict[str, float],
) -> None:
    assert figures["oos_answered"] <= 0.06
    assert figures["oos_refused"] >= 0.50
