"""What the outbox keeps in memory when delivery and the store disagree.

`Unrecorded`: writes about messages that the store refused (a full disk, a lock
held too long): a message the platform took is sent, whether or not the store could
record it, so it is passed over when read as pending, and the write is tried again
later, with back-off. A failure to record a send never causes a resend. While the
store refuses, nothing new is sent: a restart before the store works again sends
what was not recorded once more (the at-least-once window), so that window holds
only the messages in flight when the store began to refuse.

`StuckReplies`: replies to customers that are not getting through, by case, so that
the desk is told once per case (see `Outbox`). `Waits`: addresses whose sending
task failed, each waiting longer after each failure. And the outbox's writes of what
became of a message, which `Unrecorded.record` runs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.lanes import Lane
from bot.logs import outage
from bot.model import Address, Button, Cause, Delivery, Outbound, Purpose
from bot.store import Store, Transaction
from bot.store.protocols import Sendable

log = logging.getLogger(__name__)

REPLIES = (Cause.REPLY, Cause.CASE_UPDATE)  # never given up for an error that may pass
STORE_RETRY_MAX = 60.0  # the longest wait before the store is tried again (seconds)
BLOCKING_TRIES = 10  # a refused write holds up new sends for at most this many tries

Write = Callable[[], Awaitable[None]]
Clock = Callable[[], datetime]


def backoff(base: float, failures: int, cap: float, longest: bool = False) -> float:
    """The wait after `failures` failures in a row: doubling from `base`, at most `cap`
    (`cap` at once if `longest`)."""
    return cap if longest else min(cap, base * 2.0 ** min(failures - 1, 60))


@dataclass(slots=True)
class _Entry:
    """A refused write: tried again later; meanwhile its message is passed over
    (`until` None: it was sent, or failed for good), or not due before `until` (a
    retry whose new due time was not stored)."""

    write: Write
    until: datetime | None
    tries: int = 0  # tried again and refused

    @property
    def blocking(self) -> bool:
        """Whether it holds up new sends: until it is plainly about this write, not the
        store (others were stored meanwhile, or it was refused `BLOCKING_TRIES` times)."""
        return self.tries < BLOCKING_TRIES


class Unrecorded:
    """The writes about messages that the store refused, by message."""

    def __init__(
        self,
        clock: Clock,
        base: float,
        wake_later: Callable[[float], None],
    ) -> None:
        self._clock = clock
        self._base = base
        self._wake_later = wake_later
        self._entries: dict[int, _Entry] = {}
        self._retry_at: datetime | None = None
        self._failures = 0  # in a row: the back-off

    def __bool__(self) -> bool:
        """Whether the store refuses writes now: then nothing new is sent."""
        return any(entry.blocking for entry in self._entries.values())

    async def record(self, message_id: int, write: Write, until: datetime | None) -> None:
        """Run `write` (what became of the message); if the store refuses it, keep it
        for later (see `_Entry` for `until`). A later write about the same message
        replaces an earlier one."""
        self._entries.pop(message_id, None)
        try:
            await write()
        except Exception as error:
            self._entries[message_id] = _Entry(write, until)
            self._refused(error)

    def _refused(self, error: Exception) -> None:
        self._failures += 1
        delay = backoff(self._base, self._failures, STORE_RETRY_MAX)
        self._retry_at = self._clock() + timedelta(seconds=delay)
        # the database out of reach: said once (and once for the outage, by the store)
        again = self._failures > 1 and outage(error)
        log.log(
            logging.DEBUG if again else logging.ERROR,
            "the store refused what became of %d message(s) (%r); they are not sent"
            " again, and are recorded in %.1fs",
            len(self._entries),
            error,
            delay,
        )
        self._wake_later(delay)

    async def retry(self) -> bool:
        """Try the refused writes again, once their back-off has passed; whether new
        sends may go (nothing refused holds them up)."""
        if not self._entries or (self._retry_at and self._clock() < self._retry_at):
            return not self
        refused: Exception | None = None
        stored = False
        tried = list(self._entries.items())
        for message_id, entry in tried:
            if self._entries.get(message_id) is not entry:
                continue  # replaced by a later write meanwhile
            try:
                await entry.write()
            except Exception as error:
                refused, entry.tries = error, entry.tries + 1
                continue
            stored = True
            if self._entries.get(message_id) is entry:
                del self._entries[message_id]
        if refused is None:
            log.info("the store works again: what became of every message is recorded")
            self._failures, self._retry_at = 0, None
            return not self
        for message_id, entry in tried:
            if self._entries.get(message_id) is not entry:
                continue
            if (stored and entry.blocking) or entry.tries == BLOCKING_TRIES:
                entry.tries = max(entry.tries, BLOCKING_TRIES)
                log.error(
                    "what became of message %s cannot be recorded; it is not sent again,"
                    " and no longer holds up the others",
                    message_id,
                )
        self._refused(refused)
        return not self

    def passed_over(
        self, queue: list[tuple[Outbound, datetime]]
    ) -> list[tuple[Outbound, datetime]]:
        """An address's pending messages without those sent (or failed) whose record
        the store refused, and with the due time of a retry it did not store."""
        if not self._entries:
            return queue
        kept = []
        for message, due in queue:
            entry = self._entries.get(message.id)
            if entry is None:
                kept.append((message, due))
            elif entry.until is not None:
                kept.append((message, max(due, entry.until)))
        return kept


class StuckReplies:
    """Replies to customers not getting through, by case: since when, and whether the
    desk was told. In memory: after a restart the desk may be told once more."""

    def __init__(self, desks: Sequence[Address], alert_after: timedelta, timezone: str) -> None:
        self._desks = tuple(desks)
        self._alert_after = alert_after
        self._tz = ZoneInfo(timezone)
        self._since: dict[int, datetime] = {}
        self._told: set[int] = set()

    def getting_through(self, message: Outbound) -> None:
        """A reply on its case was sent: a later stuck one is told again."""
        if message.cause in REPLIES and message.case_id is not None:
            self._since.pop(message.case_id, None)
            self._told.discard(message.case_id)

    def tell(
        self, message: Outbound, reason: str, now: datetime, *, given_up: bool
    ) -> list[Outbound]:
        """What to tell the desk, once per case, about a reply that failed: given up,
        or failing since longer than `alert_after` (nothing otherwise)."""
        case_id = message.case_id
        if message.cause not in REPLIES or case_id is None:
            return []
        since = self._since.setdefault(case_id, now)
        if case_id in self._told or (not given_up and now - since < self._alert_after):
            return []
        text = (
            f"⚠ Replies to the customer on case #{case_id} are not getting through"
            f" since {since.astimezone(self._tz).strftime('%H:%M')}: {reason}."
        )
        text += (
            " This one was given up; reach them another way."
            if given_up
            else " Candor keeps trying."
        )
        return [
            Outbound(
                address=address,
                text=text,
                cause=Cause.DESK,
                case_id=case_id,
                delivery=Delivery(purpose=Purpose.RECEIPT, in_thread=True, delivered=False),
            )
            for address in self._desks
        ]

    def told(self, messages: Collection[Outbound]) -> None:
        """The desk was told (these were stored)."""
        self._told.update(m.case_id for m in messages if m.case_id is not None)

    def telling(self, write: Write, tell: Collection[Outbound], wake: Callable[[], None]) -> Write:
        """`write`, which stores `tell` too; once it has, the desk counts as told."""

        async def written() -> None:
            await write()
            self.told(tell)
            if tell:
                wake()

        return written


class Waits:
    """Lanees whose sending task failed (the store, a bug): the failure is logged
    (never "Task exception was never retrieved"), and each waits before its next
    task, longer after each failure in a row, instead of trying again at once."""

    def __init__(self, clock: Clock, base: float, wake_later: Callable[[float], None]) -> None:
        self._clock = clock
        self._base = base
        self._wake_later = wake_later
        self._until: dict[Lane, tuple[datetime, int]] = {}

    def failed(self, address: Lane, channel: str) -> None:
        """Its task failed (call in the `except` block)."""
        _, failures = self._until.get(address, (self._clock(), 0))
        delay = backoff(self._base, failures + 1, STORE_RETRY_MAX)
        self._until[address] = (self._clock() + timedelta(seconds=delay), failures + 1)
        level = logging.DEBUG if outage(sys.exc_info()[1]) else logging.ERROR  # (said once)
        log.log(
            level,
            "sending on %s stopped; trying that chat again in %.1fs",
            channel,
            delay,
            exc_info=True,
        )
        self._wake_later(delay)

    def done(self, address: Lane) -> None:
        self._until.pop(address, None)

    def waiting(self, address: Lane, now: datetime) -> bool:
        until = self._until.get(address)
        return until is not None and now < until[0]


# -- what became of a message, as the outbox stores it ---------------------------------------


async def write_sent(
    store: Store,
    message: Outbound,
    platform_id: str,
    now: datetime,
    receipt: Outbound | None,
    card_message: str = "",
    *,
    fence: Callable[[Transaction], Awaitable[bool]] | None = None,
) -> None:
    async with store.transaction() as tx:
        if fence is not None and not await fence(tx):
            # another process owns the address now: it sends the message (again),
            # and records it; this record would be over its own
            log.warning("message %s was sent, but the address is another's now", message.id)
            return
        if message.delivery.erase_when_sent:
            await tx.outbox.drop(message.id)
            return
        if not await tx.outbox.mark_sent(message.id, platform_id, now):
            # erased meanwhile (`/forget`: nothing about it may come back, no receipt
            # quoting it, no thread of its case), or recorded by another process
            log.debug("message %s was sent, but is erased or recorded already", message.id)
            return
        if message.cause is Cause.DESK and message.case_id is not None and platform_id:
            # Whatever an agent answers (the card's thread, a reply to this message)
            # finds its case through this stored mapping, never through the text.
            thread = Address(message.address.channel, message.address.chat_id, platform_id)
            card = message.delivery.card and not message.address.thread_id
            mine = card_message if card else ""  # the card's own message, if not the thread
            await tx.desk.map_thread(thread, message.case_id, card=card, card_message=mine)
        if receipt is not None:
            await tx.outbox.enqueue(receipt, now)


async def write_failed(
    store: Store,
    message_id: int,
    reason: str,
    now: datetime,
    extra: Sequence[Outbound],
    *,
    erase: bool = False,
) -> None:
    async with store.transaction() as tx:
        if erase:  # it names someone who asked to be forgotten: not kept, sent or not
            await tx.outbox.drop(message_id)
        elif not await tx.outbox.mark_failed(message_id, reason, now):
            log.debug("message %s failed, but is erased or recorded already", message_id)
            return  # (nothing about an erased message: see `write_sent`)
        for message in extra:
            await tx.outbox.enqueue(message, now)


async def write_retry(
    store: Store,
    message_id: int,
    due: datetime,
    reason: str,
    extra: Sequence[Outbound],
    now: datetime,
) -> None:
    async with store.transaction() as tx:
        if not await tx.outbox.mark_retry(message_id, due, reason):
            log.debug("message %s is erased or recorded already: no retry", message_id)
            return  # (nothing about an erased message: see `write_sent`)
        for message in extra:
            await tx.outbox.enqueue(message, now)


async def write_progress(store: Store, message_id: int, data: Mapping[str, Any]) -> None:
    """A sender's progress with a message (see `keep_progress`); never raises: if it
    cannot be stored, only a restart may repeat what the platform took."""
    try:
        async with store.transaction() as tx:
            await tx.outbox.progress(message_id, data)
    except Exception as error:
        log.warning("progress of message %s not stored: %r", message_id, error)


async def write_thread_opened(store: Store, message: Outbound, thread_id: str) -> None:
    """The thread a card opened (see `outbox.thread_opened`), mapped to its case before
    the card is posted in it; never raises: if it cannot be stored now, it is when the
    card is recorded as sent."""
    if message.cause is not Cause.DESK or message.case_id is None or not message.delivery.card:
        return
    thread = Address(message.address.channel, message.address.chat_id, thread_id)
    try:
        if message.id and await store.sendable(message.id) is Sendable.GONE:
            return  # its case's customer was erased meanwhile: no thread of it comes back
        async with store.transaction() as tx:
            await tx.desk.map_thread(thread, message.case_id, card=True)
    except Exception as error:
        log.warning("thread of message %s not mapped yet: %r", message.id, error)


def receipt(message: Outbound, *, delivered: bool, reason: str) -> Outbound | None:
    """The delivery receipt a desk asked for (`Delivery.receipt_to`)."""
    target = message.delivery.receipt_to
    if target is None:
        return None
    quoted = " ".join(message.text.split())
    quoted = quoted if len(quoted) <= 60 else quoted[:59] + "…"
    if delivered:
        text = f"✓ Delivered to the customer: “{quoted}”"
    else:
        text = (
            f"✗ NOT delivered to the customer: “{quoted}”. Reason: {reason}. The customer has"
            " not seen this reply; try again later or reach them another way."
        )
    # a reply that arrived may become an article (bot/features/drafts.py: /article)
    article = delivered and message.case_id is not None
    article = article and message.delivery.purpose is Purpose.AGENT_REPLY
    return Outbound(
        address=target,
        text=text,
        cause=Cause.DESK,
        case_id=message.case_id,
        buttons=(Button("Make an article", f"desk:article:{message.case_id}"),) if article else (),
        delivery=Delivery(purpose=Purpose.RECEIPT, in_thread=True, delivered=delivered),
    )
