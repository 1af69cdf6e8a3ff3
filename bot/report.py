"""A report on how support went: cases, handovers, waits, ratings and what the bot
could not answer. Read-only: it opens the database file without ever writing to it,
so it can run beside a live bot.

`build_report` computes the figures as plain data (what `--json` prints) from the
rows the store's reporting reads give (`Store.reporting`: no SQL here),
`render_report` turns them into text for a terminal, and `report_command` is what the
command line calls.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.model import Event, EventKind, Idea
from bot.store import PostgresStore, SQLiteStore, Store
from bot.store.postgres.store import is_postgres_url
from bot.store.protocols import CaseTimes
from bot.store.protocols.reports import Undelivered

TOP_IDEAS = 10
UNKNOWN_CHANNEL = "unknown"  # a case whose customer's identities are gone (/forget)
NO_LANGUAGE = "not settled"
SINCE_ERROR = "--since: expected a date like 2026-11-01"

_BAR_WIDTH = 20
_LABEL_WIDTH = 26
_TEXT_WIDTH = 60


def _utc(moment: datetime) -> datetime:
    """A naive datetime means UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def normalise(text: str) -> str:
    """A question as counted: case and spacing folded."""
    return " ".join(text.casefold().split())


def median_minutes(spans: list[float]) -> float | None:
    """The median of spans in seconds, in minutes (None without any)."""
    return round(statistics.median(spans) / 60, 2) if spans else None


def percentile_minutes(spans: list[float], p: float) -> float | None:
    """The `p`th percentile (0-100, linear between ranks) of spans in seconds, in
    minutes (None without any)."""
    if not spans:
        return None
    ordered = sorted(spans)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value / 60, 2)


def first_handovers(events: Sequence[Event]) -> dict[int, float]:
    """When each case was first handed to a person (Unix seconds, as stored)."""
    found: dict[int, float] = {}
    for event in events:
        if event.kind == "handover":
            found.setdefault(event.case_id, event.at.timestamp())
    return found


@dataclass(frozen=True, slots=True)
class ReportData:
    """What a report is made of, read once from the store: the period, the cases
    opened in it, their events (oldest first), the feedback count and the most-wanted
    ideas. Times as the store keeps them."""

    since: datetime | None
    until: datetime
    cases: Sequence[CaseTimes]
    events: Sequence[Event]
    feedback_count: int
    top_ideas: Sequence[Idea]
    undelivered: Sequence[Undelivered] = ()  # replies to customers not getting through


@dataclass(frozen=True, slots=True)
class ReportSection:
    """One section of `candor report`, declared by the feature it is about:
    `figures` gives its part of the report's data (what `--json` prints), `text`
    its lines for a terminal (title first) from the whole report's data."""

    title: str
    order: int
    figures: Callable[[ReportData], dict[str, Any]]
    text: Callable[[dict[str, Any]], list[str]]
    splits: bool = False  # made of the other sections' figures for parts of the data


def default_sections() -> Sequence[ReportSection]:
    """The sections of every feature Candor has."""
    from bot.app import FEATURES  # the composition root; imported late, it imports us
    from bot.registry import Registry

    return Registry(FEATURES).report_sections


async def build_report(
    db_path: Path | str,
    since: datetime | None,
    now: datetime,
    sections: Sequence[ReportSection] | None = None,
) -> dict[str, Any]:
    """The figures for the cases opened from `since` (all if None) up to `now`, read
    from the database at `db_path` (opened read-only): a SQLite file, or a
    PostgreSQL URL (`[storage] url`)."""
    async with read_only(db_path) as store:
        return await report_from(store, since, now, sections)


@asynccontextmanager
async def read_only(db_path: Path | str) -> AsyncIterator[Store]:
    """The database at `db_path` (a SQLite file or a PostgreSQL URL), opened
    read-only."""
    store: Store
    if isinstance(db_path, str) and is_postgres_url(db_path):
        store = PostgresStore(db_path, read_only=True)
    else:
        store = SQLiteStore(Path(db_path), read_only=True)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def report_from(
    store: Store,
    since: datetime | None,
    now: datetime,
    sections: Sequence[ReportSection] | None = None,
) -> dict[str, Any]:
    """The figures from an open store (see `build_report`), section by section."""
    data = await read_data(store, since, now)
    return figures(data, sections)


async def read_data(store: Store, since: datetime | None, until: datetime) -> ReportData:
    """What a report is made of, read once from an open store (see `ReportData`)."""
    start = None if since is None else _utc(since)
    until = _utc(until)
    async with store.reporting() as reports:
        return ReportData(
            since=start,
            until=until,
            cases=await reports.cases_opened(start, until),
            events=await reports.events_of_cases_opened(start, until),
            feedback_count=await reports.feedback_count(start, until),
            top_ideas=await reports.top_ideas(TOP_IDEAS, start, until),
            undelivered=await reports.undelivered_replies(start, until),
        )


def figures(data: ReportData, sections: Sequence[ReportSection] | None = None) -> dict[str, Any]:
    """The report's figures from its data, section by section (what `--json` prints,
    and what the web dashboard shows)."""
    report: dict[str, Any] = {
        "since": None if data.since is None else data.since.isoformat(),
        "until": data.until.isoformat(),
    }
    for section in default_sections() if sections is None else sections:
        report.update(section.figures(data))
    return report


def by_period(data: ReportData, starts: Sequence[datetime]) -> list[ReportData]:
    """The data split by when its cases were opened: one part per period from each
    of `starts` (ascending, the first at or before `data.since`) to the next (the
    last to `data.until`), with those cases and their events. Only the figures made
    of cases and events are by period: feedback, ideas and undelivered replies are
    left out of the parts (they are the whole period's)."""
    parts = []
    events = _events_by_case(data)
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else None
        cases = [
            c for c in data.cases if c.opened_at >= start and (end is None or c.opened_at < end)
        ]
        until = data.until if end is None else end - timedelta(microseconds=1)
        of_cases = _events_of(events, cases)
        parts.append(ReportData(start, until, cases, of_cases, 0, ()))
    return parts


def _events_by_case(data: ReportData) -> dict[int, list[Event]]:
    found: dict[int, list[Event]] = {}
    for event in data.events:
        found.setdefault(event.case_id, []).append(event)
    return found


def _events_of(events: dict[int, list[Event]], cases: Sequence[CaseTimes]) -> list[Event]:
    """The events of `cases`, by case (as the store reads them), in one pass."""
    return [e for c in sorted(cases, key=lambda c: c.id) for e in events.get(c.id, ())]


def _split(data: ReportData, key: dict[int, str]) -> dict[str, ReportData]:
    """The data split by `key` (case id → its part's name), in order of name, each
    part with its cases and their events; cases without a key are in no part."""
    cases: dict[str, list[CaseTimes]] = {}
    for case in data.cases:
        if case.id in key:
            cases.setdefault(key[case.id], []).append(case)
    events = _events_by_case(data)
    return {
        name: ReportData(
            data.since, data.until, cases[name], _events_of(events, cases[name]), 0, ()
        )
        for name in sorted(cases)
    }


def by_agent(data: ReportData) -> dict[str, ReportData]:
    """The data split by the agent who first claimed each case (by name, in order of
    name), with those cases and their events; cases nobody claimed are in no part.
    As `by_period`, only the figures made of cases and events are by agent."""
    first: dict[int, str] = {}
    for event in data.events:
        if event.kind is EventKind.CLAIM:
            first.setdefault(event.case_id, event.actor)
    return _split(data, first)


def by_channel(data: ReportData) -> dict[str, ReportData]:
    """The data split by each case's channel (`CaseTimes.channel`), as `by_agent`."""
    return _split(data, {c.id: c.channel or UNKNOWN_CHANNEL for c in data.cases})


def by_language(data: ReportData) -> dict[str, ReportData]:
    """The data split by the language the bot speaks to each case's customer, as
    `by_agent` (`NO_LANGUAGE` where none is settled yet)."""
    return _split(data, {c.id: c.language or NO_LANGUAGE for c in data.cases})


def week_starts(data: ReportData) -> list[datetime]:
    """The Mondays (00:00 UTC) of the ISO weeks from the first case's to `until`."""
    if not data.cases:
        return []
    first = min(c.opened_at for c in data.cases).astimezone(UTC)
    monday = first.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=first.weekday()
    )
    starts = []
    while monday <= data.until:
        starts.append(monday)
        monday += timedelta(days=7)
    return starts


def plain_sections(sections: Sequence[ReportSection] | None = None) -> list[ReportSection]:
    """The sections whose figures are not themselves made of parts (per agent, per
    week): what each part of a split reports."""
    return [s for s in (default_sections() if sections is None else sections) if not s.splits]


# -- text --------------------------------------------------------------------------------


def _when(iso: str | None) -> str:
    if iso is None:
        return "the beginning"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(minutes: float | None) -> str:
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


def line(label: str, value: object) -> str:
    """A label and its value, aligned with the others."""
    return f"  {label:<{_LABEL_WIDTH}}{value}"


def counted(rows: list[tuple[str, int]], unit: tuple[str, str] = ("", "")) -> list[str]:
    """Texts in a column, each with its count (and unit, singular or plural) beside it."""
    texts = [_short(text) for text, _ in rows]
    width = max(len(t) for t in texts)
    digits = max(len(str(n)) for _, n in rows)
    return [
        f"  {t:<{width}}  {n:>{digits}} {unit[0] if n == 1 else unit[1]}".rstrip()
        for t, (_, n) in zip(texts, rows, strict=True)
    ]


def columns(header: list[str], rows: list[list[str]]) -> list[str]:
    """A table: the first column left-aligned, the others right-aligned, each as
    wide as its widest cell."""
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(len(header))]
    widths[0] = min(widths[0], _LABEL_WIDTH)

    def shown(cells: list[str]) -> str:
        first = f"{_short(cells[0], _LABEL_WIDTH):<{widths[0]}}"
        rest = [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  " + "  ".join([first, *rest]).rstrip()

    return [shown(header), *(shown(r) for r in rows)]


def bars(counts: dict[int, int], width: int = _BAR_WIDTH) -> list[str]:
    """Counts by star, five to one, each with a bar scaled to the largest."""
    most = max(counts.values())
    digits = len(str(most))
    out = []
    for score in range(5, 0, -1):
        n = counts.get(score, 0)
        bar = "#" * round(width * n / most) if most else ""
        label = "star " if score == 1 else "stars"
        out.append(f"  {score} {label}  {n:>{digits}}  {bar}".rstrip())
    return out


def render_report(report: dict[str, Any], sections: Sequence[ReportSection] | None = None) -> str:
    """The report as plain text for a terminal: no colours, aligned columns."""
    title = f"Candor report: {_when(report['since'])} to {_when(report['until'])}"
    out = [title, "=" * len(title), ""]
    for section in default_sections() if sections is None else sections:
        out += [*section.text(report), ""]
    return "\n".join(out[:-1]) + "\n"


# -- command -----------------------------------------------------------------------------


def parse_since(value: str, option: str = "--since") -> datetime:
    """`2026-11-01` or a full ISO datetime; naive means UTC. A year before 1970 or
    after 9998 is no period's (its end or its time zone would leave the calendar)."""
    try:
        moment = _utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise ValueError(SINCE_ERROR.replace("--since", option)) from None
    except OverflowError:
        moment = None
    if moment is None or not 1970 <= moment.year <= 9998:
        raise ValueError(f"{option} {value.strip()}: expected a date from 1970 to 9998")
    return moment


def period(since: str | None, until: str | None, now: datetime) -> tuple[datetime | None, datetime]:
    """The period `--since`/`--until` name: since included, until NOT included (the
    store's periods include both ends, so the end is the instant before `until`).
    ValueError, a usage error, for a period that is empty or backwards."""
    start = None if since is None else parse_since(since)
    now = _utc(now)
    if until is None:
        if start is not None and start > now:
            raise ValueError(f"--since {since}: that is in the future, nothing to report yet")
        return start, now
    end = parse_since(until, "--until")
    if start is not None and start >= end:
        raise ValueError(f"--since {since} is not before --until {until}: an empty period")
    return start, end - timedelta(microseconds=1)


async def report_command(
    db_path: Path | str,
    since: str | None,
    as_json: bool,
    out: TextIO,
    now: datetime | None = None,
    until: str | None = None,
    csv_to: str | None = None,
) -> int:
    """What `candor report` does: print the report as text or JSON, or (`csv_to`:
    a file's path, "-" for `out`) one CSV row per case of the period."""
    start, end = period(since, until, now or datetime.now(UTC))
    if csv_to is not None:
        from bot.report_csv import case_rows, write_csv

        async with read_only(db_path) as store:
            rows = case_rows(await read_data(store, start, end))
        if csv_to == "-":
            write_csv(rows, out)
        else:
            written = io.StringIO()
            write_csv(rows, written)
            target = Path(csv_to)
            try:
                await asyncio.to_thread(
                    target.write_text, written.getvalue(), encoding="utf-8", newline=""
                )
            except OSError as error:
                raise ValueError(f"--csv {csv_to}: cannot write it ({error.strerror})") from None
        return 0
    report = await build_report(db_path, start, end)
    if as_json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        out.write(render_report(report))
    return 0


__all__ = [
    "ReportData",
    "ReportSection",
    "build_report",
    "by_agent",
    "by_channel",
    "by_language",
    "by_period",
    "columns",
    "duration",
    "figures",
    "parse_since",
    "percentile_minutes",
    "period",
    "plain_sections",
    "read_data",
    "read_only",
    "render_report",
    "report_command",
    "report_from",
    "week_starts",
]
