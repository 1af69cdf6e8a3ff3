"""`/status`: the case, what has happened on it (never internal notes), any known
problem the customer follows, and what happens next."""

from __future__ import annotations

from bot.features import handover, incidents
from bot.model import CaseState, Event, EventKind, IncidentState
from bot.registry import Feature
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("status")


@feature.command("status", help="see your case: what has happened and what happens next")
async def status(turn: Turn, args: str) -> None:
    case = turn.case
    state_words = {
        CaseState.BOT: "open, handled by the bot",
        CaseState.WAITING: "waiting for a person",
        CaseState.AGENT: f"with {md_escape(case.agent or 'a person')} from support",
        CaseState.RESOLVED: "resolved",
    }[case.state]
    lines = [f"**Case #{case.id}**: {state_words}. Opened {turn.when(case.opened_at)}."]
    if case.subject:
        lines.append(f"About: “{md_escape(shorten(case.subject, 120))}”")
    history = [
        f"• {turn.when(e.at)}: {line}"
        for e in await turn.timeline(200)
        if (line := describe(e)) is not None
    ]
    if history:
        lines.append("\nWhat has happened:")
        if len(history) > 10:
            lines.append(f"(… {len(history) - 10} earlier entries)")
        lines.extend(history[-10:])
    for number in await turn.tx.incidents.subscriptions(turn.customer.id):
        incident = await turn.tx.incidents.get(number)
        if incident is not None and incident.state is IncidentState.OPEN:
            when = turn.when(incident.latest_at or incident.opened_at)
            lines.append("\n" + incidents.describe(incident, when))
    lines.append("\nWhat happens next: " + await _next(turn))
    await turn.say_privately("\n".join(lines), note="status shown")


def describe(event: Event) -> str | None:
    """A line of the customer's view of the timeline (internal notes never)."""
    text = md_escape(shorten(event.text, 70))
    kind = event.kind
    if kind is EventKind.CUSTOMER:
        if event.data.get("command") or event.data.get("button") or not event.text:
            return None
        return f"you wrote “{text}”"
    if kind is EventKind.ATTACHMENT:
        return "you sent a file"
    if kind is EventKind.ANSWER:
        return f"I answered with the article “{text}”"
    if kind is EventKind.CLARIFY:
        return "I asked which topic you meant"
    if kind is EventKind.UNKNOWN:
        return "I said I didn't know"
    if kind is EventKind.HANDOVER:
        return f"your case went to the queue for a person ({text})"
    if kind is EventKind.CLAIM:
        return f"{md_escape(event.actor)} from support took your case"
    if kind is EventKind.AGENT:
        return f"{md_escape(event.actor)} wrote “{text}”"
    if kind is EventKind.STATE:
        return shorten(event.text, 70)  # the bot's own words, nothing to escape
    if kind is EventKind.RATING:
        return "you rated the help" if "score" in event.data else "you commented on it"
    return None


async def _next(turn: Turn) -> str:
    case = turn.case
    if case.state is CaseState.BOT:
        if handover.offered(turn):
            return "confirm the summary I showed you, and a person will take your case."
        return "ask me anything, or type /human and a person will take your case."
    if case.state is CaseState.WAITING:
        return await turn.desk.waiting_words(turn.tx, case, turn.now)
    if case.state is CaseState.AGENT:
        return f"{md_escape(case.agent or 'a person')} from support will reply here."
    return "nothing: the case is resolved. Write again if it isn't, and it reopens."
