"""The desk: where agents work on cases, channel-neutral.

A desk is an address (the terminal desk, a Telegram staff group, a Slack triage
channel) where case cards go, and where agents' messages come from. Only
configured agents can act; everything they do is an event on the case, and what
the customer should hear goes to the customer's own address, whatever platform
that is on. What agents can type is declared by features (`bot.desk.commands`
and others) and run by `bot.desk.turn`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import duty
from bot.config import AgentSettings
from bot.desk import waiting
from bot.desk.waiting import minutes as minutes  # where it was, for bot.desk
from bot.hours import BusinessHours
from bot.i18n import ENGLISH, LANGUAGE_NAMES
from bot.model import (
    Address,
    Button,
    Case,
    CaseState,
    Cause,
    Customer,
    Delivery,
    Event,
    EventKind,
    Identity,
    Outbound,
    Purpose,
)
from bot.registry import pack
from bot.store import Transaction
from bot.text import md_escape, shorten

AGAIN = "🔁 Handed over again.\n\n"  # a card posted again in the case's thread


def speaks(customer: Customer) -> str:
    """ " · writes German (de)": the customer's language on the card, in the desk's
    words (English), when it is not English."""
    code = customer.language
    if not code or code == ENGLISH:
        return ""
    return f" · writes {LANGUAGE_NAMES.get(code, code)} ({code})"


def state_words(case: Case) -> str:
    """Where the case stands, as its card and its thread's name say it."""
    if case.state is CaseState.AGENT:
        return f"with {shorten(case.agent or '?', 30)}"
    if case.state is CaseState.BOT:
        return "with the bot"
    return case.state.value  # waiting, resolved


class Desk:
    """The agents' side of cases, on every configured desk address."""

    def __init__(
        self,
        *,
        addresses: Sequence[Address],
        desk_channels: Collection[str] = (),
        agents: Sequence[AgentSettings],
        hours: BusinessHours,
        timezone: str = "UTC",
        waiting_alert: timedelta = timedelta(minutes=15),
        on_duty_for: timedelta = timedelta(hours=4),
    ) -> None:
        self.addresses = tuple(addresses)
        self.desk_channels = frozenset(desk_channels)  # every address on them is a desk
        self.agents = tuple(agents)
        self.hours = hours
        self._tz = ZoneInfo(timezone)
        self.waiting_alert = waiting_alert
        self.on_duty_for = on_duty_for  # `[desk] on_duty_hours`, see `bot.duty`

    # -- who and where ----------------------------------------------------------------------

    def is_desk(self, address: Address) -> bool:
        if address.channel in self.desk_channels:
            return True
        return any(
            d.channel == address.channel and d.chat_id == address.chat_id for d in self.addresses
        )

    def agent_for(self, identity: Identity) -> AgentSettings | None:
        for agent in self.agents:
            if agent.user_id_on(identity.channel) == identity.user_id:
                return agent
        return None

    def agent_named(self, name: str) -> AgentSettings | None:
        wanted = name.strip().lstrip("@").casefold()
        for agent in self.agents:
            if wanted in agent.names():
                return agent
        return None

    def when(self, moment: datetime) -> str:
        return moment.astimezone(self._tz).strftime("%H:%M")

    # -- messages to the desk ---------------------------------------------------------------

    def to_desk(
        self, case: Case, text: str, *, purpose: Purpose, buttons: Sequence[Button] = ()
    ) -> list[Outbound]:
        """The same message into the case's thread on every desk."""
        return [
            Outbound(
                address=address,
                text=text,
                cause=Cause.DESK,
                case_id=case.id,
                buttons=tuple(buttons),
                delivery=Delivery(purpose=purpose, in_thread=True),
            )
            for address in self.addresses
        ]

    def notice(
        self, text: str, *, purpose: Purpose, customer_id: int | None = None
    ) -> list[Outbound]:
        """A message for the desk as a whole (feedback, ideas), outside any case thread;
        `customer_id` says whose words it carries (erased with them)."""
        return [
            Outbound(
                address=address,
                text=text,
                cause=Cause.DESK,
                customer_id=customer_id,
                delivery=Delivery(purpose=purpose),
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
        """The case card: who and where, then the summary the customer confirmed, why,
        the recent timeline and where every message is in full (`/open N`).
        Each desk makes the sent card the case's thread; its title (a Telegram forum
        topic's name) says where the case stands. With `update`, the same card as it
        stands now, for desks that can edit the card they sent (Slack, Telegram: the
        card, the topic's name, the topic closed while the case is resolved); the
        others skip it, having said what changed in the thread."""
        recent = [
            f"• {self.when(e.at)} {line}"
            for e in events[-8:]
            if (line := self.describe(e, customer)) is not None
        ]
        text = (
            f"**Case #{case.id}** · {md_escape(customer.name or 'a customer')} · on {channel}"
            f" · {md_escape(state_words(case))}{speaks(customer)}\n"
            f"**Summary, confirmed by the customer:**\n{case.summary}\n"
            f"**Why:** {md_escape(case.handover_reason)}\n"
            + ("**Recent:**\n" + "\n".join(recent) + "\n" if recent else "")
            + f"_Long messages are cut at their first sentence (…): every message in full,"
            f" /open {case.id}_"
        )
        about = shorten(case.subject, 40) if case.subject else shorten(case.handover_reason, 40)
        name = shorten(customer.name or "customer", 30)
        title = f"#{case.id} · {name} · {state_words(case)} · {about}"
        buttons: tuple[Button, ...] = (
            Button("Claim", pack("desk", "claim", case.id)),
            Button("Resolve", pack("desk", "resolve", case.id)),
            Button("Back to bot", pack("desk", "bot", case.id)),
        )
        if case.state is CaseState.AGENT:
            buttons = buttons[1:]
        elif case.state in (CaseState.RESOLVED, CaseState.BOT):
            buttons = ()
        closed = case.state is CaseState.RESOLVED
        delivery = Delivery(purpose=Purpose.CARD, card=True, title=title)
        if update:
            delivery = Delivery(
                purpose=Purpose.CARD_UPDATE,
                card_update=True,
                in_thread=True,
                title=title,
                closed=closed,
            )
        return [
            Outbound(
                address=address,
                text=text,
                cause=Cause.DESK,
                case_id=case.id,
                buttons=buttons,
                delivery=delivery,
            )
            for address in self.addresses
        ]

    async def handed_over(
        self, tx: Transaction, case: Case, customer: Customer, channel: str, events: Sequence[Event]
    ) -> list[Outbound]:
        """The case's card on every desk as it is handed over: a new card (a new thread)
        where the case has none yet; where it has one (handed over before, then back
        with the bot or reopened), that card updated (its thread opened again and
        renamed) and the card's text posted in it: a case stays one thread."""
        out: list[Outbound] = []
        updates = self.card(case, customer, channel, events, update=True)
        for card, update in zip(self.card(case, customer, channel, events), updates, strict=True):
            desk = card.address
            if await tx.desk.thread_of(desk.channel, desk.chat_id, case.id) is None:
                out.append(card)
                continue
            again = Delivery(purpose=Purpose.CARD, in_thread=True)
            text = f"{AGAIN}{card.text}"
            out += [update, replace(card, text=text, buttons=(), delivery=again)]
        return out

    async def reopen(self, tx: Transaction, message: Outbound) -> list[Outbound]:
        """The card of `message`'s case again, for the one desk whose thread of the
        case is gone (deleted there): it opens a new thread, with the recent timeline
        and a line saying why the case is posted again. Not for a resolved case: its
        thread was deleted as done with (the message then fails, as it says)."""
        case = await tx.cases.get(message.case_id) if message.case_id is not None else None
        customer = await tx.customers.get(case.customer_id) if case is not None else None
        if case is None or customer is None or not case.is_open:
            return []
        where = await tx.customers.address_of(case.customer_id)
        events = await tx.timeline.recent(case.id, limit=100)
        cards = self.card(case, customer, where.channel if where else "?", events)
        desk = Address(message.address.channel, message.address.chat_id)
        note = (
            f"♻️ The earlier thread of case #{case.id} was deleted, so the case is posted"
            " again here; what follows goes into this thread.\n\n"
        )
        return [replace(card, address=desk, text=note + card.text) for card in cards[:1]]

    async def erased(
        self, tx: Transaction, case_ids: Sequence[int], *, told: int | None = None
    ) -> list[Outbound]:
        """Before a customer's data is erased (`/forget`): on every desk, each of their
        cases' cards as a neutral line (no name, no words, no buttons) and its thread
        closed under a neutral name (`#12 · erased`); for case `told`, which a person
        had, a line into its thread saying it is closed. Each names its thread (the
        mapping goes with the erasure). What people wrote in the thread stays: Candor
        cannot edit it."""
        out: list[Outbound] = []
        for address in self.addresses:
            for case_id in case_ids:
                thread = await tx.desk.thread_of(address.channel, address.chat_id, case_id)
                there = replace(address, thread_id=thread or "")
                if case_id == told:
                    out.append(
                        Outbound(
                            address=there,
                            text=f"🗑 Case #{case_id} is closed: the customer asked for their"
                            " data to be erased. Candor has erased it, and made its card and"
                            " this thread's name say nothing of them; what was written in the"
                            " thread stays here: please delete the thread, and any copies you"
                            " made.",
                            cause=Cause.DESK,
                            case_id=case_id,
                            delivery=Delivery(purpose=Purpose.FORGOTTEN, in_thread=True),
                        )
                    )
                if thread is None:
                    continue
                card = await tx.desk.card_message_of(address.channel, address.chat_id, case_id)
                out.append(
                    Outbound(
                        address=there,
                        text=f"**Case #{case_id}** · erased\nThe customer asked for their"
                        " data to be erased: nothing of it is kept here.",
                        cause=Cause.DESK,
                        case_id=case_id,
                        delivery=Delivery(
                            purpose=Purpose.CARD_UPDATE,
                            card_update=True,
                            in_thread=True,
                            title=f"#{case_id} · erased",
                            closed=True,
                            card_message=card,
                        ),
                    )
                )
        return out

    def describe(self, event: Event, customer: Customer, *, limit: int = 100) -> str | None:
        """A line of the agents' view of the timeline (texts cut at `limit`)."""
        who = md_escape(customer.name or "customer")
        text = md_escape(shorten(event.text, limit))
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

    async def on_duty(self, tx: Transaction, now: datetime) -> frozenset[str]:
        """The agents on duty at `now` (`bot.duty.on_duty`)."""
        return await duty.on_duty(tx, self, now)

    async def waiting_words(self, tx: Transaction, case: Case, now: datetime) -> str:
        """Place in the queue, an honest estimate (`bot.waits`) or that there is no
        basis for one, and when people are back if nobody is there."""
        return await waiting.words(self, tx, case, now)

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
                purpose=Purpose.REMINDER,
                buttons=[Button("Claim", pack("desk", "claim", case.id))],
            )
            await tx.cases.update(replace(case, alerted_at=now))
        return messages + await waiting.came_back(self, tx, now)
