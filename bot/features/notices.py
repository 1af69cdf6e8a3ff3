"""Notices on the customer's terms: `/mute` (until they write again, or for a
time), `/unmute`, and `/quiet` hours. Only notices (incidents, ideas) wait;
replies about their case never do. The outbox holds them (`bot.outbox`)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.features import community
from bot.i18n import N_, _
from bot.model import InboundKind, Outbound
from bot.registry import Feature
from bot.store import Transaction
from bot.turn import Turn

feature = Feature("notices")

_DURATION = re.compile(r"(\d{1,4})\s*(m|min|h|hours?|d|days?)")
_HOURS = re.compile(r"(\d{1,2}):?(\d{2})\s*-\s*(\d{1,2}):?(\d{2})")


def duration(spell: str) -> timedelta | None:
    """ "8h", "30m", "2d" → a timedelta (at most 30 days)."""
    found = _DURATION.fullmatch(spell)
    if found is None:
        return None
    unit = {"m": "minutes", "h": "hours", "d": "days"}[found[2][0]]
    length = timedelta(**{unit: int(found[1])})
    return length if timedelta(0) < length <= timedelta(days=30) else None


def quiet_end(hours: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When quiet hours "22:00-07:00" (local time) end, if `now` is inside them."""
    try:
        start_text, end_text = hours.split("-")
        start = time.fromisoformat(start_text.strip())
        end = time.fromisoformat(end_text.strip())
    except ValueError:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside or start == end:
        return None
    finish = datetime.combine(local.date(), end, tzinfo=tz)
    if finish <= local:
        finish += timedelta(days=1)
    return finish.astimezone(now.tzinfo)


@feature.holds_notices
async def hold(tx: Transaction, message: Outbound, now: datetime) -> datetime | None:
    """A notice waits while its customer muted notices or is in quiet hours (`now`
    is in the bot's time zone, which quiet hours are given in)."""
    assert message.customer_id is not None
    muted_until, until_write, quiet = await tx.notices.quiet_of(message.customer_id)
    if until_write:
        return now + timedelta(days=365)  # released when they write again
    if muted_until is not None and muted_until > now:
        return muted_until
    if quiet:
        assert isinstance(now.tzinfo, ZoneInfo)
        return quiet_end(quiet, now, now.tzinfo)
    return None


@feature.on_arrival
async def release_on_write(turn: Turn) -> None:
    """ "/mute" lasts until they write again: a message (a command too) is that."""
    if turn.inbound.kind is not InboundKind.MESSAGE:
        return
    _muted, until_write, _hours = await turn.tx.notices.quiet_of(turn.customer.id)
    if until_write:
        await turn.tx.notices.set_quiet(turn.customer.id, muted_until=None, until_write=False)
        await turn.tx.notices.release(turn.customer.id, turn.now)


@feature.command(
    "mute",
    help=N_("pause notices (incidents, ideas) until you write again, or for a time: /mute 8h"),
)
async def mute(turn: Turn, args: str) -> None:
    spell = args.strip().lower()
    customer = turn.customer.id
    if spell == "community":  # the offer of community places, until /unmute community
        await community.turn_off(turn, True)
        return
    if spell == "off":
        await unmute(turn, "")
        return
    if not spell:
        await turn.tx.notices.set_quiet(customer, muted_until=None, until_write=True)
        await turn.say(
            _(
                "Notices (incidents, ideas) are paused until you write to me again. Replies"
                " about your case still come. /unmute turns them on now."
            )
        )
        return
    length = duration(spell)
    if length is None:
        await turn.say(_("Give a time like /mute 8h, /mute 30m or /mute 2d (or just /mute)."))
        return
    until = turn.now + length
    await turn.tx.notices.set_quiet(customer, muted_until=until, until_write=False)
    await turn.say(
        _(
            "Notices are paused until {when}; held ones come then, in one message. Replies"
            " about your case still come."
        ).format(when=turn.when(until))
    )


@feature.command("unmute", help=N_("notices on again; held ones come now"))
async def unmute(turn: Turn, args: str) -> None:
    if args.strip().lower() == "community":
        await community.turn_off(turn, False)
        return
    await turn.tx.notices.set_quiet(turn.customer.id, muted_until=None, until_write=False)
    await turn.tx.notices.release(turn.customer.id, turn.now)
    await turn.say(_("Notices are on again; anything held back comes now."))


@feature.command("quiet", help=N_("quiet hours for notices, like /quiet 22:00-07:00 (/quiet off)"))
async def quiet(turn: Turn, args: str) -> None:
    spell = args.strip().lower()
    customer = turn.customer.id
    muted_until, until_write, _hours = await turn.tx.notices.quiet_of(customer)
    if spell in ("off", "none", ""):
        await turn.tx.notices.set_quiet(
            customer, muted_until=muted_until, until_write=until_write, quiet_hours=""
        )
        await turn.say(_("No quiet hours: notices come when they happen."))
        return
    found = _HOURS.fullmatch(spell)
    if found is None or int(found[1]) > 23 or int(found[3]) > 23:
        await turn.say(_("Give quiet hours like /quiet 22:00-07:00, or /quiet off."))
        return
    hours = f"{int(found[1]):02d}:{found[2]}-{int(found[3]):02d}:{found[4]}"
    await turn.tx.notices.set_quiet(
        customer, muted_until=muted_until, until_write=until_write, quiet_hours=hours
    )
    await turn.say(
        _(
            "Quiet hours set: {hours} ({zone}). Notices that come then wait until the"
            " morning; replies about your case are never held."
        ).format(hours=hours, zone=turn.settings.timezone)
    )
