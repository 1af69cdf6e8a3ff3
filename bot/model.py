"""The neutral vocabulary shared by the core and every adapter.

Everything here is a frozen dataclass: values that move between the adapters,
the engine and the store, never objects with behaviour or platform types.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class InboundKind(enum.StrEnum):
    """What an inbound platform event is, as far as the core cares."""

    START = "start"  # the customer opened the conversation (console start, Telegram /start)
    MESSAGE = "message"  # text (commands are text too: the core decides what a command is)
    BUTTON = "button"  # a press on a button the bot offered; `payload` says which
    EDIT = "edit"  # the customer edited an earlier message
    ATTACHMENT = "attachment"  # a file, photo or voice message, possibly with a caption
    OTHER = "other"  # something the bot cannot use (a sticker, a location); `text` names it


class CaseState(enum.StrEnum):
    BOT = "bot"  # the bot is handling it
    WAITING = "waiting"  # handed over, in the queue for a person
    AGENT = "agent"  # a person has claimed it
    RESOLVED = "resolved"


class Cause(enum.StrEnum):
    """Why a message to a customer exists. The outbox refuses anything else."""

    REPLY = "reply"  # an answer to something the customer just sent
    CASE_UPDATE = "case_update"  # about the customer's own case (a person replied, resolved…)
    INCIDENT = "incident"  # an incident the customer is subscribed to
    IDEA = "idea"  # an idea the customer voted for
    DESK = "desk"  # to the agents on a desk, never to a customer


class Conversation(enum.StrEnum):
    """What the bot is waiting for from the customer on a case, stored on the case
    (never re-derived from the timeline), each with its own expiry."""

    NONE = ""  # nothing: the next message is taken as it comes
    AWAITING_SUMMARY_CHOICE = "awaiting_summary_choice"  # summary shown: send, add or cancel
    ADDING_TO_SUMMARY = "adding_to_summary"  # pressed "Add something": next text goes in
    AWAITING_RATING_COMMENT = "awaiting_rating_comment"  # rated, asked "anything to add?"
    AWAITING_FORGET_CONFIRMATION = "awaiting_forget_confirmation"  # /forget asked yes or no
    AWAITING_REOPEN_CHOICE = "awaiting_reopen_choice"  # is this about the resolved case?
    AWAITING_IDEA_CHOICE = "awaiting_idea_choice"  # is this idea the same as a known one?
    # answered or offered articles: the next message may refer to them (features/recent.py)
    AWAITING_FOLLOW_UP = "awaiting_follow_up"


class EventKind(enum.StrEnum):
    """The kinds of entries on a case's timeline."""

    CUSTOMER = "customer"  # the customer wrote something
    EDIT = "edit"  # the customer edited an earlier message
    ATTACHMENT = "attachment"  # the customer sent a file
    GREETING = "greeting"  # the bot introduced itself or welcomed the customer back
    ANSWER = "answer"  # the bot answered from an article
    CLARIFY = "clarify"  # the bot asked which of a few articles was meant
    UNKNOWN = "unknown"  # the bot said it does not know
    BOT = "bot"  # any other bot reply (help, status, notices)
    HANDOVER = "handover"  # the case went to the queue for a person
    CLAIM = "claim"  # a person took the case
    AGENT = "agent"  # a person wrote to the customer
    NOTE = "note"  # an internal note, never shown to the customer
    STATE = "state"  # any other change of state (resolved, reopened, back to bot)
    RATING = "rating"  # the customer rated the handling of a resolved case


@dataclass(frozen=True, slots=True)
class Identity:
    """Who someone is on one platform: (channel, workspace, user id) is unique."""

    channel: str
    workspace: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes on a platform. Opaque to the core: adapters fill it.

    `private`: only the customer (and the bot) can read what is said there (a direct
    message, a private chat, the terminal). False, the safe default, is a shared
    place others read too (a channel, a group). It is not part of the address's
    identity: equal addresses are the same place however they were learnt."""

    channel: str
    chat_id: str
    thread_id: str = ""
    private: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # "photo", "document", "voice", "file" …
    ref: str  # the platform's reference (a Telegram file id, a Slack file id)
    caption: str = ""
    name: str = ""


class IncidentState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IdeaState(enum.StrEnum):
    OPEN = "open"
    PLANNED = "planned"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Incident:
    """Something wrong that agents declared; customers who write about it hear of it."""

    id: int
    title: str
    affected: str
    words: tuple[str, ...]
    state: IncidentState
    opened_by: str
    opened_at: datetime
    resolved_at: datetime | None = None
    latest: str = ""  # the latest update's text
    latest_at: datetime | None = None
    community: str = ""  # where customers work on it together (an http(s) URL, "": none)


@dataclass(frozen=True, slots=True)
class Idea:
    id: int
    text: str
    state: IdeaState
    note: str
    votes: int


@dataclass(frozen=True, slots=True)
class PendingLink:
    """A `/link` code entered on another channel, waiting for both sides to say yes:
    first the customer who entered it (`entered_by`), then the one who asked for it
    (`asked_by`). Nothing is joined before both did."""

    id: int
    asked_by: int
    entered_by: int
    entered_yes: bool  # the one who entered the code said yes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a customer did on a platform, in the core's words."""

    key: str  # the platform's unique id for the event: the dedupe key
    identity: Identity
    address: Address  # where replies go
    kind: InboundKind = InboundKind.MESSAGE
    text: str = ""
    payload: str = ""  # for BUTTON: what the button carried
    display_name: str = ""
    attachments: tuple[Attachment, ...] = ()
    edited_key: str = ""  # for EDIT: the key of the message that was edited
    language_hint: str = ""  # the platform's guess at the sender's language ("de", "pt-br")


class Purpose(enum.StrEnum):
    """What a message is for: desks show it, tests and logs name it."""

    MESSAGE = ""  # a reply or update to a customer
    AGENT_REPLY = "agent_reply"  # an agent's words to the customer
    CARD = "card"  # a case's card on a desk
    CARD_UPDATE = "card_update"  # the card as it stands now
    RELAY = "relay"  # the customer's words, for the person on the case
    EDIT = "edit"
    ATTACHMENT = "attachment"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    TO_BOT = "to_bot"
    REOPENED = "reopened"  # a resolved case opened again by its customer
    TRANSFERRED = "transferred"
    REMINDER = "reminder"
    RATING = "rating"
    FEEDBACK = "feedback"
    IDEA = "idea"
    INCIDENT = "incident"
    LINKED = "linked"
    FORGOTTEN = "forgotten"
    RECEIPT = "receipt"
    DESK_REPLY = "desk_reply"  # the desk answering the agent who typed

    @classmethod
    def of(cls, value: object) -> Purpose:
        try:
            return cls(str(value or ""))
        except ValueError:
            return cls.MESSAGE


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file the bot sends with a message (the /mydata export)."""

    name: str
    text: str
    type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the outbox and the sender do around sending a message, beyond its text.

    Stored with the message (as JSON under the same keys as before it was typed,
    so rows written by an older Candor are read as they were meant)."""

    purpose: Purpose = Purpose.MESSAGE
    in_thread: bool = False  # into the case's thread on each desk
    card: bool = False  # the case's card: the sent message becomes the case's thread
    card_update: bool = False  # the card again, for desks that can edit the one they sent
    title: str = ""  # the card's title (a Telegram forum topic's name)
    # A card (update) of a resolved case: where a desk can close the case's thread (a
    # Telegram forum topic), it does; an update without it opens the thread again.
    closed: bool = False
    # A card update: the platform's id of the card message to edit, where it is not
    # the thread's own (a Telegram topic's card); filled in by the outbox as it sends.
    card_message: str = ""
    receipt_to: Address | None = None  # tell this desk thread whether it was delivered
    only_to: str = ""  # a desk message only this agent should see, where the desk can
    file: SentFile | None = None
    attachments: tuple[Attachment, ...] = ()  # the customer's files, relayed to a desk
    incident: int | None = None  # an incident notice: the incident
    idea: int | None = None  # an idea notice: the idea
    erase_when_sent: bool = False  # the row names someone who asked to be forgotten
    summary_of: tuple[int, ...] = ()  # several held notices sent as this one
    delivered: bool | None = None  # a receipt: whether the reply arrived
    # Shows the customer's words or data (their timeline, an export, an erasure):
    # never shown in a shared place (the outbox refuses it) unless `private_to` ...
    private: bool = False
    # ... names the only person who may see it there (their user id on the channel):
    # the sender shows it to them alone (Slack: an ephemeral message, or for a file
    # their direct messages), or does not send it.
    private_to: str = ""
    # a notice (incident, idea): the language it was written in, for what the outbox
    # adds to it (several held ones sent as one)
    language: str = ""

    def to_json(self) -> dict[str, Any]:
        """The stored form: only what is set."""
        if self is NO_DELIVERY:  # most messages: a plain reply
            return {}
        data: dict[str, Any] = {}
        if self.purpose:
            data["kind"] = self.purpose.value
        if self.in_thread:
            data["thread"] = True
        if self.card:
            data["card"] = True
        if self.card_update:
            data["card_update"] = True
        if self.title:
            data["title"] = self.title
        if self.closed:
            data["closed"] = True
        if self.card_message:
            data["card_message"] = self.card_message
        if self.receipt_to is not None:
            address = self.receipt_to
            data["receipt"] = [address.channel, address.chat_id, address.thread_id]
        if self.only_to:
            data["to_user"] = self.only_to
        if self.file is not None:
            data["file"] = {"name": self.file.name, "type": self.file.type, "text": self.file.text}
        if self.attachments:
            data["attachments"] = [
                {"kind": a.kind, "ref": a.ref, "caption": a.caption, "name": a.name}
                for a in self.attachments
            ]
        for key in ("incident", "idea", "delivered"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.erase_when_sent:
            data["erase_when_sent"] = True
        if self.summary_of:
            data["summary_of"] = list(self.summary_of)
        if self.private:
            data["private"] = True
        if self.private_to:
            data["private_to"] = self.private_to
        if self.language:
            data["language"] = self.language
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        """The stored form back (unknown or malformed keys are left out)."""
        if not data:
            return NO_DELIVERY
        receipt = data.get("receipt")
        file = data.get("file")
        attachments = data.get("attachments")
        return cls(
            purpose=Purpose.of(data.get("kind")),
            in_thread=bool(data.get("thread")),
            card=bool(data.get("card")),
            card_update=bool(data.get("card_update")),
            title=str(data.get("title") or ""),
            closed=bool(data.get("closed")),
            card_message=str(data.get("card_message") or ""),
            receipt_to=Address(str(receipt[0]), str(receipt[1]), str(receipt[2]))
            if isinstance(receipt, list) and len(receipt) == 3
            else None,
            only_to=str(data.get("to_user") or ""),
            file=SentFile(
                str(file.get("name") or "file.txt"),
                str(file.get("text") or ""),
                str(file.get("type") or "text/plain"),
            )
            if isinstance(file, Mapping)
            else None,
            attachments=tuple(
                Attachment(
                    str(a.get("kind", "")),
                    str(a.get("ref", "")),
                    str(a.get("caption", "")),
                    str(a.get("name", "")),
                )
                for a in attachments
                if isinstance(a, Mapping)
            )
            if isinstance(attachments, list)
            else (),
            incident=_whole(data.get("incident")),
            idea=_whole(data.get("idea")),
            erase_when_sent=bool(data.get("erase_when_sent")),
            summary_of=tuple(n for n in data.get("summary_of") or () if isinstance(n, int)),
            delivered=data.get("delivered") if isinstance(data.get("delivered"), bool) else None,
            private=bool(data.get("private")),
            language=str(data.get("language") or "")[:8],
            private_to=str(data.get("private_to") or ""),
        )


NO_DELIVERY = Delivery()  # nothing to do around sending: a plain message


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message for a customer or a desk, as the core wrote it (Markdown)."""

    address: Address
    text: str
    cause: Cause
    customer_id: int | None = None
    case_id: int | None = None
    buttons: tuple[Button, ...] = ()
    delivery: Delivery = NO_DELIVERY  # what to do around sending it
    id: int = 0  # the outbox row; 0 until stored
    attempts: int = 0
    # how far its sender got in earlier tries (`bot.outbox.keep_progress`): opaque here
    progress: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    created_at: datetime
    last_seen_at: datetime | None = None
    language: str = ""  # the language the bot speaks to them ("": not settled yet)
    language_chosen: bool = False  # they chose it (/language): what they write keeps it


@dataclass(frozen=True, slots=True)
class Case:
    id: int  # shown to people as #id
    customer_id: int
    state: CaseState
    subject: str
    opened_at: datetime
    updated_at: datetime
    handover_reason: str = ""
    handed_over_at: datetime | None = None
    agent: str = ""
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""  # what the customer confirmed for the person who takes over
    draft_summary: str = ""  # shown to the customer, waiting for their confirmation
    pending_reason: str = ""  # why a handover waits for that confirmation
    unanswered: int = 0  # questions in a row the bot could not answer
    alerted_at: datetime | None = None  # last reminder on the desk that it waits
    conversation: Conversation = Conversation.NONE  # what the bot waits for from them
    conversation_until: datetime | None = None  # when that wait lapses (None: never)
    conversation_note: str = ""  # what the wait carries (the question held back, …)
    # where the customer's words on this case were last said: where a person's
    # answers to them go (None: not known, cases from before Candor kept it)
    reply_to: Address | None = None

    @property
    def is_open(self) -> bool:
        return self.state is not CaseState.RESOLVED


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    case_id: int
    at: datetime
    kind: EventKind
    actor: str  # "customer", "bot", "system" or an agent's name
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What `Engine.receive` tells the adapter once the inbound is committed."""

    duplicate: bool
    case_id: int | None = None
