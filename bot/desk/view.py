"""`/open N` on a desk: the whole case for the agent who takes it up (a transferee,
or anyone coming back to it): its card, its history with every text in full, and
the agents' notes. It is the desk's reply to that agent: never the customer's."""

from __future__ import annotations

from collections.abc import Sequence

from bot.desk.desk import Desk
from bot.model import Case, Customer, Event, EventKind

FULL = 20_000  # a timeline text shown whole (customers' messages are far shorter)
HISTORY = 500  # events read for the history; older ones are counted, not shown
# characters of history shown at most, the latest first kept: a customer may write
# 64,000 characters a message, and a desk sends a longer text in pieces (Telegram's
# are 4,096 characters, 20 a minute in a group): one /open must not bury the desk
BUDGET = 60_000


def case_view(
    desk: Desk, case: Case, customer: Customer, channel: str, events: Sequence[Event]
) -> str:
    """The card (without its "Recent" lines), the history and the notes of `case`;
    `events` are its timeline, oldest first."""
    card = desk.card(case, customer, channel, ())
    text = card[0].text if card else f"**Case #{case.id}**"
    lines = [
        f"• {desk.when(e.at)} {line}"
        for e in events
        if (line := desk.describe(e, customer, limit=FULL)) is not None
    ]
    history: list[str] = []
    left = BUDGET
    for line in reversed(lines):  # the latest first, while they fit
        left -= len(line) + 1
        if left < 0 and history:
            break
        history.insert(0, line)
    cut = len(lines) - len(history)
    notes = [
        f"• {desk.when(e.at)} {line}"
        for e in events
        if e.kind is EventKind.NOTE and (line := desk.describe(e, customer, limit=FULL))
    ]
    parts = [text.rstrip()]
    more = " (the latest {n}; older ones are not shown)" if len(events) >= HISTORY else ""
    if cut:
        more = f" (the latest {len(history)} that fit; {cut} older ones are not shown)"
    parts.append("**History:**" + more.format(n=len(events)) + "\n" + "\n".join(history or ["—"]))
    parts.append(
        "**Notes (agents only; the customer never sees them):**\n" + "\n".join(notes or ["none"])
    )
    return "\n\n".join(parts)
