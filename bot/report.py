"""A report on how support went: cases, handovers, waits, ratings and what the bot
could not answer. Read-only: it opens the database file without ever writing to it,
so it can run beside a live bot.

`build_report` computes the figures as plain data (what `--json` prints),
`render_report` turns them into text for a terminal, and `report_command` is what the
command line calls.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import aiosqlite

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


def _data(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _readonly_uri(path: Path) -> str:
    """The database's URI for opening it read-only; a missing file is an error here
    (SQLite would only say it cannot open it)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"No Candor database at {path}: check the [storage] path in the config"
        )
    return f"{path.resolve().as_uri()}?mode=ro"


async def _tables(db: aiosqlite.Connection) -> set[str]:
    async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
        return {str(row[0]) for row in await cursor.fetchall()}


async def _columns(db: aiosqlite.Connection, table: str) -> set[str]:
    async with db.execute(f"PRAGMA table_info({table})") as cursor:
        return {str(row[1]) for row in await cursor.fetchall()}


async def _top_ideas(db: aiosqlite.Connection, tables: set[str]) -> list[dict[str, Any]]:
    """The most voted ideas, if this database has ideas at all."""
    if not {"ideas", "idea_votes"} <= tables:
        return []
    idea_columns = await _columns(db, "ideas")
    if not {"text", "state"} <= idea_columns:
        return []
    if not {"idea_id", "customer_id"} <= await _columns(db, "idea_votes"):
        return []
    key = "id" if "id" in idea_columns else "rowid"
    query = (
        f"SELECT i.text, i.state, count(DISTINCT v.customer_id) AS votes FROM ideas AS i"
        f" LEFT JOIN idea_votes AS v ON v.idea_id = i.{key}"
        f" GROUP BY i.{key} ORDER BY votes DESC, i.text LIMIT {TOP_IDEAS}"
    )
    async with db.execute(query) as cursor:
        rows = await cursor.fetchall()
    return [
        {"text": str(text), "votes": int(votes), "state": str(state)} for text, state, votes in rows
    ]


async def build_report(db_path: Path, since: datetime | None, now: datetime) -> dict[str, Any]:
    """The figures for the cases opened from `since` (all if None) up to `now`."""
    path = Path(db_path)
    uri = _readonly_uri(path)
    until = _utc(now)
    start = None if since is None else _utc(since)
    low = float("-inf") if start is None else start.timestamp()
    high = until.timestamp()
    async with aiosqlite.connect(uri, uri=True) as db:
        tables = await _tables(db)
        if not {"cases", "events"} <= tables:
            raise ValueError(f"{path} is not a Candor database (it has no cases)")

        async with db.execute(
            "SELECT id, state, opened_at, resolved_at FROM cases"
            " WHERE opened_at >= ? AND opened_at <= ? ORDER BY id",
            (low, high),
        ) as cursor:
            cases = list(await cursor.fetchall())
        async with db.execute(
            "SELECT e.case_id, e.at, e.kind, e.text, e.data FROM events AS e"
            " JOIN cases AS c ON c.id = e.case_id"
            " WHERE c.opened_at >= ? AND c.opened_at <= ? ORDER BY e.case_id, e.id",
            (low, high),
        ) as cursor:
            events = list(await cursor.fetchall())

        feedback_count = 0
        if "feedback" in tables:
            async with db.execute(
                "SELECT count(*) FROM feedback WHERE at >= ? AND at <= ?", (low, high)
            ) as cursor:
                row = await cursor.fetchone()
            feedback_count = int(row[0]) if row else 0

        top_ideas = await _top_ideas(db, tables)

    reasons: Counter[str] = Counter()
    handed_over: set[int] = set()
    first_handover: dict[int, float] = {}
    first_reply: dict[int, float] = {}
    scores: list[int] = []
    unanswered: Counter[str] = Counter()
    last_question: dict[int, str] = {}
    for case_id, at, kind, text, raw in events:
        if kind == "customer":
            last_question[case_id] = text
        elif kind == "unknown":
            question = _normalise(last_question.pop(case_id, ""))
            if question:
                unanswered[question] += 1
        elif kind == "handover":
            handed_over.add(case_id)
            reasons[text or "no reason given"] += 1
            first_handover.setdefault(case_id, at)
        elif kind == "agent" and case_id in first_handover:
            first_reply.setdefault(case_id, at)
        elif kind == "rating":
            score = _data(raw).get("score")
            if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5:
                scores.append(score)

    resolved = [(opened, done) for _, state, opened, done in cases if state == "resolved"]
    opened_count = len(cases)
    bot_only = sum(1 for case_id, *_ in cases if case_id not in handed_over)
    return {
        "since": None if start is None else start.isoformat(),
        "until": until.isoformat(),
        "cases_opened": opened_count,
        "cases_resolved": len(resolved),
        "bot_only_share": round(bot_only / opened_count, 4) if opened_count else None,
        "handovers_by_reason": [
            {"reason": reason, "count": count}
            for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        "median_first_reply_minutes": _median_minutes(
            [first_reply[c] - first_handover[c] for c in first_reply]
        ),
        "median_resolution_minutes": _median_minutes(
            [done - opened for opened, done in resolved if done is not None]
        ),
        "ratings": {
            "count": len(scores),
            "average": round(statistics.fmean(scores), 2) if scores else None,
            "distribution": {str(n): scores.count(n) for n in range(1, 6)},
        },
        "top_unanswered": [
            {"question": question, "count": count}
            for question, count in sorted(unanswered.items(), key=lambda item: (-item[1], item[0]))[
                :TOP_UNANSWERED
            ]
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


__all__ = ["build_report", "parse_since", "render_report", "report_command"]
