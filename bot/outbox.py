"""Delivery of outbound messages.

Messages are written to the outbox in the transaction that caused them; the
outbox sends them through the sender of their channel, in order per address and
concurrently across addresses, retries with exponential back-off (or the
platform's own Retry-After), and marks each one sent or, after the last attempt,
failed. Whatever is pending at a restart is sent after it. A reply to a customer is
never given up for an error that may pass: it is tried again, at the longest
back-off, and the desk is told that the case's replies are stuck.

A failure to record what became of a message (a full disk) never makes it go again:
what was sent but not recorded is remembered, passed over when read as pending, and
recorded when the store works again; meanwhile nothing new is sent (see
`bot.unrecorded`). A sender that needs several calls for a message reports how far
it got (`keep_progress`), stored with the row, so a try after a restart goes on.

Each address with something due gets a task of its own, which sends its messages
in order and ends; a pass starts tasks and does not wait for them. So a call that
hangs until the HTTP timeout, or a desk group paced at 20 messages a minute, holds
up its own address only, never everyone else's replies. What a pass reads (never
the rows a busy address has in hand) and when a task's end wakes one: `bot.passes`.

On a desk, each case is a lane of its own (`Lane`): its messages go in order, cases
concurrently, so that the sender can share a paced desk's budget between cases
(the Telegram sender takes them in turn, new cards first) instead of one busy
customer's relays holding up every other case. Within a case, a card that is due
goes before the case's other pending messages (they go into its thread), and a
burst of the customer's relayed words waiting at once becomes one message. A desk
thread that is gone (deleted by someone on the desk) is opened again with a new
card. Both in `bot.lanes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence, Set
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.i18n import held_notices
from bot.lanes import DeskLanes, Lane, in_thread, lane_of
from bot.logs import outage
from bot.model import Address, Cause, Delivery, Outbound
from bot.passes import NOTICES, InHand, ready
from bot.passes import PAGE as PAGE  # (what a pass reads at a time)
from bot.registry import Hold, NoticeRule
from bot.sharing import Sharing, fence, owned_only
from bot.store import Store
from bot.store.protocols import Sendable
from bot.tasks import cancel_and_wait
from bot.unrecorded import (
    REPLIES,
    STORE_RETRY_MAX,
    StuckReplies,
    Unrecorded,
    Waits,
    backoff,
    receipt,
    write_failed,
    write_progress,
    write_retry,
    write_sent,
    write_thread_opened,
)

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A sender could not deliver a message.

    `retry_after`: the platform asked to wait this long (rate limit). `permanent`:
    retrying cannot help (the chat is gone, the bot was blocked). `thread_gone`: the
    desk thread the message went into does not exist any more (someone deleted it);
    permanent for that thread, and the outbox opens the case a new one.
    """

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        thread_gone: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent or thread_gone
        self.thread_gone = thread_gone


@dataclass(frozen=True, slots=True)
class Sent:
    """What `Sender.send` may return instead of the id alone, for a card that is not
    its thread's own message (a Telegram forum topic's card): the thread, the card."""

    thread: str
    card_message: str = ""


class Sender(Protocol):
    """What an adapter gives the outbox: one channel's way of sending a message.

    One that can show a message to one person alone in a shared place (what
    `Delivery.private_to` asks) says so with a `shows_to_one = True` attribute;
    without it, such a message is refused (`unsolicited`), never shown to all."""

    channel: str

    async def send(self, message: Outbound) -> str | Sent:
        """Deliver the message; return the platform's id for it ("" if none). For a
        message to a desk, the id of the thread it is in (or that it starts), which
        agents' answers there will carry (with the card's own id, as `Sent`, where a
        card is not its thread's first message).

        Raise DeliveryError when it was not delivered."""


@dataclass(frozen=True, slots=True)
class NoticePolicy:
    """What the features say about notices: who may get one (by cause), and until
    when one waits for its customer. Empty: every notice goes, none waits."""

    rules: Mapping[Cause, NoticeRule] = field(default_factory=dict)
    holds: Sequence[Hold] = ()
    timezone: str = "UTC"  # holds see `now` in it (quiet hours are local times)


_PROGRESS: ContextVar[Callable[[Mapping[str, Any]], Awaitable[None]] | None] = ContextVar(
    "candor_outbox_progress", default=None
)


async def keep_progress(data: Mapping[str, Any]) -> None:
    """For a sender, while it sends a message in several calls: how far it got (a small
    dict that JSON can hold). The outbox stores it with the message's row, and a later
    try of the message, also after a restart, gets it back as `Outbound.progress`.
    Never raises: if it cannot be stored, a restart may repeat what was taken."""
    keep = _PROGRESS.get()
    if keep is not None:
        await keep(data)


_OPENED: ContextVar[Callable[[str], Awaitable[None]] | None] = ContextVar(
    "candor_outbox_opened", default=None
)


async def thread_opened(thread_id: str) -> None:
    """For a sender posting a case's card: the card's thread (a forum topic) exists now,
    before the card is in it. The outbox maps it to the case at once, so what an agent
    writes there as soon as it appears finds its case (it would be "Which case?" until
    the card was recorded). Never raises."""
    opened = _OPENED.get()
    if opened is not None and thread_id:
        await opened(thread_id)


class NoticeGate:
    """Whether a notice (an incident's, an idea's) may go now: only to whom its
    feature's rule allows, and not while its customer wants none (the features'
    holds: muted, quiet hours)."""

    def __init__(
        self,
        store: Store,
        policy: NoticePolicy,
        clock: Callable[[], datetime],
        wake_later: Callable[[float], None],
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self.wake_later = wake_later

    async def refused(self, message: Outbound) -> str:
        """A notice goes only to whom its feature's rule allows (an incident's to its
        subscribers, an idea's to its voters)."""
        rule = self._policy.rules.get(message.cause)
        if rule is None:
            return ""
        async with self._store.transaction() as tx:
            return await rule(tx, message, self._clock())

    async def held(self, message: Outbound) -> bool:
        """Hold a notice while its customer wants none now (the features' holds:
        muted, quiet hours)."""
        if message.customer_id is None or not self._policy.holds:
            return False
        now = self._clock().astimezone(ZoneInfo(self._policy.timezone))
        async with self._store.transaction() as tx:
            until: datetime | None = None
            for hold in self._policy.holds:
                until = await hold(tx, message, now)
                if until is not None:
                    break
            if until is None:
                return False
            await tx.notices.hold(message.id, until)
        self.wake_later((until - now).total_seconds())
        return True


class Outbox:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        policy: NoticePolicy = NoticePolicy(),
        max_attempts: int = 10,
        retry_base: float = 1.0,
        retry_max: float = 300.0,
        paused: bool = False,
        desks: Sequence[Address] = (),
        desk_channels: Collection[str] = (),
        stuck_alert: timedelta = timedelta(minutes=10),
        sharing: Sharing | None = None,
    ) -> None:
        self._store = store
        self.sharing = sharing  # several processes on one database (`bot.sharing`)
        self._sharing = [] if sharing is None else [sharing]
        self._policy = policy
        self._desks = {(a.channel, a.chat_id) for a in desks}
        self._desk_channels = frozenset(desk_channels)  # every address on them is a desk
        self._clock = clock
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._retry_max = retry_max
        self.paused = paused
        self._senders: list[tuple[Sender, str | None]] = []
        self._to_one: set[str] = set()
        self._wake = asyncio.Event()
        self._busy: dict[Lane, asyncio.Task[int]] = {}  # a lane's sending task
        self._in_hand = InHand()  # busy lanes' rows: not read again (`bot.passes`)
        # Sending tasks ended so far, when each address's last one did, and the count
        # when each pass now reading the outbox began: what a pass read about an
        # address whose task ended since may be stale (sent already), so it leaves
        # that address to the next pass.
        self._ended = 0
        self._ended_at: dict[Lane, int] = {}
        self._reading: list[int] = []
        # a case's desk messages: coalesced, and a new thread when theirs is gone
        self.desk_lanes = DeskLanes(store, clock, self.wake_later)
        # writes the store refused; addresses whose task failed; replies not getting through
        self._unrecorded = Unrecorded(clock, retry_base, self.wake_later)
        self._waits = Waits(clock, retry_base, self.wake_later)
        self._stuck = StuckReplies(desks, stuck_alert, policy.timezone)
        self._notices = NoticeGate(store, policy, clock, self.wake_later)

    def register(self, sender: Sender, chat_id: str | None = None) -> None:
        """Deliver this channel's messages (only those for `chat_id`, if given). Once:
        a channel started again after a failed start registers the same sender again."""
        if (sender, chat_id) in self._senders:
            return
        self._senders.append((sender, chat_id))
        for sharing in self._sharing:
            limit = getattr(sender, "overall_per_second", None)
            sharing.register(sender.channel, limit, getattr(sender, "spacing", None))
        if getattr(sender, "shows_to_one", False):
            self._to_one.add(sender.channel)  # it can show a message to one person alone

    def wake(self) -> None:
        self._wake.set()

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Deliver until cancelled: on every wake-up, and every `poll_seconds`
        (another process may have written to the outbox)."""
        failures = 0
        shared = [asyncio.create_task(s.run(self.wake, self._busy)) for s in self._sharing]
        try:
            while True:
                self._wake.clear()
                if not self.paused:
                    try:
                        await self._start_due()
                        failures = 0
                    except Exception:  # the store cannot be read: wait, longer each time
                        failures += 1
                        await _pause(backoff(poll_seconds, failures, STORE_RETRY_MAX))
                        continue
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the wait ends, and the loop never stops
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_seconds):
                        await self._wake.wait()
        finally:  # (nothing released: `Sharing.leave` does, at an orderly stop)
            await cancel_and_wait([*self._busy.values(), *shared])

    async def deliver_due(self) -> int:
        """Send every due message now and wait until that is done (the terminal chat
        and tests; `run` does not wait). Returns how many this call sent."""
        if self.paused:
            return 0
        sent = 0
        for _ in range(2):  # again for what a running task or a stale read held back
            started, running = await self._start_due()
            if not started and not running:
                break
            done = await asyncio.gather(*started, *running, return_exceptions=True)
            sent += sum(n for n in done[: len(started)] if isinstance(n, int))
        return sent

    async def pending_count(self, channel: str, chat_id: str | None = None) -> int:
        return len(await self._store.pending(channel, chat_id))

    async def _start_due(self) -> tuple[list[asyncio.Task[int]], list[asyncio.Task[int]]]:
        """Start a sending task for every address with due messages that has none;
        returns those started and those already running."""
        started: list[asyncio.Task[int]] = []
        if not await self._unrecorded.retry():  # the store refuses still: nothing new goes
            return started, list(self._busy.values())
        for sender, chat_id in self._senders:
            mark = self._ended
            self._reading.append(mark)
            try:
                queues, more = await self._in_hand.read(
                    self._store,
                    sender.channel,
                    chat_id,
                    self._clock(),
                    lambda message: lane_of(message, self._desks, self._desk_channels),
                    self._busy,
                    None if self.sharing is None else self.sharing.process,
                )
            finally:
                self._reading.remove(mark)
            now, todo = self._clock(), []
            for address, listed in queues.items():
                queue = self._unrecorded.passed_over(listed)
                if not ready(queue, now) or self._waits.waiting(address, now):
                    continue  # a back-off or a held notice: its wake-up is set already
                if address in self._busy:  # another pass started it meanwhile
                    self._in_hand.behind(address, listed)  # these wait for its end
                    continue
                if self._ended_at.get(address, 0) > mark:
                    self._wake.set()  # its task ended while this pass read: look again
                else:
                    todo.append((address, queue))
            first = len(started)
            for address, queue in await owned_only(self.sharing, todo):
                task = asyncio.create_task(self._send_address(sender, address, queue))
                self._busy[address] = task
                self._in_hand.take(address, queue)
                started.append(task)
            if more and len(started) > first:
                self._wake.set()  # it stopped reading at a bound: the next reads on
        if not self._reading:  # nobody can hold a stale read any more
            self._ended_at.clear()
        running = [task for task in self._busy.values() if task not in started]
        return started, running

    async def _send_address(
        self, sender: Sender, address: Lane, queue: list[tuple[Outbound, datetime]]
    ) -> int:
        whole = False  # every message in hand went: nothing of it is left to a pass
        try:
            queue = await self.desk_lanes.coalesce(queue)
            sent = await self._deliver_in_order(sender, queue)
            self._waits.done(address)
            whole = sent >= len(queue)
            return sent
        except Exception:  # never a silent end, never at once again (see `Waits`)
            self._waits.failed(address, sender.channel)
            return 0
        finally:
            del self._busy[address]
            self._ended += 1
            self._ended_at[address] = self._ended
            if self._in_hand.end(address) or not whole:
                self._wake.set()  # more came for it meanwhile, or some of it is left

    async def _deliver_in_order(
        self, sender: Sender, queue: list[tuple[Outbound, datetime]]
    ) -> int:
        """Send one address's messages in order; stop at the first that must wait."""
        sent = 0
        now = self._clock()
        notices = [m for m, due in queue if m.cause in NOTICES and due <= now]
        if len(notices) >= 2:
            sent += await self._summarise(sender, notices)
            queue = [(m, due) for m, due in queue if m not in notices]
        for message, due in queue:
            if due > self._clock() or self._unrecorded:  # (then nothing new: `Unrecorded`)
                if message.cause in NOTICES:
                    continue  # a held notice never holds up a reply
                return sent
            refusal = self.unsolicited(message) or await self._notices.refused(message)
            if refusal:
                log.error("outbox message %s refused: %s", message.id, refusal)
                await self._failed(message, f"refused: {refusal}", None, True)
                continue
            if message.cause in NOTICES and await self._notices.held(message):
                continue
            message = await in_thread(self._store, message)
            go = await _may_go(self._store, self.sharing, message)
            if go is None:
                return sent  # the lease is lost (or ends now): its next owner sends
            if not go:
                continue  # erased (`/forget`) or sent meanwhile: it never goes
            try:
                platform_id = await _send(self._store, sender, message)
            except DeliveryError as error:
                if error.thread_gone and await self.desk_lanes.thread_gone(message, str(error)):
                    return sent  # a new card goes first; the next pass sends the rest
                await self._failed(message, str(error), error.retry_after, error.permanent)
                if not error.permanent:
                    return sent
                continue
            except Exception as error:
                log.exception("sender %s raised on message %s", sender.channel, message.id)
                await self._failed(message, repr(error), None, False)
                return sent
            await self._sent(message, platform_id)
            sent += 1
        return sent

    async def _summarise(self, sender: Sender, notices: list[Outbound]) -> int:
        """Several notices due at once (held while muted): one message instead."""
        allowed = []
        for message in notices:
            refusal = self.unsolicited(message) or await self._notices.refused(message)
            if refusal:
                await self._failed(message, f"refused: {refusal}", None, True)
            elif not await self._notices.held(message):
                allowed.append(message)
        if len(allowed) < 2:
            one = [(message, self._clock()) for message in allowed]
            return await self._deliver_in_order(sender, one) if one else 0
        for message in list(allowed):  # each, just before they go (see `_may_go`)
            go = await _checked(self._store, self.sharing, message)
            if go is None:
                return 0
            if not go:
                allowed.remove(message)
        if not allowed:
            return 0
        if self.sharing is not None and not await self.sharing.may_send(allowed[0].address):
            return 0
        text = held_notices(allowed[0].delivery.language, [m.text for m in allowed])
        combined = replace(
            allowed[0], text=text, delivery=Delivery(summary_of=tuple(m.id for m in allowed))
        )
        if len(allowed) == 1:  # (the others went meanwhile: this one alone, as it is)
            combined = allowed[0]
        try:
            platform_id = _sent_as(await sender.send(combined))
        except DeliveryError as error:
            for message in allowed:
                await self._failed(message, str(error), error.retry_after, error.permanent)
            return 0
        for message in allowed:
            await self._sent(message, platform_id)
        return 1

    def unsolicited(self, message: Outbound) -> str:
        """Why a message must not leave, or "" (see `unsolicited`)."""
        return unsolicited(message, self._desks, self._desk_channels, self._to_one)

    async def _sent(self, message: Outbound, platform_id: str | Sent) -> None:
        now = self._clock()
        self._stuck.getting_through(message)
        receipted = receipt(message, delivered=True, reason="")
        sent = _sent_as(platform_id)
        args = (self._store, message, sent.thread, now, receipted, sent.card_message)
        write = functools.partial(write_sent, *args, fence=fence(self.sharing, message.address))
        await self._unrecorded.record(message.id, write, None)

    async def _failed(
        self, message: Outbound, reason: str, retry_after: float | None, permanent: bool
    ) -> None:
        attempt, now = message.attempts + 1, self._clock()
        due: datetime | None = None
        if permanent or (attempt >= self._max_attempts and message.cause not in REPLIES):
            log.error("giving up on message %s after %d attempts: %s", message.id, attempt, reason)
            receipted = receipt(message, delivered=False, reason=reason)
            tell = (
                [receipted] if receipted else self._stuck.tell(message, reason, now, given_up=True)
            )
            write = functools.partial(
                write_failed,
                self._store,
                message.id,
                reason,
                now,
                tell,
                erase=message.delivery.erase_when_sent,
            )
        else:  # a reply is never given up for an error that may pass: it waits the longest
            longest = attempt >= self._max_attempts
            delay = retry_after or backoff(self._retry_base, attempt, self._retry_max, longest)
            log.warning(
                "message %s not delivered (%s); retrying in %.1fs", message.id, reason, delay
            )
            due = now + timedelta(seconds=delay)
            tell = self._stuck.tell(message, reason, now, given_up=False)
            write = functools.partial(write_retry, self._store, message.id, due, reason, tell, now)
            self.wake_later(delay)
        await self._unrecorded.record(message.id, self._stuck.telling(write, tell, self.wake), due)

    def wake_later(self, delay: float) -> None:
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(delay, self._wake.set)


def unsolicited(
    message: Outbound,
    desks: Set[tuple[str, str]],
    desk_channels: Set[str] = frozenset(),
    to_one: Set[str] | None = None,
) -> str:
    """Why a message must not leave, or "". The bot writes to a customer only in
    answer to them, about their own case, or about an incident or idea they
    subscribed to; desk messages go only to desks; what is for one person's eyes
    (`Delivery.private`) is shown in a shared place only to them alone, where the
    channel's sender can (`to_one`: channels whose senders declare `shows_to_one`;
    None: not asked). Checked where every message leaves: no feature gets around it."""
    address = message.address
    to_desk = address.channel in desk_channels or (address.channel, address.chat_id) in desks
    if to_desk:  # one for an agent alone (a sign-in link): as one for a customer, below
        why = "" if message.cause is Cause.DESK else f"{message.cause.value} sent to a desk"
        return why or _shown_to_others(message, to_one)
    if message.cause is Cause.DESK:
        return "a desk message addressed to a customer"
    if message.cause not in (Cause.REPLY, Cause.CASE_UPDATE, Cause.INCIDENT, Cause.IDEA):
        return f"no allowed cause ({message.cause.value})"
    if message.cause is Cause.CASE_UPDATE and message.case_id is None:
        return "a case update without a case"
    return _shown_to_others(message, to_one)


def _shown_to_others(message: Outbound, to_one: Set[str] | None) -> str:
    """A customer's story, an agent's sign-in link: never where others read."""
    if not message.delivery.private or message.address.private:
        return ""
    if not message.delivery.private_to:
        return "private words to a shared place"
    if to_one is not None and message.address.channel not in to_one:
        return "private words to a shared place, on a channel that cannot show one person"
    return ""


async def _pause(delay: float) -> None:
    """After a failed pass: the next waits, whatever wakes the outbox meanwhile. (The
    database out of reach: the store has said so once for the outage.)"""
    level = logging.DEBUG if outage(sys.exc_info()[1]) else logging.ERROR
    log.log(level, "outbox pass failed; trying again in %.1fs", delay, exc_info=True)
    await asyncio.sleep(delay)


async def _may_go(store: Store, sharing: Sharing | None, message: Outbound) -> bool | None:
    """Just before a message is sent: whether it goes. None: its chat is not this
    process's (the lease lost, or ending now): nothing more goes there (its next
    owner sends it, in order). False: it is erased (`/forget`), or no longer pending
    (sent by the process that took the chat over while this one was paused):
    dropped from the queue, the others go on. The database is asked (one read)
    before the wait for the channel's share of the overall rate, not after it: what
    the pacer lets through must reach the platform at once, or sends taken one by
    one arrive bunched (three processes at 90 a second overall: 170 in one second
    when the read came between)."""
    go = await _checked(store, sharing, message)
    if go and sharing is not None and not await sharing.may_send(message.address):
        return None
    return go


async def _checked(store: Store, sharing: Sharing | None, message: Outbound) -> bool | None:
    """The database's word on the message (`Store.sendable`: one read), as `_may_go`."""
    if not message.id:
        return True  # (not stored: nothing to ask)
    found = await store.sendable(message.id, None if sharing is None else sharing.process)
    if found is Sendable.ANOTHERS:
        log.info("message %s: its chat is another process's now", message.id)
        return None
    if found is Sendable.GONE:
        log.debug("message %s is erased or sent meanwhile: not sent", message.id)
        return False
    return True


def _sent_as(platform_id: str | Sent) -> Sent:
    return platform_id if isinstance(platform_id, Sent) else Sent(platform_id)


async def _send(store: Store, sender: Sender, message: Outbound) -> str | Sent:
    """`sender.send`, with its progress (`keep_progress`) stored on the message's row."""
    token = _PROGRESS.set(functools.partial(write_progress, store, message.id))
    opened = _OPENED.set(functools.partial(write_thread_opened, store, message))
    try:
        return await sender.send(message)
    finally:
        _OPENED.reset(opened)
        _PROGRESS.reset(token)
