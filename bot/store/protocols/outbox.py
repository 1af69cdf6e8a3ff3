"""`tx.outbox`: messages waiting to be sent, and what became of them."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.model import Outbound
from bot.store.protocols.personal import PersonalData


class Sendable(enum.Enum):
    """What `Store.sendable` found of a message just before it is sent."""

    YES = "yes"  # pending, and the process's to send
    GONE = "gone"  # erased (`/forget`), or no longer pending (sent, failed): never goes
    ANOTHERS = "another's"  # pending, but its chat is another process's to send now


class OutboxRows(PersonalData, Protocol):
    """Every message Candor sends is stored here first, in the transaction that made
    it. A message is `pending` until it is `sent` or `failed` (for good); then it
    stays, as a record, unless dropped. `Store.pending` reads what is due.

    Personal data: not exported (what was said is on the cases' timelines);
    `forget` erases every message to the customer or about their cases, sent or
    not; `merge` makes the merged customer's messages the kept customer's."""

    async def enqueue(self, message: Outbound, now: datetime) -> int:
        """Store `message` as pending, due at once; returns its id. Ids grow: a
        message enqueued later has a higher id."""

    async def mark_sent(self, message_id: int, platform_id: str, now: datetime) -> bool:
        """The message was sent at `now`, as the platform's message `platform_id`; one
        more attempt. Returns whether it found the message pending (False: erased
        meanwhile, or recorded already, by another process: nothing is changed, and
        nothing more may be written about it)."""

    async def mark_retry(self, message_id: int, not_before: datetime, error: str) -> bool:
        """The message stays pending, due again at `not_before`, one more attempt;
        `error` (its first 500 characters) says why. Returns whether it found the
        message pending (as `mark_sent`)."""

    async def mark_failed(self, message_id: int, error: str, now: datetime) -> bool:
        """The message will not be sent: failed at `now` for `error` (its first 500
        characters); one more attempt. Returns whether it found the message pending
        (as `mark_sent`)."""

    async def coalesce(
        self, keep_id: int, text: str, merged_ids: Sequence[int], now: datetime
    ) -> None:
        """Several pending messages go as one: `keep_id` stays pending with `text`
        (theirs, joined), and each of `merged_ids` is sent at `now` within it (its
        error names `keep_id`, its platform id is empty, its attempts unchanged)."""

    async def progress(self, message_id: int, data: Mapping[str, Any]) -> None:
        """How far the pending message's sender got (a small dict JSON can hold,
        opaque to the core): `Store.pending` gives it back as `Outbound.progress`
        until the message is sent or failed."""

    async def owned(self, process: str, channel: str, chat_id: str) -> bool:
        """Whether `process` still owns the chat (`OutboxSharing.claim`): nobody took
        it over, even if its lease lapsed meanwhile. While the transaction runs, nobody
        can take it: a record of what was sent is made only by the owner."""

    async def drop(self, message_id: int) -> None:
        """Remove a delivered message that must not be kept (it names someone who asked
        to be forgotten)."""
