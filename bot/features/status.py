"""`/status`: the case, what has happened on it (never internal notes), any known
problem the customer follows, and what happens next."""

from __future__ import annotations

import re

from bot.features import handover, wrote_first
from bot.i18n import ENGLISH, N_, _, current, ngettext
from bot.model import CaseState, Event, EventKind, IncidentState
from bot.registry import Feature
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("status")


@feature.command("status", help=N_("see your case: what has happened and what happens next"))
async def status(turn: Turn, args: str) -> None:
    case = turn.case
    state_words = {
        CaseState.BOT: _("open, handled by the bot"),
        CaseState.WAITING: _("waiting for a person"),
        CaseState.AGENT: _("with {agent} from support").format(
            agent=md_escape(case.agent or _("a person"))
        ),
        CaseState.RESOLVED: _("resolved"),
    }[case.state]
    lines = [
        _("**Case #{case}**: {state}. Opened {when}.").format(
            case=case.id, state=state_words, when=turn.when(case.opened_at)
        )
    ]
    if case.subject:
        lines.append(_("About: “{subject}”").format(subject=md_escape(shorten(case.subject, 120))))
    history = [
        f"• {turn.when(e.at)}: {line}"
        for e in await turn.timeline(200)
        if (line := describe(e)) is not None
    ]
    if history:
        lines.append("\n" + _("What has happened:"))
        if len(history) > 10:
            earlier = len(history) - 10
            lines.append(
                ngettext("(… {n} earlier entry)", "(… {n} earlier entries)", earlier).format(
                    n=earlier
                )
            )
        lines.extend(history[-10:])
    for number in await turn.tx.incidents.subscriptions(turn.customer.id):
        incident = await turn.tx.incidents.get(number)
        if incident is not None and incident.state is IncidentState.OPEN:
            when = turn.when(incident.latest_at or incident.opened_at)
            lines.append("\n" + wrote_first.describe(incident, when))
    lines.append("\n" + _("What happens next:") + " " + await _next(turn))
    await turn.say_privately("\n".join(lines), note="status shown")


# What the timeline says of a change of state (in English, as the desk reads it), as
# the customer's language says it: fixed lines, and lines with a name or a number.
_FIXED_STATES = (
    N_("linked another channel to this customer"),
    N_("reopened: the customer wrote again"),
)
_STATES = (
    (re.compile(r"opened; the earlier case was #(?P<case>\d{1,18})"),
     N_("opened; the earlier case was #{case}")),
    (re.compile(r"resolved by (?P<agent>.{1,200})"), N_("resolved by {agent}")),
    (re.compile(r"handed back to the bot by (?P<agent>.{1,200})"),
     N_("handed back to the bot by {agent}")),
    (re.compile(r"transferred from (?P<before>.{1,200}?) to (?P<after>.{1,200})"),
     N_("transferred from {before} to {after}")),
)  # fmt: skip


def state_line(text: str) -> str:
    """A change of state's line on the timeline, in the customer's language."""
    if text in _FIXED_STATES:
        return _(text)
    for pattern, words in _STATES:
        found = pattern.fullmatch(text)
        if found:
            return _(words).format(**found.groupdict())
    return text


def describe(event: Event) -> str | None:
    """A line of the customer's view of the timeline (internal notes never)."""
    text = md_escape(shorten(event.text, 70))
    kind = event.kind
    if kind is EventKind.CUSTOMER:
        if event.data.get("command") or event.data.get("button") or not event.text:
            return None
        return _("you wrote “{text}”").format(text=text)
    if kind is EventKind.ATTACHMENT:
        return _("you sent a file")
    if kind is EventKind.ANSWER:
        return _("I answered with the article “{title}”").format(title=text)
    if kind is EventKind.CLARIFY:
        return _("I asked which topic you meant")
    if kind is EventKind.UNKNOWN:
        return _("I said I didn't know")
    if kind is EventKind.HANDOVER:
        went = _("your case went to the queue for a person")
        # the reason is the desk's words (English): shown as it is to those who read it
        return f"{went} ({text})" if current() == ENGLISH else went
    if kind is EventKind.CLAIM:
        return _("{agent} from support took your case").format(agent=md_escape(event.actor))
    if kind is EventKind.AGENT:
        return _("{agent} wrote “{text}”").format(agent=md_escape(event.actor), text=text)
    if kind is EventKind.STATE:
        return shorten(state_line(event.text), 70)
    if kind is EventKind.RATING:
        return _("you rated the help") if "score" in event.data else _("you commented on it")
    return None


async def _next(turn: Turn) -> str:
    case = turn.case
    if case.state is CaseState.BOT:
        if handover.offered(turn):
            return _("confirm the summary I showed you, and a person will take your case.")
        return _("ask me anything, or type /human and a person will take your case.")
    if case.state is CaseState.WAITING:
        return await turn.desk.waiting_words(turn.tx, case, turn.now)
    if case.state is CaseState.AGENT:
        return _("{agent} from support will reply here.").format(
            agent=md_escape(case.agent or _("a person"))
        )
    return _("nothing: the case is resolved. Write again if it isn't, and it reopens.")
