"""The dashboard's overview: the figures of `candor report` for the last 7, 30 or
90 days, by day (by week for 90), as tables, bar charts (SVG) and CSV. The figures
come from the report's own code (`bot.report.read_data`, `figures`, `by_period`):
one code path computes both."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.report import by_agent, by_period, figures, plain_sections, read_data
from bot.report_csv import safe
from bot.store import Store
from bot.web.html import Html, html, join
from bot.web.svg import bar_chart
from bot.web.texts import text

PERIODS = {"7": "day", "30": "day", "90": "week"}
DEFAULT_PERIOD = "30"
TABLES = ("summary", "by_period", "handovers", "unanswered", "agents", "channels", "languages")
Table = tuple[list[str], list[list[object]]]  # the header, the rows


@dataclass(frozen=True, slots=True)
class Overview:
    days: int
    step: str  # "day" or "week"
    totals: dict[str, Any]  # the report's figures for the whole period
    parts: list[tuple[datetime, dict[str, Any]]]  # each day's (week's) start and figures
    agents: list[tuple[str, dict[str, Any]]]  # each agent's figures, of the cases they took


async def overview(store: Store, days: str, now: datetime) -> Overview:
    """The figures of the last `days` days (a key of `PERIODS`: ValueError else),
    from the start of the first day (UTC) to `now`."""
    if days not in PERIODS:
        raise ValueError(text("overview.bad_period"))
    step = PERIODS[days]
    now = now.astimezone(UTC)
    since = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=int(days) - 1)
    data = await read_data(store, since, now)
    stride = timedelta(days=7 if step == "week" else 1)
    starts: list[datetime] = []
    while since + stride * len(starts) <= now:
        starts.append(since + stride * len(starts))
    parts = by_period(data, starts)
    plain = plain_sections()  # a part's figures: not split again
    return Overview(
        int(days),
        step,
        figures(data),
        [(p.since or since, figures(p, plain)) for p in parts],
        [(agent, figures(part, plain)) for agent, part in by_agent(data).items()],
    )


def _value(value: object) -> object:
    return text("overview.none") if value is None else value


def _share(value: float | None) -> object:
    return None if value is None else f"{value:.0%}"


def tables(view: Overview) -> dict[str, Table]:
    """Every table of the page, by name (`TABLES`), as plain values."""
    t = view.totals
    ratings = t.get("ratings", {})
    summary = [
        [text("fig.opened"), t.get("cases_opened")],
        [text("fig.resolved"), t.get("cases_resolved")],
        [text("fig.bot_share"), _share(t.get("bot_only_share"))],
        [text("fig.reply_median"), t.get("median_first_reply_minutes")],
        [text("fig.reply_p90"), t.get("p90_first_reply_minutes")],
        [text("fig.wait_median"), t.get("median_wait_to_claim_minutes")],
        [text("fig.wait_p90"), t.get("p90_wait_to_claim_minutes")],
        [text("fig.resolution"), t.get("median_resolution_minutes")],
        [text("fig.ratings"), ratings.get("count")],
        [text("fig.rating_average"), ratings.get("average")],
    ]
    rows = [
        [
            start.strftime("%Y-%m-%d"),
            f.get("cases_opened"),
            f.get("cases_resolved"),
            _share(f.get("bot_only_share")),
            f.get("median_wait_to_claim_minutes"),
            f.get("median_first_reply_minutes"),
            f.get("ratings", {}).get("average"),
        ]
        for start, f in view.parts
    ]
    columns = ["start", "opened", "resolved", "bot_share", "wait", "reply", "rating"]
    agents = [
        [
            agent,
            f.get("cases_opened"),
            f.get("cases_resolved"),
            f.get("median_wait_to_claim_minutes"),
            f.get("median_first_reply_minutes"),
            f.get("p90_first_reply_minutes"),
            f.get("ratings", {}).get("count"),
            f.get("ratings", {}).get("average"),
        ]
        for agent, f in view.agents
    ]
    agent_columns = [
        "agent",
        "taken",
        "resolved",
        "wait",
        "reply",
        "reply_p90",
        "ratings",
        "rating",
    ]
    return {
        "summary": ([text("col.figure"), text("col.value")], summary),
        "by_period": ([text(f"col.{c}") for c in columns], rows),
        "handovers": (
            [text("col.reason"), text("col.count")],
            [[r["reason"], r["count"]] for r in t.get("handovers_by_reason", [])],
        ),
        "unanswered": (
            [text("col.question"), text("col.count")],
            [[r["question"], r["count"]] for r in t.get("top_unanswered", [])],
        ),
        "agents": ([text(f"col.{c}") for c in agent_columns], agents),
        "channels": _where(t.get("by_channel", []), "channel"),
        "languages": _where(t.get("by_language", []), "language"),
    }


_WHERE_COLUMNS = (
    "opened",
    "bot_share",
    "handed_over",
    "wait",
    "wait_p90",
    "reply",
    "ratings",
    "rating",
)


def _where(rows: Sequence[dict[str, Any]], key: str) -> Table:
    """The report's rows per channel (per language), `candor report`'s very figures."""
    return (
        [text(f"col.{c}") for c in (key, *_WHERE_COLUMNS)],
        [
            [
                r[key],
                r["cases_opened"],
                _share(r["bot_only_share"]),
                r["cases_handed_over"],
                r["median_wait_to_claim_minutes"],
                r["p90_wait_to_claim_minutes"],
                r["median_first_reply_minutes"],
                r["ratings"],
                r["rating_average"],
            ]
            for r in rows
        ],
    )


def _cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows as text: one that would start a
    formula (=, +, -, @, a tab or return) gets a ' before it (as `candor report --csv`)."""
    return str(safe("" if value is None else str(value)))


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header, rows = table
    writer.writerow([_cell(h) for h in header])
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def table(
    name: str,
    table: Table,
    days: int,
    caption: str,
    *,
    csv_path: str = "/dashboard/csv",
    nothing: str = "",
) -> Html:
    """A table with its caption and the link to its CSV (`csv_path`); `nothing` is said
    in it when it has no rows ("Nothing in this period" by default)."""
    header, rows = table
    head = join([html('<th scope="col">{h}</th>', h=h) for h in header], "")
    body = join(
        [
            html("<tr>{cells}</tr>", cells=join([html("<td>{v}</td>", v=_value(v)) for v in r], ""))
            for r in rows
        ]
    )
    if not rows:
        body = html(
            '<tr><td colspan="{n}">{t}</td></tr>',
            n=len(header),
            t=nothing or text("overview.nothing"),
        )
    return html(
        '<div class="table"><table id="table-{name}">\n<caption>{caption}</caption>\n'
        "<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
        '<p class="csv"><a href="{path}?days={days}&amp;table={name}"'
        ' download="candor-{name}-{days}d.csv">{csv}</a></p></div>',
        name=name,
        caption=caption,
        head=head,
        body=body,
        path=csv_path,
        days=days,
        csv=text("overview.csv"),
    )


def _numbers(parts: Sequence[tuple[datetime, dict[str, Any]]], key: str) -> list[float | None]:
    return [f.get(key) for _, f in parts]


def period_form(view: Overview, action: str) -> Html:
    """The choice of period, sent back to the same page (no script)."""
    options = join(
        [
            html(
                '<option value="{v}"{sel}>{label}</option>',
                v=days,
                sel=Html(" selected") if days == str(view.days) else Html(""),
                label=text("overview.days", days=days),
            )
            for days in PERIODS
        ],
        "",
    )
    return html(
        '<form method="get" action="{action}" class="period"><label>{label} '
        '<select name="days">{options}</select></label> <button type="submit">{show}</button>'
        "</form>",
        action=action,
        label=text("overview.period"),
        options=options,
        show=text("overview.show"),
    )


def render_overview(view: Overview) -> Html:
    """The overview's body: the period form, the charts with their tables."""
    step = text(f"overview.{view.step}")
    period = text("overview.days", days=view.days)
    form = period_form(view, "/dashboard")
    made = tables(view)
    labels = [start.strftime("%m-%d") for start, _ in view.parts]
    cases = bar_chart(
        "cases",
        text("overview.cases_chart", step=step),
        text("overview.cases_desc", step=step, period=period),
        labels,
        [
            (text("col.opened"), _numbers(view.parts, "cases_opened")),
            (text("col.resolved"), _numbers(view.parts, "cases_resolved")),
        ],
        "cases",
    )
    waits = bar_chart(
        "waits",
        text("overview.times_chart", step=step),
        text("overview.times_desc", step=step, period=period),
        labels,
        [
            (text("col.wait"), _numbers(view.parts, "median_wait_to_claim_minutes")),
            (text("col.reply"), _numbers(view.parts, "median_first_reply_minutes")),
        ],
        "minutes",
    )
    by = text("overview.by_step", step=step)
    return join(
        [
            form,
            html("<h2>{t}</h2>", t=text("overview.summary")),
            table("summary", made["summary"], view.days, period),
            html("<h2>{t}</h2>", t=by),
            html('<figure class="plot">{svg}</figure>', svg=cases),
            html('<figure class="plot">{svg}</figure>', svg=waits),
            table("by_period", made["by_period"], view.days, f"{by}, {period}"),
            html("<h2>{t}</h2>", t=text("overview.handovers")),
            table("handovers", made["handovers"], view.days, period),
            html("<h2>{t}</h2>", t=text("overview.unanswered")),
            table("unanswered", made["unanswered"], view.days, period),
        ]
    )


def render_agents(view: Overview) -> Html:
    """The per-agent page's body: the period form, a chart and its table."""
    period = text("overview.days", days=view.days)
    names = [agent for agent, _ in view.agents]
    chart = bar_chart(
        "agents",
        text("agents.chart"),
        text("agents.desc", period=period),
        names,
        [
            (text("col.taken"), [f.get("cases_opened") for _, f in view.agents]),
            (text("col.resolved"), [f.get("cases_resolved") for _, f in view.agents]),
        ],
        "cases",
    )
    return join(
        [
            period_form(view, "/dashboard/agents"),
            html("<p>{t}</p>", t=text("agents.intro", period=period)),
            html('<figure class="plot">{svg}</figure>', svg=chart),
            table("agents", tables(view)["agents"], view.days, period),
        ]
    )


def _where_chart(ident: str, view: Overview, key: str) -> Html:
    rows = view.totals.get(f"by_{key}", [])
    period = text("overview.days", days=view.days)
    return bar_chart(
        ident,
        text(f"where.{key}_chart"),
        text(f"where.{key}_desc", period=period),
        [str(r[key]) for r in rows],
        [
            (text("col.opened"), [r["cases_opened"] for r in rows]),
            (text("col.bot_alone"), [r["bot_alone"] for r in rows]),
            (text("col.handed_over"), [r["cases_handed_over"] for r in rows]),
        ],
        "cases",
    )


def render_channels(view: Overview) -> Html:
    """The page per channel and language: the period form, for each a chart and its
    table (the rows of `candor report`'s "Per channel" and "Per language")."""
    period = text("overview.days", days=view.days)
    made = tables(view)
    return join(
        [
            period_form(view, "/dashboard/channels"),
            html("<p>{t}</p>", t=text("where.intro", period=period)),
            html("<h2>{t}</h2>", t=text("where.channels")),
            html(
                '<figure class="plot">{svg}</figure>', svg=_where_chart("channels", view, "channel")
            ),
            table("channels", made["channels"], view.days, period),
            html("<h2>{t}</h2>", t=text("where.languages")),
            html(
                '<figure class="plot">{svg}</figure>',
                svg=_where_chart("languages", view, "language"),
            ),
            table("languages", made["languages"], view.days, period),
        ]
    )
