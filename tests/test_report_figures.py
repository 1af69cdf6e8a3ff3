"""Each figure of the report from a hand-built case history whose right numbers are
known: cases, events and times written out here, computed by the report's own
sections (`bot.report.figures`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from bot.model import CaseState, Event, EventKind
from bot.report import ReportData, figures, render_report
from bot.report_csv import case_rows, safe
from bot.store.protocols import CaseTimes

MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)  # ISO week 48
_ids = count(1)


def at(minutes: float, days: int = 0) -> datetime:
    return MONDAY + timedelta(days=days, minutes=minutes)


def ev(
    case: int, minutes: float, kind: EventKind, actor: str = "bot", text: str = "", **data: object
) -> Event:
    return Event(next(_ids), case, at(minutes), kind, actor, text, data)


def case(
    id: int,
    state: CaseState,
    opened: float,
    resolved: float | None = None,
    channel: str = "telegram",
    language: str = "en",
    days: int = 0,
) -> CaseTimes:
    return CaseTimes(
        id,
        state,
        at(opened, days),
        None if resolved is None else at(resolved, days),
        channel,
        language,
    )


# 1  the bot answered, an agent closed it without claiming it: the bot alone
# 2  the bot answered; still open: not (yet) the bot alone
# 3  an agent claimed it straight from the bot (no handover), replied, resolved
# 4  handed over at 10, claimed at 14 (wait 4), first reply at 20 (10), resolved at 30, rated 4
# 5  handed over at 0, claimed at 30 (30), reply at 31 (31), resolved at 60, rated 2; Slack, German
# 6  handed over at 5, never claimed: in the queue (next week, Slack)
# 7  the bot did not know twice (a typed "no", then a question), handed over; Slack, German
CASES = [
    case(1, CaseState.RESOLVED, 0, 50),
    case(2, CaseState.BOT, 0),
    case(3, CaseState.RESOLVED, 0, 40),
    case(4, CaseState.RESOLVED, 0, 30),
    case(5, CaseState.RESOLVED, 0, 60, channel="slack", language="de"),
    case(6, CaseState.WAITING, 0, channel="slack", language="", days=7),
    case(7, CaseState.WAITING, 0, channel="slack", language="de"),
]
EVENTS = [
    ev(1, 0, EventKind.CUSTOMER, "customer", "is there a trial"),
    ev(1, 1, EventKind.ANSWER, text="Free trial"),
    ev(1, 50, EventKind.STATE, "Maria", "resolved by Maria"),
    ev(2, 0, EventKind.CUSTOMER, "customer", "price?"),
    ev(2, 1, EventKind.ANSWER, text="Pricing"),
    ev(3, 0, EventKind.CUSTOMER, "customer", "hello"),
    ev(3, 2, EventKind.CLAIM, "Maria"),
    ev(3, 3, EventKind.AGENT, "Maria", "hi"),
    ev(3, 40, EventKind.STATE, "Maria", "resolved by Maria"),
    ev(4, 10, EventKind.HANDOVER, "customer", "the customer asked for a person"),
    ev(4, 14, EventKind.CLAIM, "Maria"),
    ev(4, 20, EventKind.AGENT, "Maria", "hello"),
    ev(4, 25, EventKind.AGENT, "Maria", "second reply: not the first"),
    ev(4, 31, EventKind.RATING, "customer", "4", score=4),
    ev(5, 0, EventKind.HANDOVER, "customer", "the customer asked for a person"),
    ev(5, 30, EventKind.CLAIM, "Jonas"),
    ev(5, 31, EventKind.AGENT, "Jonas", "hallo"),
    ev(5, 61, EventKind.RATING, "customer", "2", score=2),
    ev(5, 62, EventKind.RATING, "customer", "9", score=9),  # forged: out of range
    ev(6, 5, EventKind.HANDOVER, "customer", "the customer seemed frustrated"),
    ev(7, 0, EventKind.CUSTOMER, "customer", "kann ich mit bitcoin zahlen"),
    ev(7, 1, EventKind.CLARIFY, options=["payments"]),
    ev(7, 2, EventKind.CUSTOMER, "customer", "nein"),
    ev(7, 2, EventKind.UNKNOWN, question="kann ich mit bitcoin zahlen"),
    ev(7, 3, EventKind.CUSTOMER, "customer", "Wer gewann das Spiel"),
    ev(7, 3, EventKind.UNKNOWN, question="Wer gewann das Spiel"),
    ev(7, 3, EventKind.HANDOVER, "bot", "the bot could not answer 2 times in a row"),
]
DATA = ReportData(None, at(0, days=8), CASES, EVENTS, 3, ())


def test_cases_and_the_bot_alone() -> None:
    report = figures(DATA)
    assert report["cases_opened"] == 7
    assert report["cases_resolved"] == 4  # 1, 3, 4, 5
    assert report["cases_handed_over"] == 4  # 4, 5, 6, 7
    assert report["bot_alone"] == 1  # only 1: 2 is open, 3 was claimed directly
    assert report["bot_only_share"] == round(1 / 7, 4)
    assert "  Handled by the bot alone  14% (1 of 7: resolved, no person involved)" in (
        render_report(report).splitlines()
    )


def test_handover_reasons_count_each_handover() -> None:
    assert figures(DATA)["handovers_by_reason"] == [
        {"reason": "the customer asked for a person", "count": 2},
        {"reason": "the bot could not answer 2 times in a row", "count": 1},
        {"reason": "the customer seemed frustrated", "count": 1},
    ]


def test_times_from_the_handover_and_their_percentiles() -> None:
    report = figures(DATA)
    # waits: 4 and 30 minutes (case 3's claim was no wait: it was never handed over)
    assert report["claims_after_handover"] == 2
    assert report["median_wait_to_claim_minutes"] == 17.0
    assert report["p90_wait_to_claim_minutes"] == 27.4
    assert report["p99_wait_to_claim_minutes"] == 29.74
    # first replies: 10 and 31 minutes (case 4's second reply does not count)
    assert report["first_replies"] == 2
    assert report["median_first_reply_minutes"] == 20.5
    assert report["p90_first_reply_minutes"] == 28.9
    # resolution: 50, 40, 30, 60 minutes
    assert report["median_resolution_minutes"] == 45.0


def test_a_reply_before_the_handover_is_no_wait() -> None:
    """A person took the case from the bot and wrote, then it went to the queue:
    the wait is from the handover to the claim after it."""
    events = [
        ev(20, 0, EventKind.CLAIM, "Maria"),
        ev(20, 1, EventKind.AGENT, "Maria", "hi"),
        ev(20, 10, EventKind.HANDOVER, "Maria", "back to the queue"),
        ev(20, 16, EventKind.CLAIM, "Jonas"),
        ev(20, 18, EventKind.AGENT, "Jonas", "hello"),
    ]
    report = figures(ReportData(None, at(60), [case(20, CaseState.AGENT, 0)], events, 0, ()))
    assert report["median_wait_to_claim_minutes"] == 6.0
    assert report["median_first_reply_minutes"] == 8.0


def test_ratings_in_range_only() -> None:
    assert figures(DATA)["ratings"] == {
        "count": 2,
        "average": 3.0,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0},
    }


def test_unanswered_questions_are_the_questions_not_the_typed_no() -> None:
    assert figures(DATA)["top_unanswered"] == [
        {"question": "kann ich mit bitcoin zahlen", "count": 1},
        {"question": "wer gewann das spiel", "count": 1},
    ]


def test_per_agent() -> None:
    rows = {r["agent"]: r for r in figures(DATA)["by_agent"]}
    assert list(rows) == ["Jonas", "Maria"]
    maria, jonas = rows["Maria"], rows["Jonas"]
    assert (maria["cases_opened"], maria["cases_resolved"]) == (2, 2)  # cases 3 and 4
    assert maria["median_first_reply_minutes"] == 10.0  # case 4 only: 3 had no handover
    assert maria["median_resolution_minutes"] == 35.0  # 40 and 30
    assert (maria["ratings"], maria["rating_average"]) == (1, 4.0)
    assert (jonas["cases_opened"], jonas["median_wait_to_claim_minutes"]) == (1, 30.0)
    assert (jonas["ratings"], jonas["rating_average"]) == (1, 2.0)


def test_per_channel_and_language() -> None:
    report = figures(DATA)
    channels = {r["channel"]: r for r in report["by_channel"]}
    assert list(channels) == ["slack", "telegram"]
    slack, telegram = channels["slack"], channels["telegram"]
    assert (slack["cases_opened"], slack["cases_handed_over"], slack["bot_alone"]) == (3, 3, 0)
    assert slack["median_wait_to_claim_minutes"] == 30.0
    assert (telegram["cases_opened"], telegram["bot_alone"], telegram["bot_only_share"]) == (
        4,
        1,
        0.25,
    )
    assert (telegram["median_wait_to_claim_minutes"], telegram["rating_average"]) == (4.0, 4.0)
    languages = {r["language"]: r["cases_opened"] for r in report["by_language"]}
    assert languages == {"de": 2, "en": 4, "not settled": 1}
    lines = render_report(report).splitlines()
    assert (
        "  slack         3         0%            3  30.0 min  30.0 min     31.0 min    2.00 (1)"
        in lines
    )


def test_weekly_trend_by_iso_week() -> None:
    weeks = figures(DATA)["weekly_trend"]
    assert [(w["week"], w["start"], w["cases_opened"]) for w in weeks] == [
        ("2026-W48", "2026-11-23", 6),
        ("2026-W49", "2026-11-30", 1),  # case 6, opened the next Monday
    ]
    assert weeks[0]["bot_only_share"] == round(1 / 6, 4)
    assert weeks[1]["median_wait_to_claim_minutes"] is None  # never claimed
    assert (weeks[1]["cases_handed_over"], weeks[1]["ratings"]) == (1, 0)


def test_a_week_without_cases_is_a_row_of_nothing() -> None:
    later = [case(30, CaseState.BOT, 0, days=14)]
    events = [e for e in EVENTS if e.case_id == 1]  # the bot answered it
    data = ReportData(None, at(0, days=15), [CASES[0], *later], events, 0, ())
    weeks = figures(data)["weekly_trend"]
    assert [(w["week"], w["cases_opened"], w["bot_only_share"]) for w in weeks] == [
        ("2026-W48", 1, 1.0),
        ("2026-W49", 0, None),
        ("2026-W50", 1, 0.0),
    ]


def test_the_csv_rows_agree_with_the_figures() -> None:
    """The same history as a row per case: its counts and times are the figures'."""
    report, rows = figures(DATA), case_rows(DATA)
    assert [r["case"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert sum(r["bot_alone"] for r in rows) == report["bot_alone"] == 1
    assert sum(1 for r in rows if r["handovers"]) == report["cases_handed_over"]
    waits = [r["wait_to_claim_s"] / 60 for r in rows if r["wait_to_claim_s"] != ""]
    assert waits == [4.0, 30.0]  # case 3's direct claim is no wait
    replies = [r["first_reply_s"] / 60 for r in rows if r["first_reply_s"] != ""]
    assert replies == [10.0, 31.0]
    assert [r["rating"] for r in rows] == ["", "", "", 4, 2, "", ""]  # 9 is no rating
    assert [r["unanswered"] for r in rows] == [0, 0, 0, 0, 0, 0, 2]
    assert [r["first_agent"] for r in rows] == ["", "", "Maria", "Maria", "Jonas", "", ""]
    assert (rows[2]["claimed_at"], rows[2]["handed_over_at"]) == ("2026-11-23T09:02:00+00:00", "")
    assert rows[5]["language"] == "" and rows[4]["channel"] == "slack"


def test_csv_cells_that_would_be_formulas() -> None:
    assert [safe(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", -5, "")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "ok",
        -5,  # a number is a number
        "",
    ]


def test_an_unreadable_question_falls_back_to_the_customers_words() -> None:
    """An event's data as a damaged row may hold it: not text, or only spaces."""
    events = [
        ev(40, 0, EventKind.CUSTOMER, "customer", "Where is my parcel"),
        ev(40, 1, EventKind.UNKNOWN, question=["not", "text"]),
        ev(40, 2, EventKind.CUSTOMER, "customer", "and my refund"),
        ev(40, 3, EventKind.UNKNOWN, question="   "),
        ev(40, 4, EventKind.UNKNOWN),  # nothing said since: nothing to count
    ]
    data = ReportData(None, at(60), [case(40, CaseState.BOT, 0)], events, 0, ())
    assert figures(data)["top_unanswered"] == [
        {"question": "and my refund", "count": 1},
        {"question": "where is my parcel", "count": 1},
    ]


def test_the_text_shows_the_last_twelve_weeks_and_json_all() -> None:
    cases = [case(50 + n, CaseState.BOT, 0, days=7 * n) for n in range(15)]
    report = figures(ReportData(None, at(0, days=7 * 15 - 1), cases, [], 0, ()))
    assert len(report["weekly_trend"]) == 15
    lines = render_report(report).splitlines()
    title = "Weekly trend (ISO weeks): the last 12 of 15 (--json or --since for the others)"
    rows = lines[lines.index(title) + 2 : lines.index(title) + 14]
    assert [r.split()[0] for r in rows] == [f"2026-W{w:02d}" for w in range(51, 54)] + [
        f"2027-W{w:02d}" for w in range(1, 10)
    ]


def test_reopened_cases_back_in_the_queue_are_one_reason_whoever_had_them() -> None:
    events = [
        ev(1, 0, EventKind.HANDOVER, text="reopened: was with Maria"),
        ev(2, 0, EventKind.HANDOVER, text="reopened: was with Sam"),
        ev(3, 0, EventKind.HANDOVER, text=""),
    ]
    data = ReportData(None, at(100), CASES[:3], events, 0, ())
    assert figures(data)["handovers_by_reason"] == [
        {"reason": "reopened: was with an agent not on duty", "count": 2},
        {"reason": "no reason given", "count": 1},
    ]
