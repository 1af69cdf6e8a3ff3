"""The report's figures split: per agent, per channel, per language and by ISO week.
Each part's figures are the other sections' own (`bot.report.plain_sections`), so a
figure means the same in a split as in the whole report, and the dashboard's pages
per agent and per channel and language show these very rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.registry import Feature
from bot.report import (
    ReportData,
    ReportSection,
    by_agent,
    by_channel,
    by_language,
    by_period,
    columns,
    duration,
    figures,
    plain_sections,
    week_starts,
)

feature = Feature("breakdowns")

SHOWN_WEEKS = 12  # the weekly trend's rows in the text report (--json has every week)


def _share(value: object) -> str:
    return "-" if not isinstance(value, float | int) else f"{value:.0%}"


def _minutes(value: object) -> str:
    return "-" if not isinstance(value, float | int) else duration(float(value))


def _rating(row: dict[str, Any]) -> str:
    return (
        "-" if row["rating_average"] is None else f"{row['rating_average']:.2f} ({row['ratings']})"
    )


def _row(f: dict[str, Any]) -> dict[str, Any]:
    """What a part shows of its figures."""
    return {
        "cases_opened": f["cases_opened"],
        "cases_resolved": f["cases_resolved"],
        "cases_handed_over": f["cases_handed_over"],
        "bot_alone": f["bot_alone"],
        "bot_only_share": f["bot_only_share"],
        "median_wait_to_claim_minutes": f["median_wait_to_claim_minutes"],
        "p90_wait_to_claim_minutes": f["p90_wait_to_claim_minutes"],
        "median_first_reply_minutes": f["median_first_reply_minutes"],
        "p90_first_reply_minutes": f["p90_first_reply_minutes"],
        "median_resolution_minutes": f["median_resolution_minutes"],
        "ratings": f["ratings"]["count"],
        "rating_average": f["ratings"]["average"],
    }


def split_rows(
    key: str, split: Callable[[ReportData], dict[str, ReportData]], data: ReportData
) -> list[dict[str, Any]]:
    """One row per part of `split(data)`, named under `key`."""
    plain = plain_sections()
    return [{key: name, **_row(figures(part, plain))} for name, part in split(data).items()]


def _agents(data: ReportData) -> dict[str, Any]:
    return {"by_agent": split_rows("agent", by_agent, data)}


def _channels(data: ReportData) -> dict[str, Any]:
    return {"by_channel": split_rows("channel", by_channel, data)}


def _languages(data: ReportData) -> dict[str, Any]:
    return {"by_language": split_rows("language", by_language, data)}


def weekly_rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per ISO week from the first case's to the period's end."""
    plain = plain_sections()
    rows = []
    for part in by_period(data, week_starts(data)):
        assert part.since is not None
        year, week, _ = part.since.isocalendar()
        row = {"week": f"{year}-W{week:02d}", "start": part.since.date().isoformat()}
        rows.append({**row, **_row(figures(part, plain))})
    return rows


def _weeks(data: ReportData) -> dict[str, Any]:
    return {"weekly_trend": weekly_rows(data)}


_WHO = ["Claimed", "Resolved", "First reply", "Reply p90", "Resolution", "Rating (n)"]
_WHERE = ["Cases", "Bot alone", "Handed over", "Wait", "Wait p90", "First reply", "Rating (n)"]


def _agents_text(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["agent"],
            str(r["cases_opened"]),
            str(r["cases_resolved"]),
            _minutes(r["median_first_reply_minutes"]),
            _minutes(r["p90_first_reply_minutes"]),
            _minutes(r["median_resolution_minutes"]),
            _rating(r),
        ]
        for r in report["by_agent"]
    ]
    body = columns(["Agent", *_WHO], rows) if rows else ["  no case was claimed"]
    return ["Per agent (the cases each claimed first; times are medians)", *body]


def _where_rows(key: str, report_rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            str(r[key]),
            str(r["cases_opened"]),
            _share(r["bot_only_share"]),
            str(r["cases_handed_over"]),
            _minutes(r["median_wait_to_claim_minutes"]),
            _minutes(r["p90_wait_to_claim_minutes"]),
            _minutes(r["median_first_reply_minutes"]),
            _rating(r),
        ]
        for r in report_rows
    ]


def _channels_text(report: dict[str, Any]) -> list[str]:
    rows = _where_rows("channel", report["by_channel"])
    return ["Per channel", *(columns(["Channel", *_WHERE], rows) if rows else ["  no cases"])]


def _languages_text(report: dict[str, Any]) -> list[str]:
    rows = _where_rows("language", report["by_language"])
    return ["Per language", *(columns(["Language", *_WHERE], rows) if rows else ["  no cases"])]


def _weeks_text(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["week"],
            str(r["cases_opened"]),
            _share(r["bot_only_share"]),
            str(r["cases_handed_over"]),
            _minutes(r["median_wait_to_claim_minutes"]),
            _rating(r),
        ]
        for r in report["weekly_trend"][-SHOWN_WEEKS:]
    ]
    header = ["Week", "Cases", "Bot alone", "Handed over", "Median wait", "Rating (n)"]
    weeks = len(report["weekly_trend"])
    title = "Weekly trend (ISO weeks)" + (
        f": the last {SHOWN_WEEKS} of {weeks} (--json or --since for the others)"
        if weeks > SHOWN_WEEKS
        else ""
    )
    return [title, *(columns(header, rows) if rows else ["  no cases"])]


feature.report_section(ReportSection("Per agent", 90, _agents, _agents_text, splits=True))
feature.report_section(ReportSection("Per channel", 91, _channels, _channels_text, splits=True))
feature.report_section(ReportSection("Per language", 92, _languages, _languages_text, splits=True))
feature.report_section(ReportSection("Weekly trend", 93, _weeks, _weeks_text, splits=True))
