"""`/link`: one customer on every channel. A one-time code of 8 letters, valid for
10 minutes and stored only as a digest, starts joining the identity it is sent from
to the one that asked for it. Nothing is joined yet: the one who entered the code is
asked first, then the one who asked for it, each shown which account is joined to
which; only when both said yes are they one customer, with their cases' histories.
Until then neither sees anything of the other, and replies go where they went. A
"no" from either side, or the wait lapsing, leaves both as they were. Five wrong
codes an hour at most, counted per identity (so `/forget` does not reset them)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from bot.i18n import N_, _, speaking, spoken
from bot.model import (
    Button,
    CaseState,
    Cause,
    Delivery,
    EventKind,
    Outbound,
    PendingLink,
    Purpose,
)
from bot.registry import Feature, pack
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("link")

LINK_MINUTES = 10  # how long a /link code works
CONFIRM_MINUTES = 30  # how long each side has to say yes once the code was entered
LINK_TRIES = 5  # wrong codes an identity may send in an hour
TRIES_WINDOW = timedelta(hours=1)
_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
_SHARING = N_(
    "You will share cases and history: each side sees everything the other wrote to us,"
    " and our replies go wherever you write last. Only say yes if both accounts are"
    " yours"
)
_NOTHING_JOINED = N_(
    "Nothing was joined: that question has expired or was answered already. To join two"
    " chats, type /link in one and send me the code from the other."
)


def changes_another_customer(command: tuple[str, str] | None, payload: str = "") -> bool:
    """Entering a code or answering whether to join touches another customer (asks
    them, or merges two): such a turn runs in a transaction of its own, never in a
    group commit with the other customer's turns."""
    if payload:
        return payload.startswith("link:")
    return command is not None and command[0] == "link" and bool(command[1])


def _account(channel: str, name: str) -> str:
    """How an account is named to the customer: "Telegram account “Ann Lee”"."""
    who = f"“{md_escape(shorten(name, 60))}”" if name else _("(no name given)")
    return _("{platform} account {who}").format(platform=md_escape(channel.title()), who=who)


def _buttons(link_id: int) -> list[Button]:
    return [
        Button(_("Yes, join them"), pack("link", "yes", link_id)),
        Button(_("No"), pack("link", "no", link_id)),
    ]


@feature.command(
    "link", help=N_("join this chat with your other channels, so you are one customer everywhere")
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
        await turn.say_privately(  # whoever reads it could enter it
            _(
                "Your code is **{code}**. On your other channel, send me `\\/link {code}` (or"
                " `!link {code}` where commands start with !) within {minutes} minutes. I'll"
                " ask on both which accounts to join, and nothing is joined before you say yes"
                " on both. The code works once; never give it to anyone."
            ).format(code=code, minutes=LINK_MINUTES),
            note="gave a link code",
        )
        return
    identity = turn.inbound.identity
    if await turn.tx.links.failures(identity, turn.now - TRIES_WINDOW) >= LINK_TRIES:
        await turn.say(
            _(
                "Too many wrong codes in the last hour, so I'm not trying more for now."
                " Ask for a new code with /link on your other channel and try again later."
            )
        )
        return
    owner = await turn.tx.links.take_code(wanted, turn.now)
    asker = None if owner is None else await turn.tx.customers.get(owner)
    where = None if owner is None else await turn.tx.customers.address_of(owner)
    if owner is None or asker is None or where is None:
        await turn.tx.links.add_failure(identity, turn.now)
        await turn.say(
            _(
                "That code is wrong or has expired. Type /link on your other channel for a"
                " new one, then send it here."
            )
        )
        return
    if owner == customer.id:
        await turn.say(
            _("That is this chat's own code: send it from your *other* channel to join them.")
        )
        return
    expires = turn.now + timedelta(minutes=CONFIRM_MINUTES)
    link_id = await turn.tx.links.pend(owner, customer.id, turn.now, expires)
    here, there = _account(turn.address.channel, turn.name), _account(where.channel, asker.name)
    await turn.say(
        _("Join your {here} with the {there}?").format(here=here, there=there)
        + " "
        + _(_SHARING)
        + _(
            "; never for a code someone else gave you. The other account is asked too, and"
            " nothing is joined before both say yes."
        ),
        note="asked to confirm joining another channel",
        buttons=_buttons(link_id),
    )


@feature.button("link", str, int, on_resolved=True)
async def confirm(turn: Turn, fields: tuple[object, ...]) -> None:
    """A yes or no on a pending link, from the side whose turn it is to answer."""
    answer, link_id = fields
    pending = await turn.tx.links.pending(int(str(link_id)), turn.now)
    me = turn.customer.id
    if pending is None or me != (pending.asked_by if pending.entered_yes else pending.entered_by):
        await turn.say_privately(_(_NOTHING_JOINED))
        return
    if answer != "yes":
        await turn.tx.links.drop_pending(pending.id)
        if pending.entered_yes:  # the one who entered the code said yes and waits
            await _tell(
                turn,
                pending.entered_by,
                lambda: _("Your other account did not confirm, so nothing was joined."),
            )
        await turn.say(
            _("All right: nothing was joined, and neither account sees anything of the other."),
            note="declined joining another channel",
        )
        return
    if pending.entered_yes:
        await _join(turn, pending)
    else:
        await _ask_the_asker(turn, pending)


async def _tell(
    turn: Turn, customer_id: int, words: Callable[[], str], link_id: int | None = None
) -> bool:
    """A word on the other side's own case, about the link they are part of (their
    own doing: they asked for the code, or entered it): a case update, where they
    last wrote, in their language (`words()`; with `link_id`, the yes and no buttons).
    False if they cannot be reached."""
    case = await turn.tx.cases.latest(customer_id)
    reached = await turn.tx.customers.reached_as(customer_id)
    other = await turn.tx.customers.get(customer_id)
    if case is None or reached is None or other is None:
        return False
    with speaking(spoken(other.language, turn.settings.languages)):
        text = words()
        buttons = _buttons(link_id) if link_id is not None else []
    address, user_id = reached
    # it names the accounts being joined: for their eyes alone, also in a shared place
    private = Delivery(private=True, private_to="" if address.private else user_id)
    note = "asked to confirm joining another channel" if buttons else shorten(text, 80)
    await turn.tx.timeline.append(case.id, EventKind.BOT, "bot", note, turn.now, {})
    turn.out.append(
        Outbound(
            address=address,
            text=text,
            cause=Cause.CASE_UPDATE,
            customer_id=customer_id,
            case_id=case.id,
            buttons=tuple(buttons),
            delivery=private,
        )
    )
    return True


async def _ask_the_asker(turn: Turn, pending: PendingLink) -> None:
    """The one who entered the code said yes: now the one who asked for it is asked,
    where they asked for it."""
    asker = await turn.tx.customers.get(pending.asked_by)
    where = await turn.tx.customers.address_of(pending.asked_by)
    there = _account(where.channel, asker.name) if asker and where else ""
    here = _account(turn.address.channel, turn.name)
    asked = bool(there) and await _tell(
        turn,
        pending.asked_by,
        lambda: (
            _("Your /link code was entered on the {here}. Join your {there} with it?").format(
                here=here, there=there
            )
            + " "
            + _(_SHARING)
            + _("; if you gave your code to someone else, say no.")
        ),
        pending.id,
    )
    if not asked:
        await turn.tx.links.drop_pending(pending.id)
        await turn.say_privately(_(_NOTHING_JOINED))
        return
    await turn.tx.links.entered_yes(pending.id, turn.now + timedelta(minutes=CONFIRM_MINUTES))
    await turn.say(
        _(
            "Thank you. Now say yes on the {there} too: I've asked there. Nothing is joined"
            " before you do, within {minutes} minutes."
        ).format(there=there, minutes=CONFIRM_MINUTES),
        note="confirmed joining another channel; the other side is asked",
    )


async def _join(turn: Turn, pending: PendingLink) -> None:
    """Both said yes: the one who entered the code joins the one who asked for it."""
    await turn.tx.links.drop_pending(pending.id)
    keep = turn.customer.id
    other = await turn.tx.customers.address_of(pending.entered_by)
    open_case, merged = await turn.tx.merge_customers(keep, pending.entered_by, turn.now)
    case = await turn.tx.cases.get(open_case) if open_case else await turn.tx.cases.latest(keep)
    if case is None:
        case = await turn.tx.cases.new(keep, turn.now)
    turn.case = case
    await turn.record(EventKind.STATE, "linked another channel to this customer", actor="bot")
    joined = (
        " " + _("Case #{merged}'s history is now part of it.").format(merged=merged)
        if merged
        else ""
    )
    if merged and case.state in (CaseState.WAITING, CaseState.AGENT):
        turn.to_desk(
            f"🔗 Case #{case.id}: the customer linked another channel;"
            f" case #{merged} was merged into this one.",
            Purpose.LINKED,
        )
    text = (
        _(
            "Linked: this chat and your other channel are now one customer, and your case"
            " is **#{case}**."
        ).format(case=case.id)
        + joined
        + " "
        + _("I'll reply wherever you write last.")
    )
    await turn.say(text, note="linked two channels")
    if other is not None:  # the other side hears it too, on the case they now share
        turn.out.append(
            Outbound(
                address=other, text=text, cause=Cause.CASE_UPDATE, customer_id=keep, case_id=case.id
            )
        )
