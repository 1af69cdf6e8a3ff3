"""A resolved case the customer writes about again comes back to its agent.

Within the reopen window (`[cases] reopen_window_hours`), a case that had an agent
when it was resolved goes back to them when they are on duty (`bot.duty`): it is
theirs again at once (state AGENT), the customer is told who has it (agents' names
are what customers already see: "Maria from support"), and the desk gets the card
saying it came back to them. When they are not on duty, it goes into the queue,
handed over with the reason "reopened: was with NAME", so its card names them. A
case no agent had reopens with the bot, as before. Whoever resolved it is named on
the desk in every case.
"""

from __future__ import annotations

from dataclasses import replace

from bot.desk.desk import AGAIN
from bot.features.handover import REOPENED_WAS_WITH
from bot.i18n import _
from bot.model import Case, CaseState, EventKind, Purpose
from bot.text import md_escape
from bot.turn import Turn

RESOLVED_BY = "resolved by "  # the event `/resolve` records (`bot.desk.commands`)


async def resolver(turn: Turn) -> str:
    """The agent who resolved the case last ("" if none did)."""
    for event in reversed(await turn.timeline(100)):
        if event.kind is EventKind.STATE and event.text.startswith(RESOLVED_BY):
            return event.actor
    return ""


async def to_a_person(turn: Turn, before: Case) -> bool:
    """`turn.case` was just reopened (with the bot); `before` is how it was resolved.
    Returns True when it went to a person (the agent, or the queue naming them)."""
    by = await resolver(turn)
    # the desk's words: English, whatever the customer speaks
    at = f" at {turn.desk.when(before.resolved_at)}" if before.resolved_at else ""
    resolved = f"{md_escape(by)} resolved it{at}" if by else f"it was resolved{at}"
    name = before.agent
    if not name:
        if by:  # the one who resolved it hears it came back, though the bot has it now
            turn.to_desk(
                f"🔁 Case #{turn.case.id} was reopened by the customer ({resolved}):"
                " it is with the bot again.",
                Purpose.REOPENED,
            )
        return False
    if name in await turn.desk.on_duty(turn.tx, turn.now):
        await _back_to(turn, name, resolved)
    else:
        await _to_the_queue(turn, name, resolved)
    return True


async def _cards(turn: Turn, heading: str) -> None:
    """The case's card on every desk (`Desk.handed_over`), headed by `heading` instead
    of "Handed over again" (which desk it came back to, whose it was)."""
    cards = await turn.desk.handed_over(
        turn.tx, turn.case, turn.customer, turn.address.channel, await turn.timeline(30)
    )
    for message in cards:
        if message.delivery.purpose is Purpose.CARD:
            body = message.text.removeprefix(AGAIN)
            message = replace(message, text=f"{heading}\n\n{body}")
        turn.out.append(message)


async def _back_to(turn: Turn, name: str, resolved: str) -> None:
    await turn.save_case(state=CaseState.AGENT, agent=name)
    await turn.record(EventKind.STATE, f"back with {name}: reopened in the window", actor="bot")
    heading = (
        f"🔁 Case #{turn.case.id} came back to you, {md_escape(name)}: the customer wrote"
        f" again, and {resolved}. It is yours again."
    )
    await _cards(turn, heading)
    await turn.say(
        _("**{agent}** from support has your case #{case} again and will reply here.").format(
            agent=md_escape(name), case=turn.case.id
        ),
        note=f"told the customer {name} has the case again",
    )


async def _to_the_queue(turn: Turn, name: str, resolved: str) -> None:
    reason = REOPENED_WAS_WITH + name
    await turn.save_case(
        state=CaseState.WAITING,
        handover_reason=reason,
        handed_over_at=turn.now,
        claimed_at=None,  # its wait to be claimed starts now
        alerted_at=None,
        pending_reason="",
        draft_summary="",
    )
    await turn.record(EventKind.HANDOVER, reason, actor="bot", summary=turn.case.summary)
    heading = (
        f"🔁 Case #{turn.case.id} is back in the queue, previously with {md_escape(name)}"
        f" (not on duty now): the customer wrote again, and {resolved}."
    )
    await _cards(turn, heading)
    await turn.say(
        _(
            "Your case #{case} is open again. {agent}, who had it, isn't at the desk right"
            " now, so it's in the queue for the next person."
        ).format(case=turn.case.id, agent=md_escape(name)),
        note="told the customer the reopened case is in the queue",
    )
