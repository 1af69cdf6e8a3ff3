"""The report: figures from real conversations through the engine and real SQLite,
with a hand-moved clock so that every time in it is known."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Candor
from bot.config import Config
from bot.report import build_report, render_report, report_command
from tests.conftest import Agent, Clock, Customer, RecordingDesk, handed_over

Factory = Callable[[str], Customer]

DAY_TWO = datetime(2026, 11, 24, tzinfo=UTC)


async def case_id(app: Candor, who: Customer) -> int:
    customer = await app.store.customer_by_identity(who.identity)
    assert customer is not None
    return (await app.store.cases_of(customer.id))[-1].id


async def converse(customer_factory: Factory, app: Candor, clock: Clock) -> None:
    """Five customers over two days (Monday 23 and Tuesday 24 November 2026):

    ann (day one)  the bot answers; she leaves feedback
    bob            handed over at 10:02, first reply 5 min later, resolved after 20 min, rates 5
    cat            asks something the bot does not know; leaves feedback
    dan            asks the same unknown thing, then another: handed over by the bot
    fay            asks another thing the bot does not know
    eve            asks for a person at 10:20, first reply after 9 min, resolved 40 min
                   after opening, rates 2
    """
    maria = Agent(app, "maria")
    ann, bob, cat, dan, eve = (customer_factory(n) for n in ("ann", "bob", "cat", "dan", "eve"))

    [answer] = await ann.send("is there a free trial")
    assert "14 days" in answer
    await ann.send("/feedback the trial was too short")

    clock.now = DAY_TWO.replace(hour=10)
    await bob.send("how much does it cost")
    clock.advance(minutes=2)
    await handed_over(bob, "/human")
    bob_case = await case_id(app, bob)
    clock.advance(minutes=5)
    await maria.press(f"desk:claim:{bob_case}")
    await maria.say("Hello Bob, happy to help", case=bob_case)
    clock.advance(minutes=3)
    await maria.say("Anything else?", case=bob_case)  # only the first reply counts
    clock.advance(minutes=10)
    await maria.press(f"desk:resolve:{bob_case}")
    [thanks] = await bob.press("rate:5")
    assert "5 out of 5" in thanks

    [unknown] = await cat.send("What is the capital of Peru?")
    assert "I don't know that" in unknown
    await cat.send("/feedback more languages please")
    await dan.send("what is  the CAPITAL of peru?")
    # the second in a row hands over, and is counted as unanswered too
    await handed_over(dan, "who won the football")
    [unknown] = await customer_factory("fay").send("Can I pay in bitcoin")
    assert "I don't know that" in unknown

    await handed_over(eve, "agent please")
    eve_case = await case_id(app, eve)
    clock.advance(minutes=9)
    await maria.say(f"/claim {eve_case}")
    await maria.say("Hi Eve", case=eve_case)
    clock.advance(minutes=31)
    await maria.say("/resolve", case=eve_case)
    await eve.press("rate:2")
    await eve.send("too slow")  # a rating comment is not a second rating
    await eve.press("rate:4")  # already rated: ignored


@pytest.fixture
async def conversations(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    await converse(customer_factory, app, clock)


async def test_figures_from_real_conversations(
    conversations: None, config: Config, clock: Clock
) -> None:
    report = await build_report(config.storage.path, None, clock.now)
    assert report == {
        "since": None,
        "until": "2026-11-24T11:00:00+00:00",
        "cases_opened": 6,
        "cases_resolved": 2,
        "cases_handed_over": 3,  # bob, dan, eve
        "bot_alone": 0,  # ann's, cat's and fay's cases are still open: not the bot's success
        "bot_only_share": 0.0,
        "handovers_by_reason": [
            {"reason": "the customer asked for a person", "count": 2},
            {"reason": "the bot could not answer 2 times in a row", "count": 1},
        ],
        "median_first_reply_minutes": 7.0,
        "median_resolution_minutes": 30.0,
        "median_wait_to_claim_minutes": 7.0,  # bob 5 min, eve 9, dan never claimed
        "p90_first_reply_minutes": 8.6,
        "p90_wait_to_claim_minutes": 8.6,
        "p99_first_reply_minutes": 8.96,
        "p99_wait_to_claim_minutes": 8.96,
        "first_replies": 2,
        "claims_after_handover": 2,
        "ratings": {
            "count": 2,
            "average": 3.5,
            "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
        },
        "top_unanswered": [
            {"question": "what is the capital of peru?", "count": 2},
            {"question": "can i pay in bitcoin", "count": 1},
            {"question": "who won the football", "count": 1},
        ],
        "feedback_count": 2,
        "top_ideas": [],
        "undelivered_replies": [],
        "by_agent": [{"agent": "Maria", **MARIA}],
        "by_channel": [{"channel": "test", **EVERYONE}],
        "by_language": [{"language": "en", **EVERYONE}],
        "weekly_trend": [{"week": "2026-W48", "start": "2026-11-23", **EVERYONE}],
    }


# what the splits show of the conversations: Maria's are bob's and eve's cases; one
# channel, one language and one ISO week have all six
MARIA = {
    "cases_opened": 2,
    "cases_resolved": 2,
    "cases_handed_over": 2,
    "bot_alone": 0,
    "bot_only_share": 0.0,
    "median_wait_to_claim_minutes": 7.0,
    "p90_wait_to_claim_minutes": 8.6,
    "median_first_reply_minutes": 7.0,
    "p90_first_reply_minutes": 8.6,
    "median_resolution_minutes": 30.0,
    "ratings": 2,
    "rating_average": 3.5,
}
EVERYONE = {**MARIA, "cases_opened": 6, "cases_handed_over": 3}


async def test_since_leaves_out_earlier_cases_and_feedback(
    conversations: None, config: Config, clock: Clock
) -> None:
    report = await build_report(config.storage.path, DAY_TWO, clock.now)
    assert report["since"] == "2026-11-24T00:00:00+00:00"
    assert (report["cases_opened"], report["cases_resolved"]) == (5, 2)
    assert report["bot_only_share"] == 0.0  # cat's and fay's cases are open
    assert report["cases_handed_over"] == 3
    assert report["feedback_count"] == 1
    later = await build_report(config.storage.path, DAY_TWO.replace(hour=10, minute=10), clock.now)
    assert later["cases_opened"] == 4  # bob opened at 10:00
    assert later["median_first_reply_minutes"] == 9.0
    assert later["ratings"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}


async def test_the_rendered_report(conversations: None, config: Config, clock: Clock) -> None:
    text = render_report(await build_report(config.storage.path, None, clock.now))
    lines = text.splitlines()
    assert lines[0] == "Candor report: the beginning to 2026-11-24 11:00 UTC"
    assert "\x1b" not in text
    for expected in (
        "  Opened                    6",
        "  Resolved                  2",
        "  Handled by the bot alone  0% (0 of 6: resolved, no person involved)",
        "  Handed over to a person   3",
        "  First reply, 99th pct     9.0 min  (2 cases)",
        "  Agent  Claimed  Resolved  First reply  Reply p90  Resolution  Rating (n)",
        "  Maria        2         2      7.0 min    8.6 min    30.0 min    3.50 (2)",
        "  Channel  Cases  Bot alone  Handed over     Wait  Wait p90  First reply  Rating (n)",
        "  test         6         0%            3  7.0 min   8.6 min      7.0 min    3.50 (2)",
        "  en            6         0%            3  7.0 min   8.6 min      7.0 min    3.50 (2)",
        "  2026-W48      6         0%            3      7.0 min    3.50 (2)",
        "  the customer asked for a person            2",
        "  the bot could not answer 2 times in a row  1",
        "  First human reply         7.0 min  (handover to the first reply from a person)",
        "  Resolution                30.0 min  (opened to resolved)",
        "  Wait to claim             7.0 min  (handover to an agent taking the case)",
        "  First reply, 90th pct     8.6 min",
        "  Average                   3.50 out of 5",
        "  5 stars  1  ####################",
        "  2 stars  1  ####################",
        "  1 star   0",
        "  what is the capital of peru?  2 times",
        "  can i pay in bitcoin          1 time",
        "  who won the football          1 time",
        "  no ideas yet",
        "  Messages received         2",
    ):
        assert expected in lines, (expected, text)
    for section in (
        "Cases",
        "Handovers by reason",
        "Times (medians)",
        "Ratings",
        "Top unanswered questions (material for new knowledge articles)",
        "Top ideas",
        "Feedback",
        "Per agent (the cases each claimed first; times are medians)",
        "Per channel",
        "Per language",
        "Weekly trend (ISO weeks)",
    ):
        assert section in lines


async def test_an_empty_database_says_so(app: Candor, config: Config, clock: Clock) -> None:
    report = await build_report(config.storage.path, None, clock.now)
    assert report["cases_opened"] == 0 and report["bot_only_share"] is None
    assert report["median_first_reply_minutes"] is None
    assert report["ratings"] == {
        "count": 0,
        "average": None,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
    }
    text = render_report(report)
    for words in (
        "no cases in this period",
        "no handovers",
        "no data yet",
        "no ratings yet",
        "the bot had an answer every time",
        "no ideas yet",
        "no feedback yet",
    ):
        assert words in text


async def test_top_ideas_when_the_database_has_them(
    conversations: None, config: Config, clock: Clock
) -> None:
    with sqlite3.connect(config.storage.path) as db:
        db.executescript(
            """
            INSERT INTO ideas (id, text, state, created_at, updated_at) VALUES
                (1, 'Dark mode', 'planned', 0, 0), (2, 'Export to CSV', 'open', 0, 0),
                (3, 'Nobody wants this', 'open', 0, 0);
            INSERT INTO idea_votes (idea_id, customer_id, at) VALUES
                (2, 1, 0), (2, 2, 0), (2, 3, 0), (1, 1, 0);
            """
        )
    db.close()
    report = await build_report(config.storage.path, None, clock.now)
    assert report["top_ideas"] == [
        {"text": "Export to CSV", "votes": 3, "state": "open"},
        {"text": "Dark mode", "votes": 1, "state": "planned"},
        {"text": "Nobody wants this", "votes": 0, "state": "open"},
    ]
    lines = render_report(report).splitlines()
    assert "  Export to CSV      3 votes  (open)" in lines
    assert "  Dark mode          1 vote   (planned)" in lines
    assert "  Nobody wants this  0 votes  (open)" in lines


async def test_the_json_output_of_the_command(
    conversations: None, config: Config, clock: Clock
) -> None:
    out = io.StringIO()
    assert await report_command(config.storage.path, "2026-11-24", True, out, now=clock.now) == 0
    printed = json.loads(out.getvalue())
    assert printed == await build_report(config.storage.path, DAY_TWO, clock.now)
    assert printed["cases_opened"] == 5
    naive = io.StringIO()
    await report_command(config.storage.path, "2026-11-24T00:00:00", True, naive, now=clock.now)
    assert json.loads(naive.getvalue()) == printed  # a naive time is UTC
    text = io.StringIO()
    await report_command(config.storage.path, None, False, text, now=clock.now)
    assert text.getvalue().startswith("Candor report: the beginning to 2026-11-24 11:00 UTC\n")


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "24/11/2026", ""])
async def test_a_bad_since_is_refused(since: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^--since: expected a date like 2026-11-01$"):
        await report_command(tmp_path / "candor.sqlite3", since, False, io.StringIO())


async def test_a_missing_database_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    with pytest.raises(FileNotFoundError, match=r"^No Candor database at .*nowhere\.sqlite3"):
        await build_report(missing, None, datetime.now(UTC))
    assert not missing.exists()  # and nothing was created


async def test_a_file_that_is_not_a_candor_database(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    db.close()
    with pytest.raises(ValueError, match="is not a Candor database"):
        await build_report(other, None, datetime.now(UTC))


async def test_an_unanswered_question_that_leads_into_a_handover_is_counted(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, config: Config, clock: Clock
) -> None:
    """A question the bot was not sure of, then "None of these": the "I don't know"
    that follows (the second in a row hands the case over) counts that question. (The
    next question finds the same articles, which they just said were none of it: not
    offered again, so that is the second "I don't know".)"""
    gil = customer_factory("gil")
    [unsure] = await gil.send("how do I plan a trial export")
    assert "Pick one" in unsure
    [unknown] = await gil.press(gil.latest("none"))
    assert "I don't know" in unknown
    [handover] = await gil.send("how do I plan a trial export 2")
    assert "let me get a person" in handover
    await gil.press("handover:send")
    report = await build_report(config.storage.path, None, clock.now)
    assert report["top_unanswered"] == [
        {"question": "how do i plan a trial export", "count": 1},
        {"question": "how do i plan a trial export 2", "count": 1},
    ]
    assert report["handovers_by_reason"] == [
        {"reason": "the bot could not answer 2 times in a row", "count": 1}
    ]
    text = render_report(report)
    assert "  how do i plan a trial export 2  1 time" in text.splitlines()


async def test_a_typed_no_counts_the_question_it_answered(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, config: Config, clock: Clock
) -> None:
    """A menu, a typed "no" (not the button), then a question the bot does not know:
    the "I don't know" after the "no" is about the question the menu was for, and
    the one that hands the case over about its own; "no" is no question."""
    gil = customer_factory("gil")
    [menu] = await gil.send("how do I plan a trial export")
    assert "Pick one" in menu
    [unknown] = await gil.send("no")
    assert "I don't know the answer" in unknown
    [handover] = await gil.send("how do I plan a trial export 2")
    assert "let me get a person" in handover
    report = await build_report(config.storage.path, None, clock.now)
    assert report["top_unanswered"] == [
        {"question": "how do i plan a trial export", "count": 1},
        {"question": "how do i plan a trial export 2", "count": 1},
    ]


async def test_the_bot_alone_in_real_conversations(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, config: Config, clock: Clock
) -> None:
    """Answered by the bot and closed by an agent: the bot alone. Claimed by an agent
    straight from the bot (no handover) and resolved: not. Answered, still open: not."""
    maria = Agent(app, "maria")
    ann, bob, cat = (customer_factory(n) for n in ("ann", "bob", "cat"))
    for who in (ann, bob, cat):
        [answer] = await who.send("is there a free trial")
        assert "14 days" in answer
    await maria.say(f"/resolve {await case_id(app, ann)}")
    bob_case = await case_id(app, bob)
    await maria.say(f"/claim {bob_case}")
    await maria.say(f"/resolve {bob_case}")
    report = await build_report(config.storage.path, None, clock.now)
    assert (report["cases_opened"], report["cases_resolved"]) == (3, 2)
    assert (report["bot_alone"], report["cases_handed_over"]) == (1, 0)
    assert report["by_agent"][0]["agent"] == "Maria"
    assert report["by_agent"][0]["cases_opened"] == 1  # bob's: claimed
