"""How the model's values are kept in SQLite columns, and read back.

Times are Unix seconds (REAL, UTC); addresses, buttons and payloads are JSON text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
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
    " alerted_at, conversation, conversation_until, conversation_note, reply_to"
)
OUTBOX_COLUMNS = "id, address, customer_id, case_id, cause, text, buttons, meta, attempts"
EVENT_COLUMNS = "id, case_id, at, kind, actor, text, data"
CUSTOMER_COLUMNS = "c.id, c.name, c.created_at, c.last_seen_at, c.language, c.language_chosen"

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
    """What the dedupe log kept of a platform's event id before migration 011 (and
    what the keyed digest is made from)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def rekey(secret: bytes, old: str) -> str:
    """An unkeyed `digest` as kept since migration 011: keyed with the database's own
    secret (HMAC), so that ids cannot be found by hashing likely ones. Made from the
    old digest, so that the migration could turn every row kept before it into this
    form (a redelivered event from before the upgrade is still known)."""
    return hmac.new(secret, old.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def keyed_digest(secret: bytes) -> Callable[[str], str]:
    """What the dedupe log and the link codes keep of a key, in this database."""

    keyed_once = hmac.new(secret, digestmod=hashlib.sha256)  # copied: cheaper than keying

    def keyed(key: str) -> str:
        mac = keyed_once.copy()
        mac.update(digest(key).encode("ascii"))
        return mac.hexdigest()[:32]  # = rekey(secret, digest(key))

    return keyed


def address_json(address: Address) -> str:
    """[channel, chat_id, thread_id], and `1` after them for a private place (rows
    from before Candor knew were marked by migration 009; unmarked is shared)."""
    if address.private:
        return json.dumps([address.channel, address.chat_id, address.thread_id, 1])
    return json.dumps([address.channel, address.chat_id, address.thread_id])


def address_of(raw: str) -> Address:
    channel, chat_id, thread_id, *private = json.loads(raw)
    return Address(channel, chat_id, thread_id, private=bool(private and private[0]))


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
        reply_to=address_of(row[19]) if row[19] else None,
    )


def event_of(row: Sequence[Any]) -> Event:
    """An event from the columns of `EVENT_COLUMNS`, in that order."""
    return Event(
        row[0], row[1], utc(row[2]), EVENT_KINDS[row[3]], row[4], row[5], json.loads(row[6])
    )


class Unreadable(ValueError):
    """A stored row this Candor cannot read: a value it does not know (written by a
    newer version) or a damaged one. The message says which, and names no one."""


def outbound_of(row: Sequence[Any]) -> Outbound:
    """An outbox message from the columns of `OUTBOX_COLUMNS`, in that order; raises
    Unreadable for a row this Candor cannot read (it is never sent as it stands)."""
    if row[4] not in CAUSES:
        raise Unreadable(f"outbox message {row[0]}: unknown cause {str(row[4])[:40]!r}")
    try:
        return _outbound_of(row)
    except (ValueError, TypeError) as error:  # JSON that is not JSON, or the wrong shape
        raise Unreadable(f"outbox message {row[0]}: damaged ({type(error).__name__})") from error


def _outbound_of(row: Sequence[Any]) -> Outbound:
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
    return Customer(
        id=row[0],
        name=row[1],
        created_at=utc(row[2]),
        last_seen_at=dt(row[3]),
        language=str(row[4]),
        language_chosen=bool(row[5]),
    )


# The ids of a customer's cases, for the statements on rows of those cases.
CASES_OF_CUSTOMER = "SELECT id FROM cases WHERE customer_id = ?"
