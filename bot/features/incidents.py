"""Incidents: agents declare what is wrong; customers who write about it hear of it
at once and are told of every update until it is fixed.

Desk commands (`!` instead of `/` on Slack):

    /incident TITLE | WHAT IS AFFECTED | word, word, ...   declare one
                  (article:ID among the words: questions that article answers;
                  a last part `| community: https://…`: where customers work on it)
    /incident update N TEXT                                   post an update
    /incident resolve N [TEXT]                                it is fixed
    /incident notify N all | N 12 15                          tell those who wrote first
    /incidents                                                the open ones

Declaring one lists the cases that wrote about it before (`bot.features.wrote_first`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.desk.turn import DeskTurn
from bot.features import community, wrote_first
from bot.features.wrote_first import concerns, first_notice
from bot.i18n import ENGLISH, _, speaking, spoken
from bot.knowledge.articles import community_place
from bot.model import Address, Cause, Delivery, Incident, IncidentState, Outbound, Purpose
from bot.registry import Feature
from bot.store import Transaction
from bot.text import md_escape, shorten, small_number
from bot.turn import Turn

feature = Feature("incidents")

MAX_WORDS = 100  # an incident's words: each is matched with every message a scan reads

USAGE = (
    "Incidents: /incident TITLE | WHAT IS AFFECTED | word, word (the words customers"
    " would use); /incident update N TEXT; /incident resolve N [TEXT];"
    " /incident notify N all (or case numbers: N 12 15); /incidents. A last part"
    " | community: https://… names where customers work on it together."
)


@dataclass(frozen=True, slots=True)
class IncidentCommand:
    action: str  # "open", "update", "resolve", "list", "usage"
    number: int | None = None
    title: str = ""
    affected: str = ""
    words: tuple[str, ...] = ()
    text: str = ""
    community: str = ""  # as typed (`| community: URL`), checked by the handler


def parse(args: str) -> IncidentCommand:
    """The arguments of /incident."""
    words = args.split(None, 2)
    if not words:
        return IncidentCommand("list")
    verb = words[0].lower()
    if verb in ("update", "resolve", "fixed", "notify"):
        number = small_number(words[1].lstrip("#")) if len(words) > 1 else None
        if number is None:
            return IncidentCommand("usage")
        text = words[2].strip() if len(words) > 2 else ""
        if verb in ("update", "notify") and not text:
            return IncidentCommand("usage")
        action = verb if verb in ("update", "notify") else "resolve"
        return IncidentCommand(action, number, text=text)
    parts = [p.strip() for p in args.split("|")]
    places = [p for p in parts[1:] if p.lower().startswith("community:")]
    parts = [p for p in parts if p not in places]
    community = places[-1][len("community:") :].strip() if places else ""
    title = parts[0]
    if not title:
        return IncidentCommand("usage")
    affected = parts[1] if len(parts) > 1 else ""
    found = parts[2] if len(parts) > 2 else ""
    listed = tuple(w.strip() for w in found.split(",") if w.strip())
    return IncidentCommand(
        "open", title=title, affected=affected, words=listed, community=community
    )


async def notify(
    tx: Transaction,
    incident: Incident,
    words: Callable[[], str],
    languages: Sequence[str] = (ENGLISH,),
) -> list[Outbound]:
    """The same notice to every subscriber, on the channel they used last, in their
    language (`words()` is said in it; `languages`: the configured ones, the first for
    those who have none yet or one no longer configured); a shared room once, in its
    first subscriber's."""
    out = []
    rooms: set[Address] = set()  # a shared room hears it once, not once per customer in it
    for customer_id in await tx.incidents.subscribers(incident.id):
        address: Address | None = await tx.customers.address_of(customer_id)
        if address is None or address in rooms:
            continue
        if not address.private:
            rooms.add(address)
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
        await turn.say(
            first_notice(incident, when, turn.services.settings.status_url),
            note=f"told of incident #{incident.id}",
            incident=incident.id,
        )
        await community.offer(turn, incident.community)
    return False


@feature.desk_command("incidents", help="the open incidents")
async def open_ones(turn: DeskTurn, args: str) -> None:
    turn.answer(listing(await turn.tx.incidents.open_ones()))


@feature.desk_command(
    "incident",
    help="declare one (then: update N, resolve N, notify N)",
    usage="TITLE | AFFECTED | words",
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
        place, wrong = community_place(command.community)
        if wrong or len(command.words) > MAX_WORDS:
            turn.answer(
                f"Not declared: the community place {md_escape(wrong)}."
                if wrong
                else f"Not declared: at most {MAX_WORDS} words, not {len(command.words)}."
            )
            return
        number = await turn.tx.incidents.open(
            command.title, command.affected, command.words, agent.name, turn.now, place
        )
        words = ", ".join(command.words) or "(none: matching on what is affected)"
        turn.out += turn.desk.notice(
            f"⚠️ Incident #{number} declared by {md_escape(agent.name)}:"
            f" **{md_escape(command.title)}**. Customers who write about"
            f" {md_escape(words)} are told at once and get every update."
            f" Update: /incident update {number} TEXT · fixed: /incident resolve {number}"
            + (f" · community place offered to them: {md_escape(place)}" if place else ""),
            purpose=Purpose.INCIDENT,
        )
        declared = await turn.tx.incidents.get(number)
        assert declared is not None
        await _offer(turn, declared)
        return
    assert command.number is not None
    found = await turn.tx.incidents.get(command.number)
    if found is None or found.state is not IncidentState.OPEN:
        turn.answer(f"There is no open incident #{command.number}.")
        return
    if command.action == "notify":
        await wrote_first.confirm(turn, found, command.text)
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


async def _offer(turn: DeskTurn, incident: Incident) -> None:
    """To the agent who declared it: the cases that wrote about it first."""
    found, cut = await wrote_first.matches(turn.tx, turn.services, incident, turn.now)
    hours = turn.services.settings.reopen_window.total_seconds() / 3600  # (may be 0.5)
    text, buttons = wrote_first.offer(incident, found, cut, hours)
    turn.answer(text, buttons)


@feature.button("incident", str, int, desk=True)
async def pressed(turn: DeskTurn, fields: tuple[object, ...]) -> None:
    """The list's button: tell all of them (`incident:all:3`)."""
    action, number = fields
    found = await turn.tx.incidents.get(int(str(number)))
    if action != "all" or found is None or found.state is not IncidentState.OPEN:
        turn.answer(f"That button names no open incident ({md_escape(str(action))} #{number}).")
        return
    await wrote_first.confirm(turn, found, "all")
