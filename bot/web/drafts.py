"""The dashboard's "Unanswered questions and knowledge drafts" page: the questions
the bot could not answer in a period (the report's figures, `bot.report`), and the
agents' drafts (knowledge/drafts, written by `/article` on the desk) with how often
their question was asked in it (the count `candor kb drafts` gives:
bot/knowledge/drafts.py `draft_counts`). Both tables download as CSV."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.knowledge.articles import load_articles
from bot.knowledge.drafts import DraftCount, draft_counts, load_drafts
from bot.model import Event
from bot.report import figures, read_data
from bot.store import Store
from bot.web.html import Html, html, join
from bot.web.overview import PERIODS, Overview, Table, period_form, table, to_csv
from bot.web.texts import text

DRAFTS_PATH = "/dashboard/drafts"
DRAFT_TABLES = ("unanswered", "drafts")


@dataclass(frozen=True, slots=True)
class DraftsView:
    days: int
    unanswered: list[tuple[str, int]]  # the period's top unanswered questions, counted
    drafts: list[DraftCount]  # most asked first
    problems: list[str]  # drafts that cannot be read (kb check says more)


def _counted(knowledge: Path | None, events: Sequence[Event]) -> tuple[list[DraftCount], list[str]]:
    if knowledge is None or not knowledge.is_dir():
        return [], []
    articles, _ = load_articles(knowledge)
    drafts, problems = load_drafts(knowledge)
    return draft_counts(articles, drafts, events), [str(p) for p in problems]


async def drafts_view(store: Store, knowledge: Path | None, days: str, now: datetime) -> DraftsView:
    """The page's figures for the last `days` days (a key of `PERIODS`: ValueError
    else), from the start of the first day (UTC) to `now`."""
    if days not in PERIODS:
        raise ValueError(text("overview.bad_period"))
    now = now.astimezone(UTC)
    since = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=int(days) - 1)
    data = await read_data(store, since, now)
    top = figures(data).get("top_unanswered", [])
    unanswered = [(str(q["question"]), int(q["count"])) for q in top]
    # reading files and matching every message: off the event loop
    drafts, problems = await asyncio.to_thread(_counted, knowledge, data.events)
    return DraftsView(int(days), unanswered, drafts, problems)


def draft_tables(view: DraftsView) -> dict[str, Table]:
    """The page's tables by name (`DRAFT_TABLES`), as plain values."""
    return {
        "unanswered": (
            [text("col.question"), text("col.count")],
            [[q, n] for q, n in view.unanswered],
        ),
        "drafts": (
            [
                text("col.draft"),
                text("col.question"),
                text("col.asked"),
                text("col.unanswered"),
                text("col.file"),
            ],
            [
                [
                    r.draft.id,
                    r.draft.questions[0] if r.draft.questions else r.draft.title,
                    r.asked,
                    r.unanswered,
                    r.draft.path.name if r.draft.path else "",
                ]
                for r in view.drafts
            ],
        ),
    }


def drafts_csv(view: DraftsView, name: str) -> str:
    return to_csv(draft_tables(view)[name])


def _table(name: str, made: Table, days: int, caption: str) -> Html:
    return table(
        name,
        made,
        days,
        caption,
        csv_path=DRAFTS_PATH + "/csv",
        nothing=text(f"drafts.none_{name}"),
    )


def render_drafts(view: DraftsView) -> Html:
    """The page's body: the period form, the unanswered questions, the drafts."""
    period = text("overview.days", days=view.days)
    made = draft_tables(view)
    problems = [html("<li><code>{p}</code></li>", p=p) for p in view.problems]
    return join(
        [
            period_form(Overview(view.days, "day", {}, [], []), DRAFTS_PATH),
            html("<h2>{t}</h2>", t=text("overview.unanswered")),
            _table("unanswered", made["unanswered"], view.days, period),
            html("<h2>{t}</h2>", t=text("drafts.heading")),
            html("<p>{t}</p>", t=text("drafts.intro")),
            _table("drafts", made["drafts"], view.days, text("drafts.caption", period=period)),
            *(
                [
                    html(
                        "<p>{t}</p>\n<ul>{items}</ul>",
                        t=text("drafts.problems"),
                        items=join(problems),
                    )
                ]
                if problems
                else []
            ),
        ]
    )
