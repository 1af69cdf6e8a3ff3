"""This process's part in an outbox several processes share (one PostgreSQL).

Each address (a channel's chat) is sent to by one process at a time, its owner: the
outbox sends only to the addresses it claimed (`claim`), and so keeps their order
(one owner sends an address's messages in id order) and the platforms' per-chat and
per-group pacing (one process's pacer sees every message to the chat). The owner's
lease is renewed every `heartbeat` seconds while it works, and released when it has
had nothing to send to the address for `linger` seconds (long enough that the next
owner's first message cannot come too soon after this one's last) or when the
process stops (`leave`). A process killed, or paused past its lease, loses its
addresses to whoever claims them next; it checks its lease before every send
(`holds`, on its own clock, counted from before each renewal was asked for: never
later than the server's), and the record of a send is made only while it still owns
the address (`fenced`), so the at-least-once window stays one write wide.

The platforms' overall limits (Telegram's 30 messages a second per bot) are divided
between the live processes that send on such a channel, each registered with a
heartbeat: each paces its sends there at `overall / live` (`Pacer`). A process that
joins sends nothing there before every other has counted it and a pacer's window
has passed (`ready`), so that the shares never add up above the overall. (A process
that sends on no paced channel, `candor chat` on the terminal, takes no share.)

With one process per database (SQLite), the store's side is trivial: one process,
owning every address (bot/store/sqlite/sender.py).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from bot.lanes import Lane
from bot.logs import outage
from bot.model import Address
from bot.store import Store, Transaction
from bot.store.protocols.sharing import Chat
from bot.unrecorded import backoff

log = logging.getLogger(__name__)

_Queue = TypeVar("_Queue")
Fence = Callable[[Transaction], Awaitable[bool]]
WINDOW = 1.0  # seconds: the overall limit is a count per this long
MARGIN = 0.02  # seconds more: sends' times as the platform sees them vary a little


def chat_of(lane: Lane) -> Chat:
    """What a lane's address is owned as, between processes: its channel's chat."""
    address = lane if isinstance(lane, Address) else lane[0]
    return (address.channel, address.chat_id)


def process_id() -> str:
    """This process's id as the database knows it: where it runs, and unique."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Sharing:
    """See the module. `run` keeps the heartbeat and leases (and the LISTEN wake-ups)
    until cancelled; a cancelled `run` releases nothing (as a killed process would):
    `leave` does."""

    def __init__(
        self,
        store: Store,
        *,
        lease: float = 30.0,
        heartbeat: float = 5.0,
        linger: float = 60.0,
        process: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock  # monotonic seconds (the event loop's, unless given)
        self.process = process or process_id()
        self.lease = lease
        self.heartbeat = min(heartbeat, lease / 3)
        self.linger = linger
        self.live = 1
        # its share of the overall rates is known: every other process counts this one
        self.ready = asyncio.Event()
        self.listening = asyncio.Event()  # LISTEN is on: a message enqueued now wakes
        self._owned: dict[Chat, float] = {}  # each owned chat: its lease's end, our clock
        self._used: dict[Chat, float] = {}  # when each was last being sent to
        self._busy: Collection[Lane] = ()
        self._pacers: dict[str, Pacer] = {}
        self._others: set[Chat] = set()  # another process owned them at our last claim

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    async def run(self, wake: Callable[[], None], busy: Collection[Lane] = ()) -> None:
        """`wake`: the outbox's, when there may be something to send; `busy`: the lanes
        it is sending to now (their leases are kept)."""
        self._busy = busy
        watch = asyncio.create_task(self._store.watch(self._woken(wake), self.listening.set))
        try:
            failures = 0
            while True:
                try:
                    await self._beat()
                    failures = 0
                    if not self.ready.is_set():
                        if self.live > 1:
                            # every other process counts this one at its next beat;
                            # then what it sent at its larger share leaves its window
                            await asyncio.sleep(self.heartbeat + WINDOW)
                            await self._beat()
                        self.ready.set()
                        wake()
                except Exception as error:  # the database cannot be reached: try again, later
                    failures += 1
                    level = logging.DEBUG if outage(error) else logging.ERROR  # (said once)
                    log.log(level, "the outbox's heartbeat failed; trying again", exc_info=True)
                    await asyncio.sleep(backoff(self.heartbeat, failures, self.lease / 3))
                    continue
                await asyncio.sleep(self.heartbeat)
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    def _woken(self, wake: Callable[[], None]) -> Callable[[Chat | None], None]:
        def woken(chat: Chat | None) -> None:
            if chat is None or chat in self._owned or chat not in self._others:
                wake()  # ours, or perhaps nobody's (then whoever claims it first)

        return woken

    async def _beat(self) -> None:
        asked = self._now()
        if self._pacers:  # (a process sending on no paced channel takes no share)
            self.live = await self._store.join(self.process, self.lease)
        active = {chat_of(lane) for lane in self._busy}
        for chat in active:
            self._used[chat] = asked
        idle = {c for c in self._owned if asked - self._used.get(c, asked) > self.linger}
        if idle:  # forgotten first: from now on no task of this process sends there
            for chat in idle:
                self._forget(chat)
            await self._store.release(self.process, idle)
        keep = set(self._owned)
        if keep:
            still = await self._store.claim(self.process, keep, self.lease)
            for chat in keep - still:
                log.warning("the outbox lost its lease on %s: another process sends there", chat)
                self._forget(chat)
            for chat in still:
                self._owned[chat] = asked + self.lease

    def _forget(self, chat: Chat) -> None:
        self._owned.pop(chat, None)
        self._used.pop(chat, None)

    async def claim(self, chats: Collection[Chat]) -> set[Chat]:
        """Of `chats`, those this process may send to now (claimed, or owned). It
        claims its share of those new to it (all, over several passes, if the others
        do not take theirs), so that the live processes divide a burst between them."""
        asked = self._now()
        wanted = set(chats)
        mine = {chat for chat in wanted if self.holds(chat)}
        # in a random order, those another process held at the last claim last: the
        # processes claiming at once mostly try different ones
        new = random.sample(sorted(wanted - mine), len(wanted - mine))
        new.sort(key=lambda chat: chat in self._others)
        new = new[: max(1, math.ceil(len(new) / max(1, self.live)))]
        if new:
            got = await self._store.claim(self.process, new, self.lease)
            for chat in got:
                self._owned[chat] = asked + self.lease
                self._used[chat] = asked
            self._others = (self._others | (set(new) - got)) - got
            mine |= got
        return mine

    def holds(self, chat: Chat) -> bool:
        """Whether the lease on `chat` surely holds still (with a margin for a send)."""
        return self._owned.get(chat, 0.0) - self._now() > min(1.0, self.lease / 10)

    def register(self, channel: str, overall_per_second: float | None) -> None:
        """A channel's sender, and its overall limit (messages a second, for the whole
        deployment), if it has one: this process paces its sends at its share."""
        if overall_per_second:
            self._pacers[channel] = Pacer(
                lambda: float(overall_per_second) / max(1, self.live), self._now
            )

    async def may_send(self, address: Address) -> bool:
        """Whether the lease on the address holds still; then the message waits for
        its turn in its channel's share of the overall rate, if it has one."""
        chat = (address.channel, address.chat_id)
        pacer = self._pacers.get(address.channel)
        if pacer is not None and self.holds(chat):
            await self.ready.wait()  # its share is known (`run`)
            await pacer.take()
        return self.holds(chat)

    async def leave(self) -> None:
        """Release every lease and the heartbeat: the others take over at once."""
        self.ready.clear()
        await self._store.release(self.process)
        self._owned.clear()


def fence(sharing: Sharing | None, address: Address) -> Fence | None:
    """For the transaction recording a send: whether this process still owns the
    address (nobody took it over), held so until the transaction ends."""
    if sharing is None:
        return None
    process = sharing.process

    async def owned(tx: Transaction) -> bool:
        return await tx.outbox.owned(process, address.channel, address.chat_id)

    return owned


async def owned_only(
    sharing: Sharing | None, todo: list[tuple[Lane, _Queue]]
) -> list[tuple[Lane, _Queue]]:
    """Of the lanes the outbox would start sending to, those this process owns."""
    if sharing is None:
        return todo
    owned = await sharing.claim({chat_of(lane) for lane, _ in todo})
    return [(lane, queue) for lane, queue in todo if chat_of(lane) in owned]


class Pacer:
    """At most `rate()` sends per `WINDOW` (sliding): `floor(rate)` in any window, or
    one per `1 / rate` seconds below one, so that shares never add up above the
    whole. Sends wait their turn (`take`), in the order they asked."""

    def __init__(self, rate: Callable[[], float], clock: Callable[[], float]) -> None:
        self._rate = rate
        self._clock = clock
        self._sent: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                rate = self._rate()
                count, window = (math.floor(rate), WINDOW) if rate >= 1 else (1, 1 / rate)
                window += MARGIN  # the platform counts when it took each: a send's latency
                now = self._clock()
                while self._sent and self._sent[0] <= now - max(window, WINDOW):
                    self._sent.popleft()
                recent = [t for t in self._sent if t > now - window]
                if len(recent) < count:
                    self._sent.append(now)
                    return
                await asyncio.sleep(recent[-count] + window - now)
