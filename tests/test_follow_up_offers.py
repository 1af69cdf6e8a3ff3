"""Every reply to an offer acts once, and only on the offer standing now: a "No" or
"None of these" pressed twice (a double tap, an old message's button) or a "no"
typed twice is one "no", counted once, never a handover; a press of an old offer's
button says that question has expired and leaves the offer standing now as it was.
After an answer plus "You also asked about …" both are kept: replies about the
answer are about the answer, replies to the offer pick from it; /mydata says each
state in words. Real engine, real SQLite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.app import Candor
from bot.features.recent import in_words
from bot.model import Conversation, EventKind, InboundKind
from tests.conftest import Customer, RecordingSender, case_of, write_articles
from tests.test_follow_ups import ONE_OPTION, TEST_ARTICLES, TWO_OPTIONS, answers

ROOT = Path(__file__).resolve().parent.parent
EXPIRED = "That question has expired"


@pytest.fixture
def knowledge_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The articles of tests/test_follow_ups.py; the shipped ones when a test
    asks for them (`SHIPPED`)."""
    if getattr(request, "param", "") == "shipped":
        return Path(shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge"))
    return write_articles(tmp_path / "knowledge", TEST_ARTICLES)


SHIPPED = pytest.mark.parametrize("knowledge_dir", ["shipped"], indirect=True)


def note_of(text: str) -> dict[str, object]:
    return dict(json.loads(text or "{}"))


async def test_no_pressed_twice_counts_once_and_keeps_what_was_turned_down(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(ONE_OPTION)
    [no] = await ann.press("notit:export-data")
    assert "Not that, then" in no
    kept = (await case_of(app, ann)).conversation_note
    [again] = await ann.press("notit:export-data")
    assert EXPIRED in again and "Not that, then" not in again
    case = await case_of(app, ann)
    assert case.unanswered == 1 and case.conversation is Conversation.AWAITING_FOLLOW_UP
    assert note_of(case.conversation_note)["not"] == note_of(kept)["not"] == ["export-data"]


@pytest.mark.parametrize("typed", ["no", "nope", "not that one"])
async def test_no_typed_twice_is_one_no(app: Candor, sender: RecordingSender, typed: str) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(ONE_OPTION)
    await ann.send(typed)
    [again] = await ann.send(typed)
    assert "I don't know that" not in again and "Not that, then" not in again
    case = await case_of(app, ann)
    assert case.unanswered == 1
    assert case.conversation is Conversation.AWAITING_FOLLOW_UP  # no handover offered


async def test_none_of_these_pressed_twice_counts_once(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(TWO_OPTIONS)
    [none] = await ann.press(ann.latest("none"))
    assert "None of those" in none
    [again] = await ann.press(ann.latest("none"))
    assert EXPIRED in again
    assert (await case_of(app, ann)).unanswered == 1


async def test_an_old_offers_no_leaves_the_offer_standing_now(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(ONE_OPTION)  # "Did you mean “Exporting your data”?"
    await ann.send(TWO_OPTIONS)  # a menu of two since
    [old] = await ann.press("notit:export-data")
    assert EXPIRED in old
    assert (await case_of(app, ann)).unanswered == 0
    [picked] = await ann.send("2")  # the menu still stands
    assert "Source: the article “The free trial”" in picked
    assert await answers(app, ann) == ["free-trial"]


async def test_an_old_menus_article_is_shown_for_no_question_of_now(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(TWO_OPTIONS)
    await ann.send(ONE_OPTION)
    [shown] = await ann.press("article:free-trial")  # from the first menu
    assert "Source: the article “The free trial”" in shown
    note = note_of((await case_of(app, ann)).conversation_note)
    assert note["q"] == ""  # not the question of the "Did you mean" it did not answer


def test_every_kept_state_is_said_in_words() -> None:
    titles = {"a": "Alpha", "b": "Beta"}.get
    for note in (
        {"after": "no", "q": "my question", "not": ["a"], "event": 1},
        {"after": "no", "q": "", "not": [], "event": 1},
        {"after": "answer", "q": "q", "shown": ["gone"], "event": 1},  # an article removed
        {"after": "menu", "q": "q", "shown": ["b"], "answered": "a", "aq": "x", "event": 1},
        "not json",
        {"after": "menu"},
    ):
        said = in_words(json.dumps(note) if isinstance(note, dict) else note, titles)
        assert said and "{" not in said and "null" not in said, note
    after_no = in_words(json.dumps({"after": "no", "q": "my q", "not": ["a"], "event": 1}), titles)
    assert "“my q”" in after_no and "“Alpha” isn't it" in after_no
    both = in_words(
        json.dumps({"after": "menu", "q": "q", "shown": ["b"], "answered": "a", "event": 1}),
        titles,
    )
    assert "“Beta”" in both and "the article “Alpha” I answered with" in both


# the shipped knowledge base: a question that asks two things ---------------------------------

TWO_ASKS = "30 Business seats yearly, and can the invoice be in EUR with our VAT id?"


@SHIPPED
async def test_after_an_answer_and_an_offer_yes_picks_the_offer(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    _, offered = await ann.send(TWO_ASKS)
    assert "You also asked about" in offered
    [picked] = await ann.send("yes")
    assert "Source: the article" in picked
    [first, second] = await answers(app, ann)
    assert first != second  # the offered article, not the answer again


@SHIPPED
async def test_mydata_after_an_answer_and_an_offer_names_both(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(TWO_ASKS)
    [answered] = await answers(app, ann)
    await ann.send("/mydata")
    [*_, message] = [m for m in sender.sent if m.delivery.file]
    assert message.delivery.file is not None
    [case] = json.loads(message.delivery.file.text)["cases"]
    title = app.knowledge.get(answered)
    assert title is not None
    assert f"the article “{title.title}” I answered with" in case["waiting_for_you"]
    assert "Is it" not in case["waiting_for_you"]
    events = [e for e in await app.store.events_of((await case_of(app, ann)).id)]
    assert any(e.kind is EventKind.CLARIFY for e in events)


@pytest.mark.parametrize("typed", ["yes", "ok"])
async def test_yes_after_an_answer_said_twice_is_not_a_question(
    app: Candor, sender: RecordingSender, typed: str
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(ONE_OPTION)
    await ann.send("yes")  # the article
    for _ in range(2):
        [reply] = await ann.send(typed)
        assert "I don't know that" not in reply and "asked that before" not in reply
    case = await case_of(app, ann)
    assert case.unanswered == 0 and case.conversation is Conversation.AWAITING_FOLLOW_UP
    [next_best] = await ann.send("that didn't help")  # still about the answer
    assert "Not that, then" not in next_best
    assert await answers(app, ann) == ["export-data"]


async def test_an_older_menus_none_of_these_does_not_act_on_the_menu_showing_now(
    app: Candor, sender: RecordingSender
) -> None:
    """Menu A, then a new question's menu B, then A's "None of these": expired, and
    B still stands (found by review: the button named no menu, and turned B down)."""
    ann = Customer(app, sender, "ann")
    await ann.send(TWO_OPTIONS)
    old_none = ann.shown(ann.latest("none"))
    [menu] = await ann.send("plan price")
    assert "Pick one" in menu, menu
    assert ann.shown(ann.latest("none")) != old_none  # B's button names B
    [pressed] = await ann.send("", InboundKind.BUTTON, payload=old_none)
    assert EXPIRED in pressed
    case = await case_of(app, ann)
    assert case.unanswered == 0
    assert case.conversation is Conversation.AWAITING_FOLLOW_UP  # B still stands
