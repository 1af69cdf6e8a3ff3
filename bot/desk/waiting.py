"""What a customer in the queue is told: their place, an honest estimate of the wait
(`bot.waits`) or that there is no basis for one, and when people are back if the
desk is closed (a holiday said as such)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot import waits
from bot.i18n import _, ngettext
from bot.model import Case, Outbound, Purpose
from bot.store import Transaction
from bot.text import md_escape

if TYPE_CHECKING:
    from bot.desk.desk import Desk


def minutes(seconds: float) -> str:
    """A wait in words, in the language of the context (the desk's is English)."""
    value = max(1, round(seconds / 60))
    if value < 90:
        return ngettext("{n} minute", "{n} minutes", value).format(n=value)
    hours = round(value / 60)
    return ngettext("{n} hour", "{n} hours", hours).format(n=hours)


def span(low: float, high: float) -> str:
    """A range of seconds in words, rounded as people say it: "20–30 minutes",
    "2–3 hours", or one figure when both ends round alike."""
    first, last = waits.rounded(low), waits.rounded(high)
    if last >= 90:
        first, last = max(1, round(first / 60)), max(1, round(last / 60))
        if first == last:
            return minutes(last * 3600)
        return ngettext("{low}–{high} hour", "{low}–{high} hours", last).format(
            low=first, high=last
        )
    if first == last:
        return minutes(last * 60)
    return ngettext("{low}–{high} minute", "{low}–{high} minutes", last).format(
        low=first, high=last
    )


async def words(desk: Desk, tx: Transaction, case: Case, now: datetime) -> str:
    """Place in the queue, an honest estimate (`bot.waits`) or that there is no
    basis for one, and business hours: when people are back if nobody is there."""
    position = await tx.cases.queue_position(case)
    parts = [_("You're number {position} in the queue.").format(position=position)]
    if not desk.agents:  # (`candor doctor` warns of it): no reply can be promised
        parts.append(
            _(
                "Nobody at the desk can take cases yet: the team has not set up its"
                " people. Your case is kept, with everything you've told me."
            )
        )
        return " ".join(parts)
    claims = await tx.cases.recent_claims(now - waits.HORIZON)
    agents = await desk.on_duty(tx, now)
    found = waits.estimate(
        claims, position=position, on_duty=len(agents), hours=desk.hours, now=now
    )
    is_open = desk.hours.is_open(now)
    if not is_open:
        back = desk.hours.describe_next_open(now)
        if desk.hours.is_closed_day(now):
            closed = _("The desk is closed today (holiday); people are back {when}.")
        else:
            closed = _("Nobody is at the desk right now; people are back {when}.")
        parts.append(closed.format(when=back))
    if found is None:
        parts.append(
            _(
                "There's no basis for an estimate of the wait yet: too few people have"
                " picked up cases lately."
            )
        )
    elif found.closes_first and found.ends is not None:
        parts.append(
            _(
                "With the usual wait of {wait} and the desk closed in between, a person"
                " will likely pick up by {when}."
            ).format(wait=span(found.low, found.high), when=desk.hours.describe(found.ends, now))
        )
    else:
        said = (
            _("A person usually picks up in about {wait}.")
            if is_open
            else _("Once the desk opens, a person usually picks up in about {wait}.")
        )
        parts.append(said.format(wait=span(found.low, found.high)))
    parts.append(_("You don't need to write again: the reply will come here."))
    return " ".join(parts)


async def came_back(desk: Desk, tx: Transaction, now: datetime) -> list[Outbound]:
    """Raise again on the desk a reopened case given back to its agent that has had no
    reply from them within the alert time (they may have gone home since acting on
    the desk: "on duty" can only guess), once for each time it came back."""
    messages: list[Outbound] = []
    for case, back in await tx.cases.came_back_unanswered(now - desk.waiting_alert):
        agent = md_escape(case.agent)
        messages += desk.to_desk(
            case,
            f"⏰ **Case #{case.id}** came back to {agent} {minutes((now - back).total_seconds())}"
            f" ago and has no reply yet. {agent}: reply here; anyone else: /transfer"
            f" YOUR-NAME {case.id} takes it.",
            purpose=Purpose.REMINDER,
        )
        await tx.cases.update(replace(case, alerted_at=now))
    return messages
