"""`/link`: one customer on every channel. A one-time code of 8 letters, valid for
10 minutes and stored only as a digest, joins the identity it is sent from to the
one that asked for it, with their cases' histories; five wrong codes an hour at
most."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.model import CaseState, EventKind, Purpose
from bot.registry import Feature
from bot.turn import Turn

feature = Feature("link")

LINK_MINUTES = 10  # how long a /link code works
LINK_TRIES = 5  # wrong codes a customer may send in an hour
_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def changes_another_customer(command: tuple[str, str] | None) -> bool:
    """Redeeming a code merges two customers: such a turn runs in a transaction of
    its own, never in a group commit with the other customer's turns."""
    return command is not None and command[0] == "link" and bool(command[1])


@feature.command(
    "link", help="join this chat with your other channels, so you are one customer everywhere"
)
async def link(turn: Turn, code: str) -> None:
    customer = turn.customer
    wanted = "".join(ch for ch in code.upper() if ch.isalnum())
    if not wanted:
        fresh = "".join(secrets.choice(_CODE_LETTERS) for _ in range(8))
        expires = turn.now + timedelta(minutes=LINK_MINUTES)
        await turn.tx.links.add_code(customer.id, fresh, turn.now, expires)
        code = f"{fresh[:4]}-{fresh[4:]}"
        # the code is typed on the other channel, whose way of typing a command this
        # one does not know: "\/link" is left as written (see bot.registry)
        await turn.say(
            f"Your code is **{code}**. On your other channel, send me `\\/link {code}`"
            f" (or `!link {code}` where commands start with !) within {LINK_MINUTES}"
            " minutes, and both will be you: one customer, one case. The code works once.",
            note="gave a link code",
        )
        return
    since = turn.now - timedelta(hours=1)
    if await turn.tx.links.failures(customer.id, since) >= LINK_TRIES:
        await turn.say(
            "Too many wrong codes in the last hour, so I'm not trying more for now."
            " Ask for a new code with /link on your other channel and try again later."
        )
        return
    owner = await turn.tx.links.take_code(wanted, turn.now)
    if owner is None:
        await turn.tx.links.add_failure(customer.id, turn.now)
        await turn.say(
            "That code is wrong or has expired. Type /link on your other channel for a"
            " new one, then send it here."
        )
        return
    if owner == customer.id:
        await turn.say(
            "That is this chat's own code: send it from your *other* channel to join them."
        )
        return
    open_case, merged = await turn.tx.merge_customers(owner, customer.id, turn.now)
    keep = await turn.tx.customers.get(owner)
    assert keep is not None
    turn.customer = keep
    case = await turn.tx.cases.get(open_case) if open_case else await turn.tx.cases.latest(owner)
    if case is None:
        case = await turn.tx.cases.new(owner, turn.now)
    turn.case = case
    await turn.record(EventKind.STATE, "linked another channel to this customer", actor="bot")
    joined = f" Case #{merged}'s history is now part of it." if merged else ""
    if merged and case.state in (CaseState.WAITING, CaseState.AGENT):
        turn.to_desk(
            f"🔗 Case #{case.id}: the customer linked another channel;"
            f" case #{merged} was merged into this one.",
            Purpose.LINKED,
        )
    await turn.say(
        f"Linked: this chat and your other channel are now one customer, and your case"
        f" is **#{case.id}**.{joined} I'll reply wherever you write last.",
        note="linked two channels",
    )
