"""How the model's values are kept in SQLite columns, and read back.

Times are Unix seconds (REAL, UTC); addresses, buttons and payloads are JSON text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.model import (
    Address,
    Button,
    Case,
    CaseState,
    Cause,
    Conversation,
    Customer,
    Delivery,
    Event,
    EventKind,
    Outbound,
)

CASE_COLUMNS = (
    "id, customer_id, state, subject, opened_at, updated_at, handover_reason, handed_over_at,"
    " agent, claimed_at, resolved_at, summary, draft_summary, pending_reason, unanswered,"
    " alerted_at, conversation, conversation_until, conversation_note"
)
OUTBOX_COLUMNS = "id, address, customer_id, case_id, cause, text, buttons, meta, attempts"
EVENT_COLUMNS = "id, case_id, at, kind, actor, text, data"
CUSTOMER_COLUMNS = "c.id, c.name, c.created_at, c.last_seen_at"

# Stored values back to their enums by a dict, not by calling the enum (a Python
# function call each): a turn reads up to 30 events, and every one has a kind.
EVENT_KINDS = {kind.value: kind for kind in EventKind}
CASE_STATES = {state.value: state for state in CaseState}
CONVERSATIONS = {waiting.value: waiting for waiting in Conversation}
CAUSES = {cause.value: cause for cause in Cause}


def ts(moment: datetime | None) -> float | None:
    """A time as stored."""
    return None if moment is None else moment.timestamp()


def dt(value: float | None) -> datetime | None:
    """A stored time that may be missing."""
    return None if value is None else utc(value)


def utc(value: float) -> datetime:
    """A stored time."""
    return datetime.fromtimestamp(value, UTC)


def iso(value: float | None) -> str | None:
    """A stored time as the exports write it."""
    return None if value is None else utc(value).isoformat()


def digest(key: str) -> str:
    """What the dedupe log keeps of a platform's event id."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def address_json(address: Address) -> str:
    return json.dumps([address.channel, address.chat_id, address.thread_id])


def address_of(raw: str) -> Address:
    channel, chat_id, thread_id = json.loads(raw)
    return Address(channel, chat_id, thread_id)


def case_of(row: Sequence[Any]) -> Case:
    """A case from the columns of `CASE_COLUMNS`, in that order."""
    return Case(
        id=row[0],
        customer_id=row[1],
        state=CASE_STATES[row[2]],
        subject=row[3],
        opened_at=utc(row[4]),
        updated_at=utc(row[5]),
        handover_reason=row[6],
        handed_over_at=dt(row[7]),
        agent=row[8],
        claimed_at=dt(row[9]),
        resolved_at=dt(row[10]),
        summary=row[11],
        draft_summary=row[12],
        pending_reason=row[13],
        unanswered=row[14],
        alerted_at=dt(row[15]),
        conversation=CONVERSATIONS[row[16]],
        conversation_until=dt(row[17]),
        conversation_note=row[18],
    )


def event_of(row: Sequence[Any]) -> Event:
    """An event from the columns of `EVENT_COLUMNS`, in that order."""
    return Event(
        row[0], row[1], utc(row[2]), EVENT_KINDS[row[3]], row[4], row[5], json.loads(row[6])
    )


def outbound_of(row: Sequence[Any]) -> Outbound:
    """An outbox message from the columns of `OUTBOX_COLUMNS`, in that order."""
    return Outbound(
        id=row[0],
        address=address_of(row[1]),
        customer_id=row[2],
        case_id=row[3],
        cause=CAUSES[row[4]],
        text=row[5],
        buttons=tuple(Button(label, payload) for label, payload in json.loads(row[6])),
        delivery=Delivery.from_json(json.loads(row[7])),
        attempts=row[8],
    )


def with_progress(message: Outbound, stored: str | None) -> Outbound:
    """A pending message with its sender's stored progress (`OutboxRows.progress`)."""
    if not stored or stored == "{}":
        return message
    try:
        data = json.loads(stored)
    except ValueError:
        return message
    return replace(message, progress=data) if isinstance(data, dict) and data else message


def customer_of(row: Sequence[Any]) -> Customer:
    """A customer from the columns of `CUSTOMER_COLUMNS`, in that order."""
    return Customer(id=row[0], name=row[1], created_at=utc(row[2]), last_seen_at=dt(row[3]))


# The ids of a customer's cases, for the statements on rows of those cases.
CASES_OF_CUSTOMER = "SELECT id FROM cases WHERE customer_id = ?"
