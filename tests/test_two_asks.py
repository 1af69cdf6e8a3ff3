"""A question that asks two things in one: the part that is clear is answered and
the other part's best articles are offered with it (never two articles answered in
one turn), and a part is answered only when it passes the same thresholds as a
whole question. The splitting is conservative and cheap on any input."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot.app import Candor
from bot.knowledge import KnowledgeBase, Thresholds
from bot.knowledge.asks import MAX_ASKS, asks
from bot.knowledge.tools import kb_ask, read_eval
from bot.model import EventKind
from tests.conftest import Customer, RecordingSender, case_of

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
QUESTIONS = ROOT / "tests" / "data" / "customer_questions.jsonl"

TWO_ASKS = "30 Business seats yearly, and can the invoice be in EUR with our VAT id?"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(KNOWLEDGE, Thresholds())


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    """The shipped knowledge base, for the dialog tests here."""
    return Path(shutil.copytree(KNOWLEDGE, tmp_path / "knowledge"))


# splitting --------------------------------------------------------------------------------------


def texts(text: str) -> list[str]:
    return [a.text for a in asks(text)]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (TWO_ASKS, ["30 Business seats yearly", "can the invoice be in EUR with our VAT id"]),
        ("is there a trial? how much is Team", ["is there a trial", "how much is Team"]),
        ("is there a trial?how much is Team", ["is there a trial", "how much is Team"]),
        ("price list; and also support hours", ["price list", "support hours"]),
        ("I cancelled. Also, where is my refund", ["I cancelled", "where is my refund"]),
        ("how much is it and is there a trial", ["how much is it", "is there a trial"]),
        ("40 seats yearly - how much is that", ["40 seats yearly", "how much is that"]),
        ("Hi! Hello. What does Team cost?", ["What does Team cost"]),  # greetings dropped
    ],
)
def test_a_question_is_cut_where_another_ask_plainly_starts(text: str, parts: list[str]) -> None:
    assert texts(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        "what do the Team and Business plans cost",
        "do you take Visa, Mastercard and Amex",
        "is it $8.50 a month",
        "e.g. for the Team plan",
        "can we pay by card and get an invoice",  # "and get" starts no question
    ],
)
def test_one_ask_stays_one(text: str) -> None:
    assert texts(text) == [text]


def test_which_parts_are_questions_and_which_tell_about_the_customer() -> None:
    found = asks("We're 12 people. 40 seats yearly, and is there a trial")
    assert [(a.text, a.question) for a in found] == [
        ("We're 12 people", False),
        ("40 seats yearly", True),
        ("is there a trial", True),
    ]


def test_a_part_that_points_back_at_the_rest_says_so() -> None:
    found = asks("40 seats yearly - how much is that? And can I pay by card")
    assert [(a.text, a.points_back) for a in found] == [
        ("40 seats yearly", False),
        ("how much is that", True),
        ("can I pay by card", False),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "?" * 20_000,
        "!." * 20_000,
        ", and can " * 5_000,
        "a; " * 10_000,
        "and also " * 5_000,
        "- how " * 5_000,
        "\u0000\u202e\ufeff?\U0001f600" * 2_000,
        "x" * 50_000,
    ],
    ids=["empty", "blank", "marks", "runs", "and-can", "semicolons", "and-also", "dashes",
         "unicode", "one-word"],
)  # fmt: skip
def test_any_input_gives_a_bounded_list_of_asks(text: str) -> None:
    found = asks(text)
    assert 1 <= len(found) <= MAX_ASKS
    assert all(len(a.text) <= len(text) for a in found)


# deciding ---------------------------------------------------------------------------------------


def test_the_clear_part_is_answered_and_the_other_parts_articles_offered(
    kb: KnowledgeBase,
) -> None:
    decision = kb.decide(TWO_ASKS)
    assert decision.kind == "answer"
    assert [c.article.id for c in decision.candidates] == ["invoices"]
    assert decision.asked == "can the invoice be in EUR with our VAT id"
    assert decision.also_asked == "30 Business seats yearly"
    assert "invoices" not in [c.article.id for c in decision.also]
    assert 1 <= len(decision.also) <= kb.thresholds.max_options


def test_every_part_answered_is_answered_when_asked_alone(kb: KnowledgeBase) -> None:
    """Over the customer questions: no part answers that would not pass the same
    thresholds as a question of its own."""
    split = 0
    for text, _ in read_eval(QUESTIONS):
        decision = kb.decide(text)
        if not decision.asked:
            continue
        split += 1
        alone = kb.decide(decision.asked)
        assert alone.kind == "answer", text
        assert alone.candidates[0].article.id == decision.candidates[0].article.id, text
    assert split >= 10


@pytest.mark.parametrize(
    "text",
    [
        # the whole is about the trial: "can we buy now" read alone is not
        "we started a trial last week - can we buy now or do we have to wait until it ends",
        # one word is too little to answer on ("rates" alone answers price changes)
        "my boss wants to know how expensive this is compared to asana, what are your rates",
        # a short part ("what hours") that is clearly about another article: torn between two
        "when can I reach a human in support, what hours",
    ],
)
def test_a_part_is_not_answered_when_the_whole_says_otherwise(kb: KnowledgeBase, text: str) -> None:
    decision = kb.decide(text)
    assert decision.kind != "answer" and decision.asked == ""


# the dialog -------------------------------------------------------------------------------------


async def test_the_customer_gets_one_answer_and_the_other_part_on_offer(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    answer, offered = await ann.send(TWO_ASKS)
    assert "Source: the article “Invoices" in answer
    assert "You also asked about “30 Business seats yearly”." in offered
    decision = app.knowledge.decide(TWO_ASKS)
    for option in decision.also:
        assert option.article.title in offered
    case = await case_of(app, ann)
    events = await app.store.events_of(case.id)
    assert [e.data["article"] for e in events if e.kind is EventKind.ANSWER] == ["invoices"]
    # the offer is a menu like any other: its number picks
    [picked] = await ann.send("1")
    first = decision.also[0].article
    assert f"Source: the article “{first.title}”" in picked
    events = await app.store.events_of(case.id)
    assert [e.data["article"] for e in events if e.kind is EventKind.ANSWER] == [
        "invoices",
        first.id,
    ]


async def test_no_to_the_other_part_offers_nothing_more(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    text = "is there a free trial? and what does the team plan cost per user"
    decision = app.knowledge.decide(text)
    assert decision.kind == "answer" and len(decision.also) == 1, decision
    answered, offered = decision.candidates[0].article, decision.also[0].article
    assert {answered.id, offered.id} == {"free-trial", "pricing-plans"}
    await ann.send(text)
    assert f"Is it this: “{offered.title}”? Say yes or no." in sender.texts("ann")[-1]
    [no] = await ann.send("no")
    assert "Not that, then." in no
    case = await case_of(app, ann)
    events = await app.store.events_of(case.id)
    assert [e.data["article"] for e in events if e.kind is EventKind.ANSWER] == [answered.id]


def test_kb_ask_says_which_part_it_answers_and_what_it_offers(kb: KnowledgeBase) -> None:
    out = io.StringIO()
    assert kb_ask(kb, TWO_ASKS, as_json=False, out=out) == 0
    headline = out.getvalue().splitlines()[0]
    assert headline.startswith("decision: answer with “Invoices and invoice details” for the part")
    assert "and offer" in headline and "for “30 Business seats yearly”" in headline
    out = io.StringIO()
    kb_ask(kb, TWO_ASKS, as_json=True, out=out)
    shown = json.loads(out.getvalue())
    assert shown["asked"] == "can the invoice be in EUR with our VAT id"
    assert shown["also"] == [c.article.id for c in kb.decide(TWO_ASKS).also]
