"""Red-team findings on several `candor run` on one PostgreSQL (issue 16 as merged):
each test reproduces one finding and FAILS on the code it was written against, so
it is marked `xfail(strict=True)`; the fix removes the mark.

Each "process" is a `PostgresStore` of its own with an `Outbox` and a `Sharing` of
its own, in this test process (as tests/test_shared_outbox.py does); a fake sender
records what it took. Waits are for what the fakes receive or the store holds, with
a generous bound that only keeps a broken run from hanging."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.model import Address, Cause, Delivery, Outbound, Purpose
from bot.sharing import Sharing
from bot.store import PostgresStore
from tests.postgres import Server
from tests.store.conftest import NOW, new_customer
from tests.test_shared_outbox import BOUND, Sender, enqueue, outbox, states

ANN = ("test", "ann")


async def _ids(store: PostgresStore) -> dict[str, int]:
    return {message.text: message.id for message, _ in await store.outbox_rows()}


@pytest.mark.postgres
async def test_nothing_of_a_forgotten_customer_is_sent_after_forget(
    stores: Callable[[], PostgresStore],
) -> None:
    """Process one reads Ann's two pending replies (r1, r2) and sends r1; while the
    platform has r1, Ann's /forget commits on process two (it erases her outbox
    rows). r2 must not go: after /forget nothing of hers leaves. (The check in
    `bot.lanes.in_thread` covers desk messages without a thread only.)"""
    one, two = stores(), stores()
    await one.open()
    await two.open()
    async with one.transaction() as tx:
        ann = await new_customer(tx, "ann")
        for text in ("r1", "r2"):
            reply = Outbound(Address(*ANN), text, Cause.REPLY, customer_id=ann)
            await tx.outbox.enqueue(reply, NOW)
    sharing = Sharing(one, lease=30, heartbeat=10)
    sender = Sender([])
    sender.hold = "r1"
    box = outbox(one, sender, sharing)
    beating = asyncio.create_task(sharing.run(box.wake))
    try:
        async with asyncio.timeout(BOUND):
            await sharing.ready.wait()
        delivering = asyncio.create_task(box.deliver_due())
        async with asyncio.timeout(BOUND):
            await sender.holding.wait()  # r1 is with the platform; r2 waits in memory
        async with two.transaction() as tx:  # /forget, answered by process two
            await tx.forget_customer(ann, NOW)
        assert await states(two) == {}  # her rows are gone
        sender.release.set()
        async with asyncio.timeout(BOUND):
            await delivering
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
    assert sender.got == ["r1"], f"sent after /forget: {sender.got}"
    assert await states(two) == {}  # and no row came back


@pytest.mark.postgres
async def test_no_outbox_row_about_a_forgotten_customer_comes_back(
    stores: Callable[[], PostgresStore],
) -> None:
    """The same race with an agent's reply that asks for a receipt on the desk's
    thread: the reply goes after /forget, and `write_sent` enqueues "Delivered to
    the customer: <their words>" for their case, whose thread mapping /forget erased
    (so `in_thread` would send it outside any thread)."""
    one, two = stores(), stores()
    await one.open()
    await two.open()
    desk_thread = Address("test", "desk", "100.1")
    async with one.transaction() as tx:
        ann = await new_customer(tx, "ann")
        case = await tx.cases.new(ann, NOW)
        await tx.desk.map_thread(desk_thread, case.id, card=True)
        for text in ("a1", "a2 about your order 1234"):
            reply = Outbound(
                Address(*ANN),
                text,
                Cause.CASE_UPDATE,
                customer_id=ann,
                case_id=case.id,
                delivery=Delivery(purpose=Purpose.AGENT_REPLY, receipt_to=desk_thread),
            )
            await tx.outbox.enqueue(reply, NOW)
    sharing = Sharing(one, lease=30, heartbeat=10)
    sender = Sender([])
    sender.hold = "a1"
    box = outbox(one, sender, sharing)
    beating = asyncio.create_task(sharing.run(box.wake, box._busy))
    try:
        async with asyncio.timeout(BOUND):
            await sharing.ready.wait()
        delivering = asyncio.create_task(box.deliver_due())
        async with asyncio.timeout(BOUND):
            await sender.holding.wait()
        async with two.transaction() as tx:  # /forget, answered by process two
            await tx.forget_customer(ann, NOW)
        assert await states(two) == {}
        sender.release.set()
        async with asyncio.timeout(BOUND):
            await delivering
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
    assert await states(two) == {}, "rows about the forgotten customer's case came back"


@pytest.mark.postgres
async def test_a_resumed_process_sends_nothing_its_successor_sent(
    stores: Callable[[], PostgresStore], postgres_server: Server, url: str
) -> None:
    """SIGSTOP while m1 is with the platform, for longer than lease + linger: process
    two takes the chat, sends m1 (the one-write window), m2 and m3, records them,
    and releases the chat after `linger` without messages. SIGCONT: process one's
    heartbeat claims the chat anew (nobody owns it) and its delivery goes on with m2
    and m3 from the queue it read before the pause: two more copies, beyond the
    documented one (m1's)."""
    one, two = stores(), stores()
    await one.open()
    await two.open()
    await enqueue(one, "ann", "m1", "m2", "m3")
    ids = await _ids(two)
    now = [0.0]  # process one's monotonic clock: a pause moves it on
    sharing = Sharing(one, lease=30, heartbeat=0.2, clock=lambda: now[0])
    sender = Sender([])
    sender.hold = "m1"
    box = outbox(one, sender, sharing)
    beating = asyncio.create_task(sharing.run(box.wake, box._busy))  # (as `Outbox.run`)
    try:
        async with asyncio.timeout(BOUND):
            await sharing.ready.wait()
        delivering = asyncio.create_task(box.deliver_due())
        async with asyncio.timeout(BOUND):
            await sender.holding.wait()  # m1 is with the platform when the pause begins
        # the pause (beating stopped too: one's event loop is what SIGSTOP stops)
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        now[0] += 120
        database = url.rsplit("/", 1)[-1]
        postgres_server.psql(
            database, "UPDATE outbox_owners SET lease_until = now() - interval '1s'"
        )
        # process two takes the chat over, sends m1..m3 and records them, then lets go
        assert await two.claim("two", {ANN}, 30) == {ANN}
        async with two.transaction() as tx:
            for text in ("m1", "m2", "m3"):
                await tx.outbox.mark_sent(ids[text], f"two-{text}", NOW)
        await two.release("two", {ANN})
        # SIGCONT: one's heartbeat beats (renewing what it thinks it owns: nobody owns
        # the chat, so it is one's again), and its delivery goes on
        await sharing._beat()
        assert sharing.holds(ANN)
        beating = asyncio.create_task(sharing.run(box.wake, box._busy))
        sender.release.set()
        async with asyncio.timeout(BOUND):
            await delivering
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
    assert sender.got == ["m1"], f"sent again after the successor had: {sender.got}"


@pytest.mark.postgres
async def test_a_resumed_process_waits_until_the_others_count_it_again(
    stores: Callable[[], PostgresStore], postgres_server: Server, url: str
) -> None:
    """Two processes share Telegram's 30 a second (15 each). One is paused past its
    heartbeat's lease: the other counts it gone and takes all 30. Resumed, the first
    claims a chat and may send at once at 15, before anyone counts it again (a
    process that joins waits for that, `Sharing.ready`; one that comes back does
    not): 45 a second for the deployment."""
    overall = 30.0
    one, two = stores(), stores()
    await one.open()
    await two.open()
    now = [0.0]  # process one's monotonic clock: a pause moves it on
    first = Sharing(one, lease=30, heartbeat=5, clock=lambda: now[0])
    second = Sharing(two, lease=30, heartbeat=5)
    for sharing in (first, second):
        sharing.register("telegram", overall)
    await first._beat()  # (what each one's heartbeat does, in turn)
    await second._beat()
    await first._beat()
    first.ready.set()
    second.ready.set()
    assert (first.live, second.live) == (2, 2)
    # SIGSTOP of process one, past its heartbeat's lease: process two counts it gone
    now[0] += 120
    postgres_server.psql(
        url.rsplit("/", 1)[-1],
        f"UPDATE outbox_processes SET lease_until = now() - interval '1s'"
        f" WHERE id = '{first.process}'",
    )
    await second._beat()
    assert second.live == 1  # it sends at 30 a second now
    # SIGCONT: process one's next pass claims a chat and asks to send there
    chat = ("telegram", "777")
    assert await first.claim({chat}) == {chat}
    allowed = await first.may_send(Address(*chat))
    shares = overall / first.live + overall / second.live
    assert not allowed or shares <= overall, (
        f"process one may send at {overall / first.live:g}/s beside process two's"
        f" {overall / second.live:g}/s: {shares:g}/s for the deployment"
    )


@pytest.mark.postgres
async def test_a_migration_is_refused_while_an_older_candor_runs(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old version (it knows one migration fewer) runs: it holds `running()`.
    A new version starting beside it (a rolling deploy) applies the migration the
    old one does not know, under it; the old one goes on with SQL written for the
    schema before. Expected: the new one refuses, naming the running processes."""
    from bot.store.errors import StoreError
    from bot.store.postgres import schema

    every = schema.migrations()
    monkeypatch.setattr(schema, "migrations", lambda: every[:-1])
    old = PostgresStore(url)
    await old.open()
    try:
        async with old.running():
            monkeypatch.setattr(schema, "migrations", lambda: every)
            new = PostgresStore(url)
            try:
                with pytest.raises(StoreError):
                    await new.open()
            finally:
                await new.close()
    finally:
        await old.close()


@pytest.mark.postgres
@pytest.mark.xfail(
    strict=True,
    reason="finding 5: a case's timeline is ordered by each process's own clock (events.at,"
    " then ids taken in blocks per process): two machines' clocks a little apart put a"
    " customer's later message before the earlier one",
)
async def test_a_timeline_keeps_arrival_order_across_machines_whose_clocks_differ(
    stores: Callable[[], PostgresStore],
) -> None:
    """Ann's first message lands on machine one, whose clock is 2 s fast; her second,
    a second later, on machine two (its clock right). Her turns went one after the
    other (her lock); the case (its card, the dialog's context, /mydata) must show
    them in that order."""
    from datetime import timedelta

    from bot.model import EventKind

    one, two = stores(), stores()
    await one.open()
    await two.open()
    async with one.transaction() as tx:
        ann = await new_customer(tx, "ann")
        case = await tx.cases.new(ann, NOW)
    async with one.transaction() as tx:  # machine one: its clock 2 s ahead
        await tx.timeline.append(
            case.id, EventKind.CUSTOMER, "customer", "first", NOW + timedelta(seconds=2)
        )
    async with two.transaction() as tx:  # machine two, a second later, its clock right
        await tx.timeline.append(
            case.id, EventKind.CUSTOMER, "customer", "second", NOW + timedelta(seconds=1)
        )
    async with one.transaction() as tx:
        texts = [event.text for event in await tx.timeline.recent(case.id)]
    assert texts == ["first", "second"]


async def test_nothing_of_a_forgotten_customer_is_sent_after_forget_on_sqlite(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from bot.outbox import Outbox
    from bot.store import SQLiteStore

    store = SQLiteStore(tmp_path / "candor.sqlite3")
    await store.open()
    try:
        async with store.transaction() as tx:
            ann = await new_customer(tx, "ann")
            for text in ("r1", "r2"):
                reply = Outbound(Address(*ANN), text, Cause.REPLY, customer_id=ann)
                await tx.outbox.enqueue(reply, NOW)
        sender = Sender([])
        sender.hold = "r1"
        box = Outbox(store, lambda: datetime.now(UTC), retry_base=0.05)
        box.register(sender)
        delivering = asyncio.create_task(box.deliver_due())
        async with asyncio.timeout(BOUND):
            await sender.holding.wait()
        async with store.transaction() as tx:  # /forget, in the same process
            await tx.forget_customer(ann, NOW)
        sender.release.set()
        async with asyncio.timeout(BOUND):
            await delivering
    finally:
        await store.close()
    assert sender.got == ["r1"], f"sent after /forget: {sender.got}"


@pytest.mark.postgres
async def test_a_paused_process_mid_turn_does_not_stop_the_others_serving(
    url: str, postgres_server: Server
) -> None:
    """Process one is paused (SIGSTOP, a stopped VM, its network cut) inside Ann's
    turn: it holds her lock, its session alive on the server. Telegram redelivers
    Ann's update through nginx to process two: that turn waits for her lock. Bob
    writes meanwhile: process two must serve him (Ann's turn may fail, to be
    redelivered later; Bob's must not wait for her). It waits: `transaction()`
    holds `GroupCommitStore._lock` around the whole PostgreSQL transaction, and
    nothing ends Ann's wait before `command_timeout` (300 s); pool connections have
    no TCP keepalives, so a cut-off machine holds her lock for hours."""
    from bot.model import Identity

    one, two = PostgresStore(url), PostgresStore(url)
    await one.open()
    await two.open()
    ann, bob = Identity("test", "w", "ann"), Identity("test", "w", "bob")
    async with one.transaction() as tx:
        await tx.customers.arrive("a0", ann, "ann", Address(*ANN), NOW)
    locked, resume = asyncio.Event(), asyncio.Event()

    async def paused_turn() -> None:
        async with one.transaction() as tx:
            await tx.customers.arrive("a1", ann, "ann", Address(*ANN), NOW)
            locked.set()
            await resume.wait()  # SIGSTOP: the transaction stays open

    async def redelivered() -> None:
        async with two.transaction() as tx:
            await tx.customers.arrive("a2", ann, "ann", Address(*ANN), NOW)

    paused = asyncio.create_task(paused_turn())
    waiting: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(BOUND):
            await locked.wait()
        waiting = asyncio.create_task(redelivered())
        database = url.rsplit("/", 1)[-1]
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        for _ in range(600):  # (Ann's redelivery waiting on her lock, as the server sees it)
            if int(await asyncio.to_thread(postgres_server.psql, database, query)) >= 1:
                break
            await asyncio.sleep(0.1)
        served = True
        try:
            async with asyncio.timeout(30):  # far more than a turn takes
                async with two.transaction() as tx:
                    await tx.customers.arrive("b1", bob, "bob", Address("test", "bob"), NOW)
        except TimeoutError:
            served = False
        in_process = two._lock.locked()  # (what Bob waited for: the store's own lock)
    finally:
        resume.set()
        await asyncio.gather(paused, *([waiting] if waiting else []), return_exceptions=True)
        await one.close()
        await two.close()
    assert served, (
        "Bob waited over 30 s: process two waits for Ann's lock, for everyone"
        f" (its store's in-process lock held: {in_process})"
    )
