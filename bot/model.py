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
    AWAITING_RATING = "awaiting_rating"  # resolved, rating buttons shown
    AWAITING_RATING_COMMENT = "awaiting_rating_comment"  # rated, asked "anything to add?"
    AWAITING_FORGET_CONFIRMATION = "awaiting_forget_confirmation"  # /forget asked yes or no
    AWAITING_REOPEN_CHOICE = "awaiting_reopen_choice"  # is this about the resolved case?


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
    """Where a message goes on a platform. Opaque to the core: adapters fill it."""

    channel: str
    chat_id: str
    thread_id: str = ""


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


@dataclass(frozen=True, slots=True)
class Incident:
    """Something wrong that agents declared; customers who write about it hear of it."""

    id: int
    title: str
    affected: str
    words: tuple[str, ...]
    state: str  # "open" or "resolved"
    opened_by: str
    opened_at: datetime
    resolved_at: datetime | None = None
    latest: str = ""  # the latest update's text
    latest_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Idea:
    id: int
    text: str
    state: str  # "open", "planned" or "done"
    note: str
    votes: int


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


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message for a customer, as the core wrote it (Markdown)."""

    address: Address
    text: str
    cause: Cause
    customer_id: int | None = None
    case_id: int | None = None
    buttons: tuple[Button, ...] = ()
    # What the outbox does around sending: {"case": id, "thread": True} sends into the
    # case's thread on a desk; {"card": id} makes the sent message that thread;
    # {"receipt": [channel, chat_id, thread_id]} reports delivery to that desk.
    meta: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0  # the outbox row; 0 until stored
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    created_at: datetime
    last_seen_at: datetime | None = None


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
