"""Replies that are not getting through, in `candor report`: the outbox never gives
a reply to a customer up for an error that may pass, and tells the desk when one is
stuck (see `bot.outbox`); the report lists them as well, by case."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bot.registry import Feature
from bot.report import ReportData, ReportSection, line

feature = Feature("delivery")


def _undelivered(data: ReportData) -> dict[str, Any]:
    rows = [
        {
            "case": row.case_id,
            "state": "stuck" if row.state == "pending" else "failed",
            "since": row.since.astimezone(UTC).isoformat(),
            "attempts": row.attempts,
            "error": row.error,
        }
        for row in data.undelivered
    ]
    return {"undelivered_replies": rows}


def _undelivered_text(report: dict[str, Any]) -> list[str]:
    rows = report.get("undelivered_replies") or []
    if not rows:
        return ["Replies not getting through", "  none"]
    out = [
        "Replies not getting through",
        line("Stuck (still tried)", sum(r["state"] == "stuck" for r in rows)),
        line("Failed (given up)", sum(r["state"] == "failed" for r in rows)),
    ]
    for row in rows[:20]:
        case = f"case #{row['case']}" if row["case"] is not None else "no case"
        since = row["since"][:16].replace("T", " ")
        error = " ".join(str(row["error"]).split())[:60]
        out.append(f"  {case}: {row['state']} since {since} UTC, {row['attempts']} tries: {error}")
    return out


feature.report_section(
    ReportSection("Replies not getting through", 80, _undelivered, _undelivered_text)
)
