"""Handover to people: the summary the customer confirms, the queue, and the desk.

The desk is channel-neutral: a desk is an address (the terminal desk, a Telegram
staff group, a Slack triage channel) where case cards go, and where agents'
messages come from. Only configured agents can act; everything they do is an
event on the case, and what the customer should hear goes to the customer's own
address, whatever platform that is on.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import incidents
from bot.config import AgentSettings
from bot.hours import BusinessHours
from bot.model import (
    DESK_CHANNEL,
    Address,
    Button,
    Case,
    CaseState,
    Cause,
    Customer,
    Event,
    EventKind,
    Identity,
    Inbound,
    InboundKind,
    Outbound,
)
from bot.signals import is_greeting
from bot.store import Transaction
from bot.text import clean, md_escape, parse_command, shorten, small_number

RATE = "rate:"  # button payload prefix for a customer's rating


def rating_buttons() -> tuple[Button, ...]:
    return tuple(Button(str(n), f"{RATE}{n}") for n in range(1, 6))


def minutes(seconds: float) -> str:
    value = max(1, round(seconds / 60))
    if value < 90:
        return f"{value} minute{'s' if value != 1 else ''}"
    return f"{round(value / 60)} hours"


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for the desk about a case, or for the customer."""

    text: str
    buttons: tuple[Button, ...] = ()


def summarise(case: Case, customer: Customer, events: Sequence[Event]) -> str:
    """What the bot will pass on: what was asked, answered and tried."""
    asked = [
        e.text
        for e in events
        if e.kind is EventKind.CUSTOMER
        and e.text
        and not e.data.get("command")
        and not e.data.get("button")
        and not e.data.get("comment")
        and not is_greeting(e.text)
    ]
    answered = [e.text for e in events if e.kind is EventKind.ANSWER]
    tried: list[str] = []
    for e in events:
        if e.kind is EventKind.ANSWER and e.data.get("article"):
            tried.append(str(e.data["article"]))
        elif e.kind is EventKind.CLARIFY:
            tried.extend(str(a) for a in e.data.get("options", []))
    unanswered = sum(1 for e in events if e.kind is EventKind.UNKNOWN)
    lines = []
    if asked:
        quoted = "; ".join(f"“{md_escape(shorten(q, 160))}”" for q in asked[-5:])
        lines.append(f"• Asked: {quoted}")
    else:
        lines.append("• Asked: nothing yet, only asked for a person")
    if answered:
        titles = ", ".join(f"“{md_escape(t)}”" for t in dict.fromkeys(answered))
        lines.append(f"• The bot answered with: {titles}")
    if unanswered:
        lines.append(f"• The bot could not answer {unanswered} question{'s' * (unanswered > 1)}")
    if tried:
        lines.append(f"• Articles tried: {', '.join(dict.fromkeys(tried))}")
    return "\n".join(lines)


class Desk:
    """The agents' side of cases, on every configured desk address."""

    def __init__(
        self,
        *,
        addresses: Sequence[Address],
        agents: Sequence[AgentSettings],
        hours: BusinessHours,
        timezone: str = "UTC",
        waiting_alert: timedelta = timedelta(minutes=15),
    ) -> None:
        self.addresses = tuple(addresses)
        self.agents = tuple(agents)
        self.hours = hours
        self._tz = ZoneInfo(timezone)
        self.waiting_alert = waiting_alert

    # -- who and where ----------------------------------------------------------------------

    def is_desk(self, address: Address) -> bool:
        if address.channel == DESK_CHANNEL:
            return True
        return any(
            d.channel == address.channel and d.chat_id == address.chat_id for d in self.addresses
        )

    def agent_for(self, identity: Identity) -> AgentSettings | None:
        for agent in self.agents:
            ids = {
                DESK_CHANNEL: agent.console,
                "telegram": None if agent.telegram is None else str(agent.telegram),
                "slack": agent.slack,
            }
            if ids.get(identity.channel) == identity.user_id:
                return agent
        return None

    def agent_named(self, name: str) -> AgentSettings | None:
        wanted = name.strip().lstrip("@").casefold()
        for agent in self.agents:
            if wanted in {agent.name.casefold(), (agent.console or "").casefold()}:
                return agent
        return None

    def when(self, moment: datetime) -> str:
        return moment.astimezone(self._tz).strftime("%H:%M")

    # -- messages to the desk ---------------------------------------------------------------

    def to_desk(
        self, case: Case, text: str, *, kind: str, buttons: Sequence[Button] = ()
    ) -> list[Outbound]:
        """The same message into the case's thread on every desk."""
        return [
            Outbound(
                address=address,
                text=text,
                cause=Cause.DESK,
                case_id=case.id,
                buttons=tuple(buttons),
                meta={"thread": True, "kind": kind},
            )
            for address in self.addresses
        ]

    def notice(self, text: str, *, kind: str, customer_id: int | None = None) -> list[Outbound]:
        """A message for the desk as a whole (feedback, ideas), outside any case thread;
        `customer_id` says whose words it carries (erased with them)."""
        return [
            Outbound(
                address=address,
                text=text,
                cause=Cause.DESK,
                customer_id=customer_id,
                meta={"kind": kind},
            )
            for address in self.addresses
        ]

    def card(
        self,
        case: Case,
        customer: Customer,
        channel: str,
        events: Sequence[Event],
        *,
        update: bool = False,
    ) -> list[Outbound]:
        """The case card: who, where, why, the confirmed summary, the recent timeline.
        Each desk makes the sent card the case's thread. With `update`, the same card
        as it stands now, for desks that can edit the card they sent (Slack); the
        others skip it, having said what changed in the thread."""
        recent = [
            f"• {self.when(e.at)} {line}"
            for e in events[-8:]
            if (line := self.describe(e, customer)) is not None
        ]
        text = (
            f"**Case #{case.id}** · {md_escape(customer.name or 'a customer')} · on {channel}"
            f" · {case.state.value}\n"
            f"**Why:** {md_escape(case.handover_reason)}\n"
            f"**Summary, confirmed by the customer:**\n{case.summary}\n"
            + ("**Recent:**\n" + "\n".join(recent) if recent else "")
        )
        about = shorten(case.subject, 40) if case.subject else shorten(case.handover_reason, 40)
        title = f"#{case.id} · {shorten(customer.name or 'customer', 30)} · {about}"
        if case.state is CaseState.AGENT:
            text = text.replace(
                f" · {case.state.value}\n", f" · with {md_escape(case.agent or '?')}\n", 1
            )
        buttons: tuple[Button, ...] = (
            Button("Claim", f"desk:claim:{case.id}"),
            Button("Resolve", f"desk:resolve:{case.id}"),
            Button("Back to bot", f"desk:bot:{case.id}"),
        )
        if case.state is CaseState.AGENT:
            buttons = buttons[1:]
        elif case.state in (CaseState.RESOLVED, CaseState.BOT):
            buttons = ()
        meta: dict[str, object] = {"card": case.id, "kind": "card", "title": title}
        if update:
            meta = {"card_update": case.id, "kind": "card_update", "thread": True}
        return [
            Outbound(
                address=address,
                text=text,
                cause=Cause.DESK,
                case_id=case.id,
                buttons=buttons,
                meta=meta,
            )
            for address in self.addresses
        ]

    def describe(self, event: Event, customer: Customer) -> str | None:
        """A line of the agents' view of the timeline."""
        who = md_escape(customer.name or "customer")
        text = md_escape(shorten(event.text, 100))
        kind = event.kind
        if kind is EventKind.CUSTOMER:
            if event.data.get("button") or not event.text:
                return None
            return f"{who}: “{text}”"
        if kind is EventKind.EDIT:
            return f"{who} edited a message: “{text}”"
        if kind is EventKind.ATTACHMENT:
            return f"{who} sent a file: “{text}”" if text else f"{who} sent a file"
        if kind is EventKind.ANSWER:
            return f"bot answered with “{text}”"
        if kind is EventKind.CLARIFY:
            return f"bot asked which of {', '.join(event.data.get('options', []))} was meant"
        if kind is EventKind.UNKNOWN:
            return "bot said it did not know"
        if kind in (EventKind.HANDOVER, EventKind.STATE):
            return f"— {text}"
        if kind is EventKind.AGENT:
            return f"{md_escape(event.actor)}: “{text}”"
        if kind is EventKind.NOTE:
            return f"{md_escape(event.actor)} (note): {text}"
        return None

    # -- what the customer is told about the queue ------------------------------------------

    async def waiting_words(self, tx: Transaction, case: Case, now: datetime) -> str:
        """Place in the queue, an honest estimate, and business hours."""
        position = await tx.cases.queue_position(case)
        parts = [f"You're number {position} in the queue."]
        waits = await tx.cases.recent_waits()
        if waits:
            parts.append(
                "Recently a person has picked up a case in about"
                f" {minutes(statistics.median(waits))}."
            )
        else:
            parts.append("There's no estimate of the wait yet: too few cases so far to say.")
        if not self.hours.is_open(now):
            parts.append(
                "Nobody is at the desk right now; people are back"
                f" {self.hours.describe_next_open(now)}."
            )
        parts.append("You don't need to write again: the reply will come here.")
        return " ".join(parts)

    # -- reminders --------------------------------------------------------------------------

    async def remind(self, tx: Transaction, now: datetime) -> list[Outbound]:
        """Raise cases waiting longer than the alert time again on the desk."""
        messages: list[Outbound] = []
        for case in await tx.cases.overdue(now - self.waiting_alert, now - self.waiting_alert):
            assert case.handed_over_at is not None
            waited = (now - case.handed_over_at).total_seconds()
            messages += self.to_desk(
                case,
                f"⏰ **Case #{case.id}** has been waiting for {minutes(waited)}. Claim it?",
                kind="reminder",
                buttons=[Button("Claim", f"desk:claim:{case.id}")],
            )
            await tx.cases.update(replace(case, alerted_at=now))
        return messages

    # -- agents acting ----------------------------------------------------------------------

    async def handle(self, tx: Transaction, inbound: Inbound, now: datetime) -> list[Outbound]:
        return await _DeskTurn(self, tx, inbound, now).run()


_DESK_HELP = (
    "Desk commands: /cases (the queue), /claim, /note TEXT (internal), /resolve,"
    " /bot (hand back to the bot), /transfer NAME. Anything else you write in a case's"
    " thread goes to the customer. Add a case number to act on another case: /claim 12."
    " Incidents: /incident TITLE | AFFECTED | words; /incidents."
    " Ideas: /ideas; /idea planned N; /idea done N."
)


class _DeskTurn:
    def __init__(self, desk: Desk, tx: Transaction, inbound: Inbound, now: datetime) -> None:
        self.desk = desk
        self.tx = tx
        self.inbound = inbound
        self.now = now
        self.out: list[Outbound] = []

    def answer(self, text: str, buttons: Sequence[Button] = ()) -> None:
        """Reply where the agent wrote (their thread on their desk)."""
        self.out.append(
            Outbound(
                address=self.inbound.address,
                text=text,
                cause=Cause.DESK,
                buttons=tuple(buttons),
                meta={"kind": "desk_reply", "to_user": self.inbound.identity.user_id},
            )
        )

    async def run(self) -> list[Outbound]:
        agent = self.desk.agent_for(self.inbound.identity)
        if agent is None:
            self.answer(
                "Only agents can act on cases here, and you are not one of them"
                " (agents are listed in the config's [desk] agents)."
            )
            return self.out
        action, args, case_id = self.parse()
        if action == "help":
            self.answer(_DESK_HELP)
            return self.out
        if action == "cases":
            await self.list_queue()
            return self.out
        if action == "incident":
            await self.incident(agent, args)
            return self.out
        if action == "idea":
            await self.idea(agent, args)
            return self.out
        if action == "ignore":
            return self.out
        if case_id is None:
            case_id = await self.tx.desk.case_for_thread(self.inbound.address)
        if case_id is None:
            self.answer(
                "Which case? Write in a case's thread, or add its number, like /claim 12."
                f" {_DESK_HELP}"
            )
            return self.out
        case = await self.tx.cases.get(case_id)
        if case is None:
            self.answer(f"There is no case #{case_id}.")
            return self.out
        customer = await self.tx.customers.get(case.customer_id)
        assert customer is not None
        act = _ACTIONS[action]
        await act(self, agent, case, customer, args)
        after = await self.tx.cases.get(case.id)
        if after is not None and (after.state, after.agent) != (case.state, case.agent):
            where = await self.tx.customers.address_of(after.customer_id)
            events = await self.tx.timeline.recent(after.id, limit=100)
            self.out += self.desk.card(
                after, customer, where.channel if where else "?", events, update=True
            )
        return self.out

    def parse(self) -> tuple[str, str, int | None]:
        """(action, argument, case id) from a button press or a message."""
        inbound = self.inbound
        if inbound.kind is InboundKind.BUTTON:
            parts = inbound.payload.split(":")
            if len(parts) == 3 and parts[0] == "desk" and parts[1] in _ACTIONS:
                return parts[1], "", _number(parts[2])
            return "help", "", None
        text = clean(inbound.text)
        if inbound.kind is not InboundKind.MESSAGE or not text:
            return "ignore", "", None
        if text.startswith("!"):  # where "/" belongs to the platform (Slack): !claim, !cases
            text = "/" + text[1:]
        command = parse_command(text)
        if command is None:
            if text.lower().startswith("note:"):
                return "note", text[5:].strip(), None
            return "reply", text, None
        name, args = command
        words = args.split()
        explicit = _number(words[0]) if words else None
        if name in ("claim", "resolve", "bot", "close"):
            return ("resolve" if name == "close" else name), "", explicit
        if name == "note":
            return "note", args, None
        if name == "transfer":
            target = words[0] if words else ""
            return "transfer", target, _number(words[1]) if len(words) > 1 else None
        if name in ("cases", "queue"):
            return "cases", "", None
        if name in ("idea", "ideas"):
            return "idea", args if name == "idea" else "", None
        if name in ("incident", "incidents"):
            return "incident", args if name == "incident" else "", None
        if name in ("reply", "say") and explicit is not None:
            return "reply", args.split(None, 1)[1] if len(words) > 1 else "", explicit
        return "help", "", None

    # -- actions ----------------------------------------------------------------------------

    async def _tell_customer(self, case: Case, text: str, **kwargs: object) -> Outbound | None:
        address = await self.tx.customers.address_of(case.customer_id)
        if address is None:
            self.answer(f"Case #{case.id}: the customer has no address any more (erased?).")
            return None
        message = Outbound(
            address=address,
            text=text,
            cause=Cause.CASE_UPDATE,
            customer_id=case.customer_id,
            case_id=case.id,
            **kwargs,  # type: ignore[arg-type]
        )
        self.out.append(message)
        return message

    async def _save(self, case: Case, **changes: object) -> Case:
        updated = replace(case, updated_at=self.now, **changes)  # type: ignore[arg-type]
        await self.tx.cases.update(updated)
        return updated

    async def claim(
        self,
        agent: AgentSettings,
        case: Case,
        customer: Customer,
        args: str,
        *,
        quiet: bool = False,
    ) -> Case:
        if case.state is CaseState.RESOLVED:
            self.answer(f"Case #{case.id} is resolved. It reopens when the customer writes again.")
            return case
        if case.state is CaseState.AGENT and case.agent == agent.name:
            if not quiet:
                self.answer(f"You already have case #{case.id}.")
            return case
        if case.state is CaseState.AGENT:
            self.answer(
                f"Case #{case.id} is with {md_escape(case.agent)}. To take it over:"
                f" /transfer {md_escape(agent.name)} {case.id}"
            )
            return case
        case = await self._save(
            case,
            state=CaseState.AGENT,
            agent=agent.name,
            claimed_at=case.claimed_at or self.now,
            pending_reason="",
            draft_summary="",
        )
        await self.tx.timeline.append(case.id, EventKind.CLAIM, agent.name, "claimed", self.now)
        await self._tell_customer(
            case,
            f"**{md_escape(agent.name)}** from support has your case #{case.id} now and will"
            " reply here.",
        )
        self.out += self.desk.to_desk(
            case, f"✋ {md_escape(agent.name)} claimed case #{case.id}.", kind="claimed"
        )
        return case

    async def reply(self, agent: AgentSettings, case: Case, customer: Customer, text: str) -> None:
        if not text:
            self.answer("An empty reply was not sent.")
            return
        if case.state is CaseState.WAITING or case.state is CaseState.BOT:
            case = await self.claim(agent, case, customer, "", quiet=True)
        elif case.state is CaseState.AGENT and case.agent != agent.name:
            self.answer(
                f"Case #{case.id} is with {md_escape(case.agent)}; your reply was not sent."
                f" To take it over: /transfer {md_escape(agent.name)} {case.id}"
            )
            return
        await self.tx.timeline.append(case.id, EventKind.AGENT, agent.name, text, self.now)
        receipt = self.inbound.address
        await self._tell_customer(
            case,
            f"**{md_escape(agent.name)}** (support): {md_escape(text)}",
            meta={
                "receipt": [receipt.channel, receipt.chat_id, receipt.thread_id],
                "kind": "agent_reply",
            },
        )

    async def note(self, agent: AgentSettings, case: Case, customer: Customer, text: str) -> None:
        if not text:
            self.answer("Write the note after /note (or note:).")
            return
        await self.tx.timeline.append(case.id, EventKind.NOTE, agent.name, text, self.now)
        self.answer(f"📝 Note saved on case #{case.id}. The customer never sees notes.")

    async def resolve(
        self, agent: AgentSettings, case: Case, customer: Customer, args: str
    ) -> None:
        if case.state is CaseState.RESOLVED:
            self.answer(f"Case #{case.id} is already resolved.")
            return
        case = await self._save(
            case,
            state=CaseState.RESOLVED,
            resolved_at=self.now,
            pending_reason="",
            draft_summary="",
        )
        await self.tx.timeline.append(
            case.id, EventKind.STATE, agent.name, f"resolved by {agent.name}", self.now
        )
        await self._tell_customer(
            case,
            f"{md_escape(agent.name)} has marked your case #{case.id} as resolved. If it isn't,"
            " just write and it reopens.\n\nHow did we do? Tap 1 (poor) to 5 (great).",
            buttons=rating_buttons(),
        )
        self.out += self.desk.to_desk(
            case, f"✔ Case #{case.id} resolved by {md_escape(agent.name)}.", kind="resolved"
        )

    async def back_to_bot(
        self, agent: AgentSettings, case: Case, customer: Customer, args: str
    ) -> None:
        if case.state is CaseState.RESOLVED:
            self.answer(f"Case #{case.id} is resolved.")
            return
        case = await self._save(case, state=CaseState.BOT, agent="")
        await self.tx.timeline.append(
            case.id,
            EventKind.STATE,
            agent.name,
            f"handed back to the bot by {agent.name}",
            self.now,
        )
        await self._tell_customer(
            case,
            f"{md_escape(agent.name)} handed your case #{case.id} back to me, the bot. Ask me"
            " anything, or type /human for a person again.",
        )
        self.out += self.desk.to_desk(
            case, f"↩ Case #{case.id} is back with the bot.", kind="to_bot"
        )

    async def transfer(
        self, agent: AgentSettings, case: Case, customer: Customer, target_name: str
    ) -> None:
        target = self.desk.agent_named(target_name) if target_name else None
        if target is None:
            names = ", ".join(a.name for a in self.desk.agents)
            self.answer(f"Transfer to whom? Agents: {names}. Example: /transfer Sam")
            return
        if case.state is CaseState.RESOLVED:
            self.answer(f"Case #{case.id} is resolved.")
            return
        before = case.agent or "the queue"
        case = await self._save(
            case, state=CaseState.AGENT, agent=target.name, claimed_at=case.claimed_at or self.now
        )
        await self.tx.timeline.append(
            case.id,
            EventKind.STATE,
            agent.name,
            f"transferred from {before} to {target.name}",
            self.now,
        )
        await self._tell_customer(
            case,
            f"**{md_escape(target.name)}** from support has your case #{case.id} now and will"
            " reply here.",
        )
        self.out += self.desk.to_desk(
            case,
            f"→ Case #{case.id} transferred to {md_escape(target.name)}"
            f" by {md_escape(agent.name)}.",
            kind="transferred",
        )

    async def incident(self, agent: AgentSettings, args: str) -> None:
        command = incidents.parse(args)
        if command.action == "usage":
            self.answer(incidents.USAGE)
            return
        if command.action == "list":
            self.answer(incidents.listing(await self.tx.incidents.open_ones(), self.now))
            return
        if command.action == "open":
            number = await self.tx.incidents.open(
                command.title, command.affected, command.words, agent.name, self.now
            )
            words = ", ".join(command.words) or "(none: matching on what is affected)"
            self.out += self.desk.notice(
                f"⚠️ Incident #{number} declared by {md_escape(agent.name)}:"
                f" **{md_escape(command.title)}**. Customers who write about"
                f" {md_escape(words)} are told at once and get every update."
                f" Update: /incident update {number} TEXT · fixed: /incident resolve {number}",
                kind="incident",
            )
            return
        assert command.number is not None
        found = await self.tx.incidents.get(command.number)
        if found is None or found.state != "open":
            self.answer(f"There is no open incident #{command.number}.")
            return
        resolve = command.action == "resolve"
        text = command.text or ("It is fixed." if resolve else "")
        await self.tx.incidents.add_update(found.id, agent.name, text, self.now, resolve=resolve)
        title = md_escape(found.title)
        if resolve:
            notice = f"✅ **Fixed: {title}.** {md_escape(text)} Thank you for your patience."
        else:
            notice = f"Update on **{title}**: {md_escape(text)}"
        messages = await incidents.notify(self.tx, found, notice, self.now)
        self.out += messages
        self.out += self.desk.notice(
            f"Incident #{found.id} {'resolved' if resolve else 'updated'}; told"
            f" {len(messages)} subscribed customer{'s' if len(messages) != 1 else ''}.",
            kind="incident",
        )

    async def idea(self, agent: AgentSettings, args: str) -> None:
        words = args.split(None, 2)
        if not words:
            ideas = await self.tx.ideas.top(15)
            lines = [
                f"#{i.id} · {i.votes} vote{'s' if i.votes != 1 else ''} · {i.state}"
                f" · {md_escape(shorten(i.text, 100))}"
                for i in ideas
            ]
            self.answer(
                ("**Ideas, most wanted first:**\n" + "\n".join(lines)) if lines else "No ideas yet."
            )
            return
        state = words[0].lower()
        number = small_number(words[1].lstrip("#")) if len(words) > 1 else None
        if state not in ("planned", "done") or number is None:
            self.answer("Ideas: /ideas lists them; /idea planned N [note]; /idea done N [note].")
            return
        found = await self.tx.ideas.get(number)
        if found is None:
            self.answer(f"There is no idea #{number}.")
            return
        note = words[2].strip() if len(words) > 2 else ""
        await self.tx.ideas.set_state(found.id, state, note, self.now)
        said = "is planned" if state == "planned" else "is done"
        text = f"💡 An idea you voted for {said}: “{md_escape(shorten(found.text, 150))}”." + (
            f" {md_escape(note)}" if note else ""
        )
        told = 0
        for customer_id in await self.tx.ideas.voters(found.id):
            address = await self.tx.customers.address_of(customer_id)
            if address is None:
                continue
            self.out.append(
                Outbound(
                    address=address,
                    text=text,
                    cause=Cause.IDEA,
                    customer_id=customer_id,
                    meta={"idea": found.id, "notice": True},
                )
            )
            told += 1
        self.answer(f"Idea #{found.id} {said}; told {told} voter{'s' if told != 1 else ''}.")

    async def list_queue(self) -> None:
        cases = await self.tx.cases.queue()
        if not cases:
            self.answer("Nobody is waiting. 🎉")
            return
        lines = []
        for case in cases:
            customer = await self.tx.customers.get(case.customer_id)
            name = md_escape(customer.name if customer and customer.name else "a customer")
            since = case.handed_over_at or case.updated_at
            waited = minutes((self.now - since).total_seconds())
            where = "waiting" if case.state is CaseState.WAITING else f"with {case.agent}"
            lines.append(
                f"#{case.id} · {name} · {where} · {waited} · {md_escape(case.handover_reason)}"
            )
        self.answer("**The queue:**\n" + "\n".join(lines))


async def _claim_action(
    turn: _DeskTurn, agent: AgentSettings, case: Case, customer: Customer, args: str
) -> None:
    await turn.claim(agent, case, customer, args)


_Action = Callable[[_DeskTurn, AgentSettings, Case, Customer, str], Awaitable[object]]
_ACTIONS: dict[str, _Action] = {
    "claim": _claim_action,
    "reply": _DeskTurn.reply,
    "note": _DeskTurn.note,
    "resolve": _DeskTurn.resolve,
    "bot": _DeskTurn.back_to_bot,
    "transfer": _DeskTurn.transfer,
}


def _number(text: str) -> int | None:
    return small_number(text.strip().lstrip("#"))
