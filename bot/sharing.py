"""This process's part in an outbox several processes share (one PostgreSQL).

Each address (a channel's chat) is sent to by one process at a time, its owner: the
outbox sends only to the addresses it claimed (`claim`), and so keeps their order
(one owner sends an address's messages in id order) and the platforms' per-chat and
per-group pacing (one process's pacer sees every message to the chat). The owner's
lease is renewed every `heartbeat` seconds while it works, and released when it has
had nothing to send to the address for `linger` seconds or when the process stops
(`leave`). A process killed, or paused past its lease, loses its addresses to
whoever claims them next; it checks its lease before every send (`holds`, on its
own clock, counted from before each renewal was asked for: never later than the
server's), and the record of a send is made only while it still owns the address
(`fenced`), so the at-least-once window stays one write wide.

The chats with work (due messages) are shared fairly: a process claims no more of a
channel's than its share, `ceil(chats with work / live processes)` (those its last
pass found due, and those it is sending to), and one that holds more than a quarter
above it (it was alone, or the others were restarted) gives up the surplus, of
those it has held for `hold` seconds at least (no chat bounces between processes
on every pass), between two sends: no send starts there, and once none is in flight there
it releases them, for the others to claim at their next pass. A chat released (here,
at `linger` or at `leave`) cannot be claimed before its channel's spacing (the
sender's `spacing(chat_id)`: Telegram's second per private chat, three for a group)
has passed since the release, after the last send there, in the database's clock:
the next owner never sends sooner after the last. Its new owner reads the chat's
messages again before it sends (what the last one sent meanwhile is sent).

The platforms' overall limits (Telegram's 30 messages a second per bot) are divided
between the live processes that send on such a channel, each registered with a
heartbeat: each paces its sends there at `overall / live` (`Pacer`). A process that
joins sends nothing there before every other has counted it and a pacer's window
has passed (`ready`), and a process whose count is older than `count_for` (a heartbeat
and as long again, for a slow beat: its next beat is late, the machine is loaded,
the database slow) sends nothing there until its next beat: so a process that
joined is in the count of every process that sends after `count_for` and the shares
never add up above the overall. Each send let through is logged (DEBUG, with the
moment on the monotonic clock, which is the machine's: the processes on one
machine can be compared), what the cluster tests count. (A process
that sends on no paced channel, `candor chat` on the terminal, takes no share, and
counts no others: it claims every chat it has work for.)

With one process per database (SQLite), the store's side is trivial: one process,
owning every address (bot/store/sqlite/sender.py).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime

from bot.lanes import Lane
from bot.logs import outage
from bot.model import Address, Outbound
from bot.store import Store, Transaction
from bot.store.protocols.sharing import Chat, Claimed
from bot.unrecorded import backoff

log = logging.getLogger(__name__)

Entry = tuple[Outbound, datetime]  # a pending message, and when it is due
Fence = Callable[[Transaction], Awaitable[bool]]
Spacing = Callable[[str], float]  # a chat id: the least seconds between two sends there
WINDOW = 1.0  # seconds: the overall limit is a count per this long
MARGIN = 0.02  # seconds more: sends' times as the platform sees them vary a little
PACED = "a paced send on %s at %.6f (monotonic), at %.3f a second"  # (tests count these)
REREAD = 200  # a chat taken over: its pending messages read again, this many more


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
        hold: float | None = None,
        process: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock  # monotonic seconds (the event loop's, unless given)
        self.process = process or process_id()
        self.lease = lease
        self.heartbeat = min(heartbeat, lease / 3)
        # how old a count of the live processes may be for a paced send (see the module)
        self.count_for = 2 * self.heartbeat
        self.linger = linger
        # a chat claimed is kept this long at least before it is given up for the fair
        # share; one given up is not claimed back before this long
        self.hold = self.heartbeat if hold is None else hold
        self.live = 1
        # its share of the overall rates is known: every other process counts this one
        self.ready = asyncio.Event()
        self.listening = asyncio.Event()  # LISTEN is on: a message enqueued now wakes
        self._owned: dict[Chat, float] = {}  # each owned chat: its lease's end, our clock
        self._used: dict[Chat, float] = {}  # when each was last being sent to
        self._since: dict[Chat, float] = {}  # when each was claimed
        self._leaving: set[Chat] = set()  # given up: no send starts; released when none runs
        self._given: dict[Chat, float] = {}  # when each given up was released
        self._work: set[Chat] = set()  # with due messages, or being sent to, at the last claim
        self._busy: Collection[Lane] = ()
        self._pacers: dict[str, Pacer] = {}
        self._spacing: dict[str, Spacing] = {}
        self._others: set[Chat] = set()  # another process owned them at our last claim
        self._lock = asyncio.Lock()  # one exchange with the store about leases at a time
        self._counted = False  # it joined (the live processes are counted)
        self._beat_at: float | None = None  # when its last heartbeat began, our clock
        self._beaten = asyncio.Event()  # set (and replaced) at the end of each heartbeat
        self._rejoin = asyncio.Event()  # a paced channel registered: beat (join) now

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
                    self._rejoin.clear()
                    if not self._still_counted():
                        # paused or cut off past its heartbeat's lease: the others may
                        # have counted it gone and taken its share; it waits as a
                        # process that joins does
                        self.ready.clear()
                    await self._beat()
                    failures = 0
                    if not self.ready.is_set():
                        if self.live > 1:
                            # every other process that sends counts this one within
                            # `count_for`; then what it sent at its larger share leaves its
                            # window
                            await asyncio.sleep(self.count_for + WINDOW + MARGIN)
                            await self._beat()
                        if not self._rejoin.is_set():  # (else a channel came: again)
                            self.ready.set()
                            wake()
                except Exception as error:  # the database cannot be reached: try again, later
                    failures += 1
                    level = logging.DEBUG if outage(error) else logging.ERROR  # (said once)
                    log.log(level, "the outbox's heartbeat failed; trying again", exc_info=True)
                    await asyncio.sleep(backoff(self.heartbeat, failures, self.lease / 3))
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.heartbeat):
                        await self._rejoin.wait()
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    def _woken(self, wake: Callable[[], None]) -> Callable[[Chat | None], None]:
        def woken(chat: Chat | None) -> None:
            if chat is None or chat in self._owned or chat not in self._others:
                wake()  # ours, or perhaps nobody's (then whoever claims it first)

        return woken

    async def _join(self) -> None:
        if self._pacers:  # (a process sending on no paced channel takes no share)
            self.live = await self._store.join(self.process, self.lease)
        self._counted = True

    def _still_counted(self) -> bool:
        """Whether the others still count this process (its last heartbeat is within
        the lease of the process row it renewed)."""
        return self._beat_at is not None and self._now() - self._beat_at < self.lease

    def _rate(self, overall: float) -> float | None:
        """This process's share of `overall` now, or None while its count of the live
        processes is older than `count_for`, or the others may not count it yet (see
        the module)."""
        if not self.ready.is_set() or self._beat_at is None:
            return None
        if self._now() - self._beat_at > self.count_for:
            return None
        return overall / max(1, self.live)

    async def _next_beat(self) -> None:
        """Until `_rate` may be known again: the next heartbeat, or joined."""
        await (self._beaten if self.ready.is_set() else self.ready).wait()

    async def _beat(self) -> None:
        began, previous = self._now(), self._beat_at
        await self._join()  # (not held up by a claim: the others count on it)
        if self._pacers and (previous is None or self._now() - previous >= 0.9 * self.lease):
            self.ready.clear()  # its row may have lapsed meanwhile: it joins again
        self._beat_at = began
        beaten, self._beaten = self._beaten, asyncio.Event()
        beaten.set()
        async with self._lock:
            asked = self._now()
            busy = self._busy_chats()
            for chat in busy:
                self._used[chat] = asked
            idle = {c for c in self._owned if asked - self._used.get(c, asked) > self.linger}
            await self._release(idle | (self._leaving - busy), asked)
            keep = set(self._owned)
            if keep:
                still = await self._store.claim(self.process, keep, self.lease)
                for chat in keep - still:
                    log.warning(
                        "the outbox lost its lease on %s: another process sends there", chat
                    )
                    self._forget(chat)
                for chat in still:
                    self._owned[chat] = asked + self.lease

    def _busy_chats(self) -> set[Chat]:
        return {chat_of(lane) for lane in list(self._busy)}

    def _gap(self, chat: Chat) -> float:
        """How long after this process's last send to `chat` another may send there."""
        spacing = self._spacing.get(chat[0])
        return (spacing(chat[1]) + MARGIN) if spacing is not None else 0.0

    async def _release(self, chats: Collection[Chat], asked: float) -> None:
        """Forgotten first (from now on no task of this process sends there), then
        released: claimable by another once each one's spacing has passed."""
        gaps: dict[float, list[Chat]] = collections.defaultdict(list)
        for chat in chats:
            if chat in self._leaving:
                self._given[chat] = asked
            self._forget(chat)
            gaps[self._gap(chat)].append(chat)
        for gap, group in gaps.items():
            await self._store.release(self.process, group, gap)

    def _forget(self, chat: Chat) -> None:
        self._owned.pop(chat, None)
        self._used.pop(chat, None)
        self._since.pop(chat, None)
        self._leaving.discard(chat)

    async def claim(self, chats: Collection[Chat]) -> Claimed:
        """Of `chats` (those with due messages), those this process may send to now:
        owned, or claimed now, up to its fair share of each channel's chats with work
        (`taken`: those another process owned before, which it may have sent to after
        this process read them). Above its share, it gives up the surplus (see the
        module)."""
        asked = self._now()
        wanted = set(chats)
        async with self._lock:
            if not self._counted:
                await self._join()
            busy = self._busy_chats()
            self._work = wanted | busy
            self._given = {c: t for c, t in self._given.items() if asked - t < self.hold}
            self._shed(asked, busy)
            await self._release(self._leaving - busy, asked)
            mine = {chat for chat in wanted if self.holds(chat)}
            taken: set[Chat] = set()
            for channel in sorted({channel for channel, _ in wanted}):
                got = await self._claim_more(channel, wanted, asked)
                mine |= got
                taken |= got.taken
        return Claimed(mine, taken)

    def _held(self, channel: str) -> list[Chat]:
        """The chats with work of `channel` this process owns and keeps."""
        return [
            c for c in self._owned if c[0] == channel and c in self._work and c not in self._leaving
        ]

    def _share(self, channel: str) -> int:
        work = sum(1 for c in self._work if c[0] == channel)
        return math.ceil(work / max(1, self.live))

    def _shed(self, asked: float, busy: Collection[Chat]) -> None:
        """Give up what is above the share (by more than a quarter of it: a chat or
        two more or less do not move chats), down to the share, of what it has held
        `hold` long: first those with messages due and no send running (released
        now), then those with a send running (between two sends)."""
        for channel in {c[0] for c in self._work}:
            held = self._held(channel)
            share = self._share(channel)
            surplus = len(held) - share
            if surplus <= share // 4:
                continue
            old = [c for c in held if asked - self._since.get(c, asked) >= self.hold]
            random.shuffle(old)
            old.sort(key=lambda chat: chat in busy)  # (the others are due: released now)
            for chat in old[:surplus]:
                self._leaving.add(chat)
                log.debug("the outbox gives %s up to the other processes (its fair share)", chat)

    async def _claim_more(self, channel: str, wanted: set[Chat], asked: float) -> Claimed:
        """Of `channel`'s wanted chats it does not own, as many as its share has room
        for: in a random order, those another process held at the last claim last
        (the processes claiming at once mostly try different ones), not those it gave
        up `hold` ago or less."""
        room = self._share(channel) - len(self._held(channel))
        new = [
            c for c in wanted if c[0] == channel and c not in self._owned and c not in self._given
        ]
        if room <= 0 or not new:
            return Claimed()
        random.shuffle(new)
        new.sort(key=lambda chat: chat in self._others)
        got = await self._store.claim(self.process, new, self.lease, limit=room)
        for chat in got:
            self._owned[chat] = asked + self.lease
            self._used[chat] = asked
            self._since[chat] = asked
        if len(got) < room:  # (not all of them: the others are someone else's)
            self._others |= set(new) - got
        self._others -= got
        return got

    def holds(self, chat: Chat) -> bool:
        """Whether the lease on `chat` surely holds still (with a margin for a send),
        and this process has not given it up."""
        if chat in self._leaving:
            return False
        return self._owned.get(chat, 0.0) - self._now() > min(1.0, self.lease / 10)

    def register(
        self, channel: str, overall_per_second: float | None, spacing: Spacing | None = None
    ) -> None:
        """A channel's sender, and its overall limit (messages a second, for the whole
        deployment), if it has one: this process paces its sends at its share; and
        its spacing, if it has one: a chat handed over waits that long after the last
        send there."""
        if overall_per_second and channel not in self._pacers:  # (again: the same pacer)
            if not self._pacers:
                # its first paced channel (registered once `run` has begun: a channel
                # starts after the outbox): it joins the count (of processes, not
                # channels) and waits as at start, at its next beat, now
                self.ready.clear()
                self._rejoin.set()
            overall = float(overall_per_second)
            self._pacers[channel] = Pacer(
                lambda: self._rate(overall), self._now, self._next_beat, channel
            )
        if spacing is not None:
            self._spacing[channel] = spacing

    async def may_send(self, address: Address) -> bool:
        """Whether the lease on the address holds still; then the message waits for
        its turn in its channel's share of the overall rate, if it has one."""
        chat = (address.channel, address.chat_id)
        pacer = self._pacers.get(address.channel)
        if pacer is not None and self.holds(chat):
            if self.ready.is_set() and not self._still_counted():
                # back from a pause past its heartbeat's lease: not before the others
                # count it again (`run` joins and waits, as at start)
                self.ready.clear()
                return False
            await self.ready.wait()  # its share is known (`run`)
            await pacer.take()
        return self.holds(chat)

    async def leave(self) -> None:
        """Release every lease and the heartbeat: the others take over (each chat
        once its spacing has passed)."""
        self.ready.clear()
        gap = max((self._gap(chat) for chat in self._owned), default=0.0)
        await self._store.release(self.process, None, gap)
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
    sharing: Sharing | None, todo: list[tuple[Lane, list[Entry]]]
) -> list[tuple[Lane, list[Entry]]]:
    """Of the lanes the outbox would start sending to, those this process owns (the
    queues of those it took over from another process read again)."""
    if sharing is None:
        return todo
    owned = await sharing.claim({chat_of(lane) for lane, _ in todo})
    mine = [(lane, queue) for lane, queue in todo if chat_of(lane) in owned]
    return await _fresh(sharing._store, mine, owned.taken) if owned.taken else mine


async def _fresh(
    store: Store, todo: list[tuple[Lane, list[Entry]]], taken: Collection[Chat]
) -> list[tuple[Lane, list[Entry]]]:
    """The queues of the chats taken over, as they are now: without what their last
    owner sent since they were read, its tries counted (the rest of each queue comes
    at the next pass)."""
    rows: dict[Chat, dict[int | None, Entry]] = {}
    for lane, queue in todo:
        chat = chat_of(lane)
        if chat in taken and chat not in rows:
            now = await store.pending(chat[0], chat[1], len(queue) + REREAD)
            rows[chat] = {message.id: (message, due) for message, due in now}
    again = []
    for lane, queue in todo:
        found = rows.get(chat_of(lane))
        if found is not None:
            queue = [found[m.id] for m, _ in queue if m.id in found]
        if queue:
            again.append((lane, queue))
    return again


class Pacer:
    """At most `rate()` sends per `WINDOW` (sliding): `floor(rate)` in any window, or
    one per `1 / rate` seconds below one, so that shares never add up above the
    whole; while `rate()` is None (not known now), none until `known()` returns. Sends
    wait their turn (`take`), in the order they asked."""

    def __init__(
        self,
        rate: Callable[[], float | None],
        clock: Callable[[], float],
        known: Callable[[], Awaitable[None]],
        name: str = "",
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._known = known
        self._name = name
        self._sent: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                rate = self._rate()
                if rate is None:
                    await self._known()
                    continue
                count, window = (math.floor(rate), WINDOW) if rate >= 1 else (1, 1 / rate)
                window += MARGIN  # the platform counts when it took each: a send's latency
                now = self._clock()
                while self._sent and self._sent[0] <= now - max(window, WINDOW):
                    self._sent.popleft()
                recent = [t for t in self._sent if t > now - window]
                if len(recent) < count:
                    self._sent.append(now)
                    log.debug(PACED, self._name, time.monotonic(), rate)
                    return
                await asyncio.sleep(recent[-count] + window - now)
