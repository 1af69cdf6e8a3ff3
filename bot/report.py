"""A report on how support went: cases, handovers, waits, ratings and what the bot
could not answer. Read-only: it opens the database file without ever writing to it,
so it can run beside a live bot.

`build_report` computes the figures as plain data (what `--json` prints) from the
rows the store's reporting reads give (`Store.reporting`: no SQL here),
`render_report` turns them into text for a terminal, and `report_command` is what the
command line calls.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.model import Event
from bot.store import SQLiteStore, Store

TOP_UNANSWERED = 10
TOP_IDEAS = 10
SINCE_ERROR = "--since: expected a date like 2026-11-01"

_BAR_WIDTH = 20
_LABEL_WIDTH = 26
_TEXT_WIDTH = 60


def _utc(moment: datetime) -> datetime:
    """A naive datetime means UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 2)


def _median_minutes(spans: list[float]) -> float | None:
    return _minutes(statistics.median(spans)) if spans else None


@dataclass
class _Timelines:
    """What the timelines of the period's cases tell, times as Unix seconds (the same
    floats the database holds, so the figures are what they always were)."""

    reasons: Counter[str] = field(default_factory=Counter)  # handovers by reason
    handed_over: set[int] = field(default_factory=set)
    first_handover: dict[int, float] = field(default_factory=dict)  # by case
    first_reply: dict[int, float] = field(default_factory=dict)  # from a person, by case
    scores: list[int] = field(default_factory=list)
    unanswered: Counter[str] = field(default_factory=Counter)  # questions, normalised

    @classmethod
    def of(cls, events: Sequence[Event]) -> _Timelines:
        told = cls()
        last_question: dict[int, str] = {}
        for event in events:
            case_id, at, kind, text = event.case_id, event.at.timestamp(), event.kind, event.text
            if kind == "customer":
                last_question[case_id] = text
            elif kind == "unknown":
                question = _normalise(last_question.pop(case_id, ""))
                if question:
                    told.unanswered[question] += 1
            elif kind == "handover":
                told.handed_over.add(case_id)
                told.reasons[text or "no reason given"] += 1
                told.first_handover.setdefault(case_id, at)
            elif kind == "agent" and case_id in told.first_handover:
                told.first_reply.setdefault(case_id, at)
            elif kind == "rating":
                score = event.data.get("score")
                if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5:
                    told.scores.append(score)
        return told


async def build_report(db_path: Path, since: datetime | None, now: datetime) -> dict[str, Any]:
    """The figures for the cases opened from `since` (all if None) up to `now`, read
    from the database at `db_path` (opened read-only)."""
    store = SQLiteStore(Path(db_path), read_only=True)
    await store.open()
    try:
        return await report_from(store, since, now)
    finally:
        await store.close()


async def report_from(store: Store, since: datetime | None, now: datetime) -> dict[str, Any]:
    """The figures from an open store (see `build_report`)."""
    until = _utc(now)
    start = None if since is None else _utc(since)
    async with store.reporting() as reports:
        cases = await reports.cases_opened(start, until)
        events = await reports.events_of_cases_opened(start, until)
        feedback_count = await reports.feedback_count(start, until)
        top_ideas = [
            {"text": idea.text, "votes": idea.votes, "state": idea.state}
            for idea in await reports.top_ideas(TOP_IDEAS)
        ]

    told = _Timelines.of(events)
    resolved = [
        (
            case.opened_at.timestamp(),
            None if case.resolved_at is None else case.resolved_at.timestamp(),
        )
        for case in cases
        if case.state == "resolved"
    ]
    opened_count = len(cases)
    bot_only = sum(1 for case in cases if case.id not in told.handed_over)
    return {
        "since": None if start is None else start.isoformat(),
        "until": until.isoformat(),
        "cases_opened": opened_count,
        "cases_resolved": len(resolved),
        "bot_only_share": round(bot_only / opened_count, 4) if opened_count else None,
        "handovers_by_reason": [
            {"reason": reason, "count": count}
            for reason, count in sorted(told.reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        "median_first_reply_minutes": _median_minutes(
            [told.first_reply[c] - told.first_handover[c] for c in told.first_reply]
        ),
        "median_resolution_minutes": _median_minutes(
            [done - opened for opened, done in resolved if done is not None]
        ),
        "ratings": {
            "count": len(told.scores),
            "average": round(statistics.fmean(told.scores), 2) if told.scores else None,
            "distribution": {str(n): told.scores.count(n) for n in range(1, 6)},
        },
        "top_unanswered": [
            {"question": question, "count": count}
            for question, count in sorted(
                told.unanswered.items(), key=lambda item: (-item[1], item[0])
            )[:TOP_UNANSWERED]
        ],
        "feedback_count": feedback_count,
        "top_ideas": top_ideas,
    }


# -- text --------------------------------------------------------------------------------


def _when(iso: str | None) -> str:
    if iso is None:
        return "the beginning"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "no data yet"
    if minutes < 60:
        return f"{minutes:.1f} min"
    total = round(minutes)
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _short(text: str, width: int = _TEXT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _line(label: str, value: object) -> str:
    return f"  {label:<{_LABEL_WIDTH}}{value}"


def _counted(rows: list[tuple[str, int]], unit: tuple[str, str] = ("", "")) -> list[str]:
    """Texts in a column, each with its count (and unit, singular or plural) beside it."""
    texts = [_short(text) for text, _ in rows]
    width = max(len(t) for t in texts)
    digits = max(len(str(n)) for _, n in rows)
    return [
        f"  {t:<{width}}  {n:>{digits}} {unit[0] if n == 1 else unit[1]}".rstrip()
        for t, (_, n) in zip(texts, rows, strict=True)
    ]


def render_report(report: dict[str, Any]) -> str:
    """The report as plain text for a terminal: no colours, aligned columns."""
    out: list[str] = []
    title = f"Candor report: {_when(report['since'])} to {_when(report['until'])}"
    out += [title, "=" * len(title), ""]

    opened = int(report["cases_opened"])
    share = report["bot_only_share"]
    out.append("Cases")
    out.append(_line("Opened", opened))
    out.append(_line("Resolved", report["cases_resolved"]))
    if share is None:
        out.append(_line("Handled by the bot alone", "no cases in this period"))
    else:
        alone = round(share * opened)
        out.append(_line("Handled by the bot alone", f"{share:.0%} ({alone} of {opened})"))
    out.append("")

    out.append("Handovers by reason")
    reasons = report["handovers_by_reason"]
    if reasons:
        out += _counted([(r["reason"], int(r["count"])) for r in reasons])
    else:
        out.append("  no handovers")
    out.append("")

    out.append("Times (medians)")
    out.append(
        _line("First human reply", _duration(report["median_first_reply_minutes"]))
        + "  (handover to the first reply from a person)"
    )
    out.append(
        _line("Resolution", _duration(report["median_resolution_minutes"]))
        + "  (opened to resolved)"
    )
    out.append("")

    ratings = report["ratings"]
    out.append("Ratings")
    if ratings["count"]:
        out.append(_line("Count", ratings["count"]))
        out.append(_line("Average", f"{ratings['average']:.2f} out of 5"))
        distribution = {int(k): int(v) for k, v in ratings["distribution"].items()}
        most = max(distribution.values())
        digits = len(str(most))
        for score in range(5, 0, -1):
            n = distribution.get(score, 0)
            bar = "#" * round(_BAR_WIDTH * n / most) if most else ""
            label = "star " if score == 1 else "stars"
            out.append(f"  {score} {label}  {n:>{digits}}  {bar}".rstrip())
    else:
        out.append("  no ratings yet")
    out.append("")

    out.append("Top unanswered questions (material for new knowledge articles)")
    questions = report["top_unanswered"]
    if questions:
        out += _counted([(q["question"], int(q["count"])) for q in questions], ("time", "times"))
    else:
        out.append("  none: the bot had an answer every time")
    out.append("")

    out.append("Top ideas")
    ideas = report["top_ideas"]
    if ideas:
        voted = _counted([(i["text"], int(i["votes"])) for i in ideas], ("vote", "votes"))
        width = max(len(line) for line in voted)
        out += [f"{line:<{width}}  ({i['state']})" for line, i in zip(voted, ideas, strict=True)]
    else:
        out.append("  no ideas yet")
    out.append("")

    out.append("Feedback")
    count = int(report["feedback_count"])
    if count:
        out.append(_line("Messages received", count))
    else:
        out.append("  no feedback yet")
    return "\n".join(out) + "\n"


# -- command -----------------------------------------------------------------------------


def parse_since(value: str) -> datetime:
    """`2026-11-01` or a full ISO datetime; naive means UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(SINCE_ERROR) from None
    return _utc(moment)


async def report_command(
    db_path: Path,
    since: str | None,
    as_json: bool,
    out: TextIO,
    now: datetime | None = None,
) -> int:
    """What `candor report` does: print the report as text or JSON."""
    start = None if since is None else parse_since(since)
    report = await build_report(db_path, start, now or datetime.now(UTC))
    if as_json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        out.write(render_report(report))
    return 0


__all__ = ["build_report", "parse_since", "render_report", "report_command", "report_from"]
