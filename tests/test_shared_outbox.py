"""The outbox shared by several processes on one PostgreSQL database (bot/sharing.py,
bot/store/postgres/sharing.py): each address sent to by one process at a time, in
order, with the overall rate divided between the live processes, a dead process's
addresses taken over when its lease lapses, a paused one kept from sending and from
recording, and wake-ups by LISTEN/NOTIFY with polling behind them.

Each "process" is a `PostgresStore` of its own (its own pool and ids) with an
`Outbox` and a `Sharing` of its own, in this test process; a fake sender records
what went when. Waits are for what the fakes receive (events), with generous bounds
that only keep a broken run from hanging."""

from __future__ import annotations

import asyncio
import collections
import itertools
from collections.abc import Callable, Collection
from datetime import UTC, datetime

import pytest

from bot.model import Address, Cause, Outbound
from bot.outbox import Outbox
from bot.sharing import WINDOW, Sharing
from bot.store import PostgresStore
from bot.store.protocols.sharing import Chat
from tests.postgres import Server
from tests.store.conftest import NOW

pytestmark = pytest.mark.postgres

BOUND = 60.0  # seconds: only a broken run waits this long


class Sender:
    """A fake channel "test": records (when, text) of every message it takes; one
    text may hold it (`hold`) until the test lets it go."""

    channel = "test"

    def __init__(self, log: list[tuple[float, str, str]], overall: float | None = None) -> None:
        self.log = log
        self.got: list[str] = []
        self.overall_per_second = overall
        self.hold = ""
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.changed = asyncio.Event()

    async def send(self, message: Outbound) -> str:
        self.log.append((asyncio.get_running_loop().time(), message.address.chat_id, message.text))
        self.got.append(message.text)
        self.changed.set()
        if message.text == self.hold:
            self.holding.set()
            await self.release.wait()
        return f"p{message.id}"


def outbox(store: PostgresStore, sender: Sender, sharing: Sharing) -> Outbox:
    box = Outbox(store, lambda: datetime.now(UTC), sharing=sharing, retry_base=0.05)
    box.register(sender)
    return box


async def until(what: Callable[[], bool], changed: asyncio.Event) -> None:
    async with asyncio.timeout(BOUND):
        while not what():
            changed.clear()
            if what():
                return
            await changed.wait()


async def enqueue(store: PostgresStore, chat: str, *texts: str) -> None:
    async with store.transaction() as tx:
        for text in texts:
            await tx.outbox.enqueue(Outbound(Address("test", chat), text, Cause.REPLY), NOW)


async def states(store: PostgresStore) -> dict[str, str]:
    return {message.text: state for message, state in await store.outbox_rows()}


async def test_two_processes_enqueuing_alternately_keep_the_order(
    stores: Callable[[], PostgresStore],
) -> None:
    """Each process takes ids from the sequence: if it took them in blocks, one
    process's messages would all sort before the other's."""
    one, two = stores(), stores()
    await one.open()
    await two.open()
    texts = [f"m{i}" for i in range(10)]
    for i, text in enumerate(texts):
        await enqueue(one if i % 2 == 0 else two, "ann", text)
    for store in (one, two):
        assert [m.text for m, _ in await store.pending("test")] == texts
    log: list[tuple[float, str, str]] = []
    sender = Sender(log)
    box = outbox(two, sender, Sharing(two, lease=5, heartbeat=0.2))
    running = asyncio.create_task(box.run(poll_seconds=0.2))
    try:
        await until(lambda: len(sender.got) == len(texts), sender.changed)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert sender.got == texts


async def test_three_processes_keep_the_overall_rate_order_and_send_each_once(
    stores: Callable[[], PostgresStore],
) -> None:
    overall = 90.0
    first = stores()
    await first.open()
    log: list[tuple[float, str, str]] = []
    senders, boxes, sharings = [], [], []
    changed = asyncio.Event()
    for _ in range(3):
        store = stores()
        await store.open()
        sender = Sender(log, overall=overall)
        sender.changed = changed
        sharing = Sharing(store, lease=10, heartbeat=0.2)
        senders.append(sender)
        sharings.append(sharing)
        boxes.append(outbox(store, sender, sharing))
    running = [asyncio.create_task(box.run(poll_seconds=0.2)) for box in boxes]
    chats = [f"c{i:03}" for i in range(300)]
    try:
        async with asyncio.timeout(BOUND):
            for sharing in sharings:
                await sharing.ready.wait()
        for round_ in range(2):  # two messages to each of 300 chats
            async with first.transaction() as tx:
                for chat in chats:
                    message = Outbound(Address("test", chat), f"{chat}-{round_}", Cause.REPLY)
                    await tx.outbox.enqueue(message, NOW)
        await until(lambda: len(log) >= 600, changed)
        for box in boxes:  # what each is still doing ends (nothing more may go)
            await box.deliver_due()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    texts = collections.Counter(text for _, _, text in log)
    assert len(texts) == 600 and set(texts.values()) == {1}  # nothing twice, nothing lost
    assert set((await states(first)).values()) == {"sent"}
    for chat in chats:  # per-chat order
        assert [text for _, c, text in log if c == chat] == [f"{chat}-0", f"{chat}-1"]
    times = sorted(when for when, _, _ in log)
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    assert busiest <= overall, f"{busiest} messages in one second"
    print(f"600 messages in {times[-1] - times[0]:.1f} s; busiest second: {busiest}")
    assert all(sender.got for sender in senders), [len(s.got) for s in senders]
    assert all(sharing.live == 3 for sharing in sharings)


async def test_a_killed_process_loses_its_addresses_when_its_lease_lapses(
    stores: Callable[[], PostgresStore],
) -> None:
    """Killed between the platform taking a message and recording it: its successor
    sends that message again (once), and the rest, in order."""
    one, two = stores(), stores()
    await one.open()
    await two.open()
    await enqueue(one, "ann", "m1", "m2", "m3", "m4", "m5")
    log: list[tuple[float, str, str]] = []
    first, second = Sender(log), Sender(log)
    first.hold = "m3"
    sharing_one = Sharing(one, lease=1.5, heartbeat=0.3)
    sharing_two = Sharing(two, lease=1.5, heartbeat=0.3)
    running_one = asyncio.create_task(outbox(one, first, sharing_one).run(poll_seconds=0.2))
    async with asyncio.timeout(BOUND):
        await first.holding.wait()
    box_two = outbox(two, second, sharing_two)
    running_two = asyncio.create_task(box_two.run(poll_seconds=0.2))
    try:
        async with asyncio.timeout(BOUND):
            await sharing_two.ready.wait()
        # while the first lives, the second cannot take its address
        assert await sharing_two.claim({("test", "ann")}) == set()
        running_one.cancel()  # killed: nothing released, m3 not recorded
        await asyncio.gather(running_one, return_exceptions=True)
        await until(lambda: len(second.got) == 3, second.changed)
        await box_two.deliver_due()  # its records are made
    finally:
        running_two.cancel()
        await asyncio.gather(running_two, return_exceptions=True)
    assert first.got == ["m1", "m2", "m3"]
    assert second.got == ["m3", "m4", "m5"]  # m3 again: the one write's window
    assert set((await states(two)).values()) == {"sent"}


async def test_a_paused_process_neither_sends_nor_records_once_its_lease_is_gone(
    stores: Callable[[], PostgresStore], postgres_server: Server, url: str
) -> None:
    one, two = stores(), stores()
    await one.open()
    await two.open()
    await enqueue(one, "ann", "m1", "m2", "m3")
    now = [0.0]  # the first process's monotonic clock: a pause moves it on
    sharing = Sharing(one, lease=30, heartbeat=10, clock=lambda: now[0])
    sender = Sender([])
    sender.hold = "m2"
    box = outbox(one, sender, sharing)
    beating = asyncio.create_task(sharing.run(box.wake))
    try:
        async with asyncio.timeout(BOUND):
            await sharing.ready.wait()  # alone: at once
        delivering = asyncio.create_task(box.deliver_due())
        async with asyncio.timeout(BOUND):
            await sender.holding.wait()  # m2 is with the platform when the pause begins
        now[0] += 60  # paused for longer than the lease: it lapsed on the server too
        postgres_server.psql(
            url.rsplit("/", 1)[-1], "UPDATE outbox_owners SET lease_until = now() - interval '1s'"
        )
        assert await two.claim("other", {("test", "ann")}, 30) == {("test", "ann")}
        sender.release.set()
        async with asyncio.timeout(BOUND):
            await delivering
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
    assert sender.got == ["m1", "m2"]  # m3 not sent: the lease was gone
    # m2's send is not recorded by a process that no longer owns the address: the
    # owner sends it (again) and records it
    assert await states(two) == {"m1": "sent", "m2": "pending", "m3": "pending"}


async def test_listen_wakes_the_owner_without_waiting_for_the_poll(
    stores: Callable[[], PostgresStore], postgres_server: Server, url: str
) -> None:
    one, two = stores(), stores()
    await one.open()
    await two.open()
    sender = Sender([])
    sharing = Sharing(one, lease=5, heartbeat=0.2)
    running = asyncio.create_task(outbox(one, sender, sharing).run(poll_seconds=3600))
    try:
        async with asyncio.timeout(BOUND):
            await sharing.ready.wait()
            await sharing.listening.wait()
        for junk in ("'not json'", "'[1]'", "'[null, null]'", "''"):  # anyone may NOTIFY
            postgres_server.psql(url.rsplit("/", 1)[-1], f"NOTIFY candor_outbox, {junk}")
        await enqueue(two, "ann", "hello")  # another process: only NOTIFY tells
        await until(lambda: sender.got == ["hello"], sender.changed)
        assert not running.done()  # the junk woke it, harmlessly
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_lost_listener_comes_back_and_polling_delivers_meanwhile(
    stores: Callable[[], PostgresStore], postgres_server: Server, url: str
) -> None:
    one, two = stores(), stores()
    await one.open()
    await two.open()
    sender = Sender([])
    sharing = Sharing(one, lease=5, heartbeat=0.2)
    running = asyncio.create_task(outbox(one, sender, sharing).run(poll_seconds=0.2))
    try:
        async with asyncio.timeout(BOUND):
            await sharing.ready.wait()
            await sharing.listening.wait()
        sharing.listening.clear()
        postgres_server.psql(  # what a failover does to the listening connection
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{url.rsplit('/', 1)[-1]}' AND application_name = 'candor-listen'",
        )
        await enqueue(two, "ann", "while lost")
        await until(lambda: sender.got == ["while lost"], sender.changed)
        async with asyncio.timeout(BOUND):
            await sharing.listening.wait()  # listening again
        await enqueue(two, "ann", "after")
        await until(lambda: sender.got == ["while lost", "after"], sender.changed)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_an_address_has_one_owner_while_its_lease_holds(
    stores: Callable[[], PostgresStore], postgres_server: Server, url: str
) -> None:
    one, two = stores(), stores()
    await one.open()
    await two.open()
    assert await one.join("p1", 30) == 1
    assert await two.join("p2", 30) == 2
    assert await one.claim("p1", [("test", "ann")], 30) == {("test", "ann")}
    assert await two.claim("p2", [("test", "ann"), ("test", "bob")], 30) == {("test", "bob")}
    async with two.transaction() as tx:
        assert not await tx.outbox.owned("p2", "test", "ann")
    postgres_server.psql(  # p1's lease lapses (it was killed, or paused)
        url.rsplit("/", 1)[-1],
        "UPDATE outbox_owners SET lease_until = now() - interval '1s' WHERE owner = 'p1'",
    )
    assert await two.claim("p2", [("test", "ann")], 30) == {("test", "ann")}
    assert await one.claim("p1", [("test", "ann")], 30) == set()  # it is p2's now
    async with one.transaction() as tx:
        assert not await tx.outbox.owned("p1", "test", "ann")
    await two.release("p2")  # p2 leaves: its addresses are free, it is not live
    assert await one.claim("p1", [("test", "bob")], 30) == {("test", "bob")}
    assert await one.join("p1", 30) == 1


async def test_an_address_idle_past_linger_is_released_for_any_process(
    stores: Callable[[], PostgresStore],
) -> None:
    one, two = stores(), stores()
    await one.open()
    await two.open()
    await enqueue(one, "ann", "hello")
    released = asyncio.Event()
    release = one.release

    async def seen_release(
        process: str, chats: Collection[Chat] | None = None, after: float = 0.0
    ) -> None:
        await release(process, chats, after)  # the store's own, seen
        released.set()

    one.release = seen_release  # type: ignore[method-assign]
    sender = Sender([])
    sharing = Sharing(one, lease=120, heartbeat=0.2, linger=0.0)  # lapses after BOUND
    running = asyncio.create_task(outbox(one, sender, sharing).run(poll_seconds=0.2))
    try:
        await until(lambda: sender.got == ["hello"], sender.changed)
        async with asyncio.timeout(BOUND):  # its next heartbeats find it idle
            await released.wait()
        assert not sharing.holds(("test", "ann"))
        assert await two.claim("p2", [("test", "ann")], 30) == {("test", "ann")}
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_chat_released_waits_its_spacing_and_is_taken_as_taken(
    stores: Callable[[], PostgresStore], postgres_server: Server, url: str
) -> None:
    one, two = stores(), stores()
    await one.open()
    await two.open()
    chats = [("test", name) for name in ("ann", "bob", "cid", "dan")]
    assert await one.claim("p1", chats[:2], 30) == set(chats[:2])
    # a limit: of those it may take, the first wanted first, the limit's number
    got = await two.claim("p2", list(reversed(chats)), 30, limit=1)
    assert got == {chats[3]} and not got.taken  # nobody's before
    await one.release("p1", chats[:1], 60)  # p1 sent to ann last just now
    assert await two.claim("p2", chats[:1], 30) == set()  # not before its spacing
    async with one.transaction() as tx:
        assert await tx.outbox.owned("p1", *chats[0])  # p1's record of that send counts
    postgres_server.psql(  # the spacing passes
        url.rsplit("/", 1)[-1],
        "UPDATE outbox_owners SET lease_until = now() - interval '1s' WHERE owner = 'p1'",
    )
    got = await two.claim("p2", chats, 30)
    assert got == set(chats) and got.taken == set(chats[:2])  # p1's, before
    async with one.transaction() as tx:
        assert not await tx.outbox.owned("p1", *chats[0])
    await two.release("p2", None, 60)  # it leaves: its chats wait their spacing
    assert await one.claim("p1", chats, 30) == set()
    assert await one.join("p1", 30) == 1


class PacedSender(Sender):
    """The fake, keeping `interval` between two sends to one chat as a platform's
    sender does (`spacing`): from when the last was taken to when the next is."""

    def __init__(self, log: list[tuple[float, str, str]], overall: float, interval: float):
        super().__init__(log, overall)
        self.interval = interval
        self._last: dict[str, float] = {}

    def spacing(self, chat_id: str) -> float:
        return self.interval

    async def send(self, message: Outbound) -> str:
        chat, loop = message.address.chat_id, asyncio.get_running_loop()
        wait = self._last.get(chat, -self.interval) + self.interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            return await super().send(message)
        finally:
            self._last[chat] = loop.time()


async def test_chats_one_process_owns_are_shared_when_two_more_join(
    stores: Callable[[], PostgresStore],
) -> None:
    """One process owns every chat with a backlog; two more join: it gives up what
    is above its share, between two sends, and the others take it, each sending
    a fair part; a chat handed over waits its spacing after the last send there
    (the fake's clock: no two sends to a chat closer than the interval, less a
    little for the clock's grain); nothing twice, nothing lost, each chat in order."""
    overall, interval = 6.0, 0.5
    chats = [f"c{i:02}" for i in range(12)]
    texts = {chat: [f"{chat}-{n}" for n in range(6)] for chat in chats}
    first = stores()
    await first.open()
    async with first.transaction() as tx:
        for n in range(6):
            for chat in chats:
                message = Outbound(Address("test", chat), texts[chat][n], Cause.REPLY)
                await tx.outbox.enqueue(message, NOW)
    log: list[tuple[float, str, str]] = []
    changed = asyncio.Event()
    senders, boxes, running = [], [], []

    async def start() -> None:
        store = stores()
        await store.open()
        sender = PacedSender(log, overall, interval)
        sender.changed = changed
        sharing = Sharing(store, lease=10, heartbeat=0.2, hold=0.5)
        senders.append(sender)
        boxes.append(outbox(store, sender, sharing))
        running.append(asyncio.create_task(boxes[-1].run(0.2)))

    try:
        await start()
        # the first sends to every chat: it owns them all, each with a backlog
        await until(lambda: {c for _, c, _ in log} == set(chats), changed)
        await start()
        await start()
        await until(lambda: len(log) >= 72, changed)
        for box in boxes:  # what each is still doing ends (nothing more may go)
            await box.deliver_due()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    sent = collections.Counter(text for _, _, text in log)
    assert len(sent) == 72 and set(sent.values()) == {1}  # nothing twice, nothing lost
    for chat in chats:
        times = [when for when, c, _ in log if c == chat]
        assert [text for _, c, text in log if c == chat] == texts[chat]  # in order
        closest = min(b - a for a, b in itertools.pairwise(times))
        assert closest >= interval - 0.01, f"{chat}: two sends {closest:.3f} s apart"
    by = {text: i for i, sender in enumerate(senders) for text in sender.got}
    handovers = {
        chat: sum(by[a] != by[b] for a, b in itertools.pairwise(texts[chat])) for chat in chats
    }
    whose = [len(sender.got) for sender in senders]
    print(f"sent by each: {whose}; handovers per chat: {sorted(handovers.values())}")
    # no chat bounced between processes (it stays `hold` long at least with each)
    assert max(handovers.values()) <= 3, handovers
    # the latecomers each sent a fair part of what was left when they came (60)
    assert all(n >= 60 / 3 / 2 for n in whose[1:]), whose
    assert set((await states(first)).values()) == {"sent"}


async def test_a_paced_channel_that_starts_after_the_outbox_waits_to_be_counted(
    stores: Callable[[], PostgresStore],
) -> None:
    """A channel starts after the outbox (the bot's first call, the webhook): its
    process had no paced channel at its first heartbeat, so it had not joined the
    count; once the channel comes, it sends nothing paced before it joined and the
    others had their time to count it (found by the cluster test: a process that had
    just restarted sent at the whole deployment's rate beside the others)."""
    one, two = stores(), stores()
    await one.open()
    await two.open()
    other = Sharing(two, lease=30, heartbeat=0.2)
    other.register("test", 6.0)
    late = Sharing(one, lease=30, heartbeat=0.2)
    tasks = [asyncio.create_task(s.run(lambda: None)) for s in (other, late)]
    try:
        async with asyncio.timeout(BOUND):
            await other.ready.wait()
            await late.ready.wait()  # nothing paced yet: nothing to wait for
        loop = asyncio.get_running_loop()
        registered = loop.time()
        late.register("test", 6.0)
        async with asyncio.timeout(BOUND):
            await late.ready.wait()
        # it waited for the others to count it: two heartbeats and a window at least
        # after it joined (a loaded machine only makes that longer)
        assert loop.time() - registered >= late.count_for + WINDOW
        assert late.live == 2  # it joined: its share is half the rate
        # and the other process's share now: half, or none (its count is older than two
        # heartbeats: a loaded machine; it sends nothing paced until its next beat)
        assert other._rate(6.0) in (3.0, None)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
