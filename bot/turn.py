"""What a feature's handler gets: one customer turn, and the services behind it.

`Turn` is the context of one inbound inside the engine's transaction: who wrote,
what, the case as it changes, and the messages to send so far. Handlers change
the case and reply only through it (`say`, `save_case`, `record`, `to_desk`,
`wait_for`), so every reply lands on the timeline and in the outbox the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import i18n
from bot.i18n.detect import Detector
from bot.knowledge import Decision, KnowledgeBase
from bot.model import (
    Address,
    Button,
    Case,
    Cause,
    Conversation,
    Customer,
    Event,
    EventKind,
    Inbound,
    Outbound,
    Purpose,
)
from bot.store import Transaction
from bot.text import MAX_MATCHED, clean, parse_command

if TYPE_CHECKING:
    from bot.desk import Desk
    from bot.registry import Registry


COMMANDS_STEP = 20  # the pipeline's order of the step that runs commands
# what the customer says on a case (not a command, not a button press)
_WORDS = frozenset((EventKind.CUSTOMER, EventKind.EDIT, EventKind.ATTACHMENT))


@dataclass(frozen=True, slots=True)
class DialogSettings:
    name: str = "Candor"
    company: str = "Northwind Cloud"
    timezone: str = "UTC"
    reopen_window: timedelta = timedelta(hours=72)
    unknown_limit: int = 2
    rating_comment_window: timedelta = timedelta(minutes=30)
    # how long the bot waits for a choice it asked for (send the summary? erase?)
    choice_window: timedelta = timedelta(hours=24)
    languages: tuple[str, ...] = ("en",)  # the languages it speaks; the first is the default
    web_url: str = ""  # where the web pages are (`[web]`): the dashboard's sign-in links
    status_url: str = ""  # the public status page, told with a known problem ("": none)


class Services:
    """What every turn may use, made once at start: settings, the knowledge base,
    the desk and the registry of features."""

    def __init__(
        self,
        knowledge: Callable[[], KnowledgeBase],
        desk: Desk,
        registry: Registry,
        settings: DialogSettings = DialogSettings(),
        command_prefix: Callable[[str], str] = lambda channel: "/",
    ) -> None:
        self._knowledge = knowledge
        self.command_prefix = command_prefix  # how people type a command on a channel
        self.desk = desk
        self.registry = registry
        self.settings = settings
        self._tz = ZoneInfo(settings.timezone)
        self.detector = Detector(settings.languages)

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._knowledge()

    def when(self, moment: datetime) -> str:
        """A time for the customer, as their language writes it (Babel)."""
        return i18n.when(moment, self._tz)

    def decide(self, text: str, language: str = "en") -> Decision:
        """In `language`'s articles (the English ones it has not translated too)."""
        return self.knowledge.decide(text[:MAX_MATCHED], language)


class Turn:
    """One customer turn: the transaction, the case as it changes, the messages so far."""

    def __init__(
        self,
        services: Services,
        tx: Transaction,
        inbound: Inbound,
        customer: Customer,
        new_customer: bool,
        latest: Case | None,
        now: datetime,
    ) -> None:
        self.services = services
        self.tx = tx
        self.inbound = inbound
        self.customer = customer
        self.new_customer = new_customer
        self.latest = latest  # the case as it was when the turn began
        self.now = now
        self.text = clean(inbound.text)
        self.command = parse_command(self.text)
        self.case: Case = latest  # type: ignore[assignment]  # settled before any handler
        self.case_was = "open"  # "new", "open" or "reopened"
        self.out: list[Outbound] = []
        self.recorded: set[int] = set()  # the events this turn put on the timeline
        self.preface: Callable[[Turn], str] | None = None  # before the first reply
        # the language the bot speaks this turn (`bot.features.language`), and whether
        # the message came in a language the company does not serve
        self.language = i18n.spoken(customer.language, services.settings.languages)
        self.foreign = False

    # -- what handlers read -------------------------------------------------------------

    @property
    def address(self) -> Address:
        return self.inbound.address

    @property
    def name(self) -> str:
        return self.customer.name

    @property
    def settings(self) -> DialogSettings:
        return self.services.settings

    @property
    def desk(self) -> Desk:
        return self.services.desk

    @property
    def knowledge(self) -> KnowledgeBase:
        return self.services.knowledge

    def decide(self, text: str) -> Decision:
        """In the language the bot speaks this turn."""
        return self.services.decide(text, self.language)

    def when(self, moment: datetime) -> str:
        return self.services.when(moment)

    async def timeline(self, limit: int = 50) -> list[Event]:
        return await self.tx.timeline.recent(self.case.id, limit=limit)

    # -- recording and replying ---------------------------------------------------------

    async def record(
        self, kind: EventKind, text: str, actor: str = "customer", **data: object
    ) -> Event:
        event = await self.tx.timeline.append(self.case.id, kind, actor, text, self.now, data)
        self.recorded.add(event.id)
        if (
            actor == "customer"
            and kind in _WORDS
            and "command" not in data
            and "button" not in data
        ):
            await self._answered_here()
        return event

    async def _answered_here(self) -> None:
        """The customer's words on the case were said here: a person's answers to them
        go here too (`Case.reply_to`), not wherever the customer wrote last."""
        where, was = self.address, self.case.reply_to
        if was is None or was != where or was.private != where.private:
            self.case = replace(self.case, reply_to=where)
            await self.tx.cases.update(self.case)

    async def say(
        self,
        text: str,
        *,
        kind: EventKind = EventKind.BOT,
        note: str | None = None,
        buttons: Sequence[Button] = (),
        **data: object,
    ) -> None:
        """Reply to the customer and put the reply on the timeline (`note` if shorter)."""
        said = await self._prefaced(text)
        await self.record(kind, text if note is None else note, actor="bot", **data)
        self.out.append(self._outbound(said, buttons=tuple(buttons)))

    async def say_privately(self, text: str, **fields: Any) -> None:
        """`say` a reply that shows the customer's words or data (see `privately`)."""
        await self.say(text, **fields)
        self.out[-1] = self.privately(self.out[-1])

    async def reply(self, text: str, *, private: bool = False, **fields: Any) -> Outbound:
        """A reply to the customer where they wrote, not put on the timeline (the
        caller records what it needs); `fields` as for `Outbound`, `private` as for
        `say_privately`."""
        message = self._outbound(await self._prefaced(text), **fields)
        return self.privately(message) if private else message

    def privately(self, message: Outbound) -> Outbound:
        """The message shows the customer's words or data (their case's story, an
        export, an erasure): it is marked private, and where they wrote is a shared
        place (a channel, a group), it is for their eyes alone there: the outbox
        sends a private message to a shared place only so (`Delivery.private_to`)."""
        address = message.address
        only = "" if address.private else self.inbound.identity.user_id
        return replace(message, delivery=replace(message.delivery, private=True, private_to=only))

    def introduce(self, words: Callable[[Turn], str]) -> None:
        """Say `words(turn)` at the start of this turn's first reply (and on the
        timeline as a greeting, just before that reply): the reply stays one message.
        The words are made when that reply is, from the case as it is then."""
        self.preface = words

    async def _prefaced(self, text: str) -> str:
        if self.preface is None:
            return text
        preface, self.preface = self.preface(self), None
        await self.record(EventKind.GREETING, preface, actor="bot")
        return f"{preface}\n\n{text}" if text else preface

    def _outbound(self, text: str, **fields: Any) -> Outbound:
        return Outbound(
            address=self.address,
            text=text,
            cause=Cause.REPLY,
            customer_id=self.customer.id,
            case_id=self.case.id,
            **fields,
        )

    async def save_case(self, **changes: object) -> None:
        self.case = replace(self.case, updated_at=self.now, **changes)  # type: ignore[arg-type]
        await self.tx.cases.update(self.case)

    def to_desk(self, text: str, purpose: Purpose) -> None:
        """The same message into the case's thread on every desk."""
        self.out += self.desk.to_desk(self.case, text, purpose=purpose)

    async def carry_on(self, text: str) -> None:
        """Handle `text` as plain text just written (a message held back while the bot
        asked something) through the message pipeline; then the turn goes on with
        what really arrived."""
        arrived = self.text, self.command
        self.text, self.command = text, None
        try:
            for step in self.services.registry.steps:
                if step.order == COMMANDS_STEP or not step.applies(self):
                    continue
                if await step.handler(self):
                    return
        finally:
            self.text, self.command = arrived

    # -- what the bot waits for ---------------------------------------------------------

    def waiting_for(self, *conversations: Conversation) -> bool:
        """Is the case waiting for one of these from the customer (and not lapsed)?"""
        case = self.case
        if case.conversation not in conversations or case.conversation is Conversation.NONE:
            return False
        return case.conversation_until is None or self.now < case.conversation_until

    async def wait_for(
        self,
        conversation: Conversation,
        *,
        within: timedelta | None = None,
        note: str = "",
        lapses: bool = True,
    ) -> None:
        """The customer's next move answers what the bot just asked: within `within`
        (the settings' choice window by default), or, with `lapses=False`, whenever
        it comes."""
        window = self.settings.choice_window if within is None else within
        await self.save_case(
            conversation=conversation,
            conversation_until=self.now + window if lapses else None,
            conversation_note=note,
        )

    async def stop_waiting(self) -> None:
        if self.case.conversation is not Conversation.NONE or self.case.conversation_note:
            await self.save_case(
                conversation=Conversation.NONE, conversation_until=None, conversation_note=""
            )
