"""`candor report --csv`: one row per case opened in the period, made of the same
data as the report's figures (`bot.report.ReportData`), for a spreadsheet.

No customer's name or words are in it: the case's number, times, channel, language,
the handover's reason (the bot's own words), the agent's name and the rating. A
text cell that a spreadsheet would take for a formula (starting with = + - @, a tab
or a return) gets a ' before it. Plain UTF-8, no byte-order mark (the dashboard's
download adds one for spreadsheets that need it)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.model import CaseState, Event, EventKind
from bot.report import ReportData
from bot.store.protocols import CaseTimes

# (column, what it holds): the README's "Reports" section and `--help` list these
COLUMNS: tuple[tuple[str, str], ...] = (
    ("case", "the case number"),
    ("opened_at", "when it was opened (ISO 8601, UTC)"),
    ("channel", "the platform where the customer's words on it were last said"),
    ("language", "the language the bot speaks to the customer (empty: not settled)"),
    ("state", "bot, waiting, agent or resolved, now"),
    ("handed_over_at", "its first handover to a person"),
    ("handover_reason", "why (the bot's words)"),
    ("handovers", "how many times it went to the queue"),
    ("first_agent", "who claimed it first"),
    ("claimed_at", "the first claim after the first handover (else the first claim)"),
    ("first_reply_at", "a person's first reply after the handover (else their first)"),
    ("resolved_at", "when it was resolved (empty: open)"),
    ("wait_to_claim_s", "seconds from the first handover to the claim after it"),
    ("first_reply_s", "seconds from the first handover to the first reply after it"),
    ("resolution_s", "seconds from opened to resolved"),
    ("rating", "the customer's rating, 1 to 5 (empty: none)"),
    ("bot_alone", "1: resolved with no handover and no person claiming or replying"),
    ("unanswered", "how many times the bot said it did not know"),
    ("agent_replies", "how many messages people wrote to the customer"),
)
HELP = "\n".join(f"  {name:<16} {what}" for name, what in COLUMNS)

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe(value: object) -> object:
    """A text cell that cannot start a formula; numbers and empty cells as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def _seconds(start: datetime | None, end: datetime | None) -> int | str:
    return "" if start is None or end is None else round((end - start).total_seconds())


def _first(events: Sequence[Event], kind: EventKind, after: datetime | None) -> Event | None:
    """The first event of `kind` at or after `after` (of all of them when None)."""
    return next((e for e in events if e.kind is kind and (after is None or e.at >= after)), None)


def _rating(events: Sequence[Event]) -> int | str:
    for event in events:
        score = event.data.get("score") if event.kind is EventKind.RATING else None
        if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5:
            return score
    return ""


def case_row(case: CaseTimes, events: Sequence[Event]) -> dict[str, Any]:
    """One case's row (`COLUMNS`) from its events, oldest first."""
    handover = _first(events, EventKind.HANDOVER, None)
    handed = None if handover is None else handover.at
    claim = _first(events, EventKind.CLAIM, handed) or _first(events, EventKind.CLAIM, None)
    reply = _first(events, EventKind.AGENT, handed) or _first(events, EventKind.AGENT, None)
    after_claim = _first(events, EventKind.CLAIM, handed) if handed else None
    after_reply = _first(events, EventKind.AGENT, handed) if handed else None
    people = any(e.kind in (EventKind.CLAIM, EventKind.AGENT) for e in events)
    resolved = case.resolved_at if case.state is CaseState.RESOLVED else None
    first_claim = _first(events, EventKind.CLAIM, None)
    return {
        "case": case.id,
        "opened_at": _iso(case.opened_at),
        "channel": case.channel,
        "language": case.language,
        "state": case.state.value,
        "handed_over_at": _iso(handed),
        "handover_reason": "" if handover is None else handover.text,
        "handovers": sum(1 for e in events if e.kind is EventKind.HANDOVER),
        "first_agent": "" if first_claim is None else first_claim.actor,
        "claimed_at": _iso(None if claim is None else claim.at),
        "first_reply_at": _iso(None if reply is None else reply.at),
        "resolved_at": _iso(resolved),
        "wait_to_claim_s": _seconds(handed, None if after_claim is None else after_claim.at),
        "first_reply_s": _seconds(handed, None if after_reply is None else after_reply.at),
        "resolution_s": _seconds(case.opened_at, resolved),
        "rating": _rating(events),
        "bot_alone": int(bool(events) and resolved is not None and handover is None and not people),
        "unanswered": sum(1 for e in events if e.kind is EventKind.UNKNOWN),
        "agent_replies": sum(1 for e in events if e.kind is EventKind.AGENT),
    }


def case_rows(data: ReportData) -> list[dict[str, Any]]:
    """A row per case of the data, by case number."""
    events: dict[int, list[Event]] = {}
    for event in data.events:
        events.setdefault(event.case_id, []).append(event)
    return [case_row(case, events.get(case.id, [])) for case in data.cases]


def write_csv(rows: Sequence[dict[str, Any]], out: TextIO) -> None:
    """The rows with a header, comma-separated, CRLF line ends (RFC 4180)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS])
    for row in rows:
        writer.writerow([safe(row[name]) for name, _ in COLUMNS])
