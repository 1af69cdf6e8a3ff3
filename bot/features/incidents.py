"""Incidents: agents declare what is wrong; customers who write about it hear of it
at once and are told of every update until it is fixed.

Desk commands (`!` instead of `/` on Slack):

    /incident TITLE | WHAT IS AFFECTED | word, word, ...   declare one
                  (article:ID among the words: questions that article answers)
    /incident update N TEXT                                   post an update
    /incident resolve N [TEXT]                                it is fixed
    /incidents                                                the open ones
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.desk.turn import DeskTurn
from bot.i18n import ENGLISH, _, speaking, spoken
from bot.knowledge.analysis import content_words, stem
from bot.model import Address, Cause, Delivery, Incident, IncidentState, Outbound, Purpose
from bot.registry import Feature
from bot.store import Transaction
from bot.text import md_escape, shorten, small_number
from bot.turn import Turn

feature = Feature("incidents")

USAGE = (
    "Incidents: /incident TITLE | WHAT IS AFFECTED | word, word (the words customers"
    " would use); /incident update N TEXT; /incident resolve N [TEXT]; /incidents."
)


@dataclass(frozen=True, slots=True)
class IncidentCommand:
    action: str  # "open", "update", "resolve", "list", "usage"
    number: int | None = None
    title: str = ""
    affected: str = ""
    words: tuple[str, ...] = ()
    text: str = ""


def parse(args: str) -> IncidentCommand:
    """The arguments of /incident."""
    words = args.split(None, 2)
    if not words:
        return IncidentCommand("list")
    verb = words[0].lower()
    if verb in ("update", "resolve", "fixed"):
        number = small_number(words[1].lstrip("#")) if len(words) > 1 else None
        if number is None:
            return IncidentCommand("usage")
        text = words[2].strip() if len(words) > 2 else ""
        if verb == "update" and not text:
            return IncidentCommand("usage")
        return IncidentCommand("update" if verb == "update" else "resolve", number, text=text)
    parts = [p.strip() for p in args.split("|")]
    title = parts[0]
    if not title:
        return IncidentCommand("usage")
    affected = parts[1] if len(parts) > 1 else ""
    found = parts[2] if len(parts) > 2 else ""
    listed = tuple(w.strip() for w in found.split(",") if w.strip())
    return IncidentCommand("open", title=title, affected=affected, words=listed)


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def concerns(incident: Incident, text: str, articles: Collection[str] = ()) -> bool:
    """Does a customer's message concern the incident? Each of its words (a phrase
    counts when all of its words are there) is looked for among the message's
    stemmed words; `article:ID` matches when the knowledge base would offer that
    article for the message (`articles`). An incident without words matches on
    what is affected."""
    said = _stems(text)
    if not said:
        return False
    phrases = incident.words or tuple(p.strip() for p in incident.affected.split(",") if p.strip())
    for phrase in phrases:
        if phrase.startswith("article:"):
            if phrase[len("article:") :].strip() in articles:
                return True
            continue
        wanted = _stems(phrase)
        if wanted and wanted <= said:
            return True
    return False


def describe(incident: Incident, when: str) -> str:
    """What a customer is told about an incident."""
    affected = (
        " " + _("It affects {affected}.").format(affected=md_escape(incident.affected))
        if incident.affected
        else ""
    )
    latest = " " + (
        _("Latest update ({when}): {text}").format(when=when, text=md_escape(incident.latest))
        if incident.latest
        else _("The team is looking into it now.")
    )
    known = _("Known problem: {title}.").format(title=md_escape(incident.title))
    return f"⚠️ **{known}**{affected}{latest}"


async def notify(
    tx: Transaction,
    incident: Incident,
    words: Callable[[], str],
    languages: Sequence[str] = (ENGLISH,),
) -> list[Outbound]:
    """The same notice to every subscriber, on the channel they used last, in their
    language (`words()` is said in it; `languages`: the configured ones, the first for
    those who have none yet or one no longer configured)."""
    out = []
    for customer_id in await tx.incidents.subscribers(incident.id):
        address: Address | None = await tx.customers.address_of(customer_id)
        if address is None:
            continue
        customer = await tx.customers.get(customer_id)
        language = spoken(customer.language if customer else "", languages)
        with speaking(language):
            text = words()
        out.append(
            Outbound(
                address=address,
                text=text,
                cause=Cause.INCIDENT,
                customer_id=customer_id,
                delivery=Delivery(incident=incident.id, language=language),
            )
        )
    return out


@feature.notice_rule(Cause.INCIDENT)
async def subscribed(tx: Transaction, message: Outbound, now: datetime) -> str:
    """An incident notice goes only to a customer subscribed to that incident."""
    incident = message.delivery.incident
    if incident is None or message.customer_id is None:
        return "an incident notice without its incident or customer"
    if incident in await tx.incidents.subscriptions(message.customer_id):
        return ""
    return f"the customer is not subscribed to incident {incident}"


def listing(incidents: Sequence[Incident]) -> str:
    if not incidents:
        return "No open incidents."
    lines = [
        f"#{i.id} · {md_escape(i.title)} · {md_escape(shorten(i.affected, 60))}"
        f" · words: {md_escape(', '.join(i.words) or '(none)')}"
        for i in incidents
    ]
    return "**Open incidents:**\n" + "\n".join(lines)


@feature.step("incident notice", order=50)
async def tell_of_incidents(turn: Turn) -> bool:
    """Writing about a known problem: say so at once, and subscribe them to it."""
    open_now = await turn.tx.incidents.open_ones()
    if not open_now:
        return False
    text = turn.text
    decision = turn.decide(text)  # (both parts of a question that asks two things)
    articles = {c.article.id for c in (*decision.candidates, *decision.also)}
    for incident in open_now:
        if not concerns(incident, text, articles):
            continue
        if not await turn.tx.incidents.subscribe(incident.id, turn.customer.id, turn.now):
            continue  # already told
        when = turn.when(incident.latest_at or incident.opened_at)
        page = turn.services.settings.status_url
        live = (
            " " + _("Every update is also on {page}").format(page=md_escape(page)) if page else ""
        )
        await turn.say(
            describe(incident, when)
            + "\n\n"
            + _(
                "I'll tell you here when there is news and when it's fixed; you don't need"
                " to ask again."
            )
            + live,
            note=f"told of incident #{incident.id}",
            incident=incident.id,
        )
    return False


@feature.desk_command("incidents", help="the open incidents")
async def open_ones(turn: DeskTurn, args: str) -> None:
    turn.answer(listing(await turn.tx.incidents.open_ones()))


@feature.desk_command(
    "incident", help="declare, update or resolve one", usage="TITLE | AFFECTED | words"
)
async def incident(turn: DeskTurn, args: str) -> None:
    agent = turn.agent
    command = parse(args)
    if command.action == "usage":
        turn.answer(USAGE)
        return
    if command.action == "list":
        turn.answer(listing(await turn.tx.incidents.open_ones()))
        return
    if command.action == "open":
        number = await turn.tx.incidents.open(
            command.title, command.affected, command.words, agent.name, turn.now
        )
        words = ", ".join(command.words) or "(none: matching on what is affected)"
        turn.out += turn.desk.notice(
            f"⚠️ Incident #{number} declared by {md_escape(agent.name)}:"
            f" **{md_escape(command.title)}**. Customers who write about"
            f" {md_escape(words)} are told at once and get every update."
            f" Update: /incident update {number} TEXT · fixed: /incident resolve {number}",
            purpose=Purpose.INCIDENT,
        )
        return
    assert command.number is not None
    found = await turn.tx.incidents.get(command.number)
    if found is None or found.state is not IncidentState.OPEN:
        turn.answer(f"There is no open incident #{command.number}.")
        return
    resolve = command.action == "resolve"
    text = command.text
    await turn.tx.incidents.add_update(
        found.id, agent.name, text or ("It is fixed." if resolve else ""), turn.now, resolve=resolve
    )
    title = md_escape(found.title)

    def notice() -> str:  # in each subscriber's language; the agent's words as written
        said = md_escape(text) if text else _("It is fixed.")
        if resolve:
            fixed = _("Fixed: {title}.").format(title=title)
            return f"✅ **{fixed}** {said} " + _("Thank you for your patience.")
        return _("Update on **{title}**: {text}").format(title=title, text=md_escape(text))

    messages = await notify(turn.tx, found, notice, turn.services.settings.languages)
    turn.out += messages
    turn.out += turn.desk.notice(
        f"Incident #{found.id} {'resolved' if resolve else 'updated'}; told"
        f" {len(messages)} subscribed customer{'s' if len(messages) != 1 else ''}.",
        purpose=Purpose.INCIDENT,
    )
