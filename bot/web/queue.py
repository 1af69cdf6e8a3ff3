"""The dashboard's queue now: the cases waiting for a person or with one, as the
desk's `/cases` lists them; the page refreshes itself (no script: a meta refresh)."""

from __future__ import annotations

from datetime import datetime

from bot.model import CaseState
from bot.store import Store
from bot.web.html import Html, html, join, time_tag
from bot.web.texts import text

REFRESH_SECONDS = 30


async def queue_rows(store: Store) -> list[tuple[int, str, str, datetime, str]]:
    """(case, customer's name, state, waiting since, handover reason), as queued."""
    rows = []
    async with store.transaction() as tx:
        for case in await tx.cases.queue():
            customer = await tx.customers.get(case.customer_id)
            name = customer.name if customer and customer.name else "a customer"
            state = "waiting" if case.state is CaseState.WAITING else f"with {case.agent}"
            since = case.handed_over_at or case.updated_at
            rows.append((case.id, name, state, since, case.handover_reason))
    return rows


def render_queue(rows: list[tuple[int, str, str, datetime, str]]) -> Html:
    note = html('<p class="meta">{t}</p>', t=text("queue.refresh", seconds=REFRESH_SECONDS))
    if not rows:
        return join([note, html('<p class="banner ok">{t}</p>', t=text("queue.empty"))])
    header = ["case", "customer", "state", "waiting", "reason"]
    head = join([html('<th scope="col">{h}</th>', h=text(f"col.{h}")) for h in header], "")
    body = join(
        [
            html(
                "<tr><td>#{case}</td><td>{name}</td><td>{state}</td><td>{since}</td>"
                "<td>{reason}</td></tr>",
                case=case,
                name=name,
                state=state,
                since=time_tag(since),
                reason=reason,
            )
            for case, name, state, since, reason in rows
        ]
    )
    return join(
        [
            note,
            html(
                '<div class="table"><table id="table-queue"><thead><tr>{head}</tr></thead>'
                "<tbody>\n{body}\n</tbody></table></div>",
                head=head,
                body=body,
            ),
        ]
    )
