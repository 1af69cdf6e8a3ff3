"""The outbox's passes, measured by the work they do: a backlog is read about once
per message sent, whatever the backend, and a sending task's end wakes no pass
unless something waits for its address.

Before, every task's end woke a pass and every pass read the pending rows again
(up to 2,000) past the addresses being sent to: on PostgreSQL, where reads run
beside the writer, hundreds of rows read per message sent (the `pg_engine_bench.py`
outbox part, benchmarks/RESULTS.md). These count rows read and reads, not time."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.model import Address, Cause, Outbound
from bot.outbox import Outbox
from bot.sharing import Sharing
from bot.store import PostgresStore, Store
from tests.postgres import Server as PostgresServer
from tests.store.conftest import NOW, Backend, backend  # noqa: F401 (the fixture)

BOUND = 120.0  # seconds: only a broken run waits this long
CHATS, EACH = 500, 2


class Counted:
    """`store.pending`, counting the reads and the rows they returned."""

    def __init__(self, store: Store) -> None:
        self.reads = self.rows = 0
        self._pending = store.pending
        store.pending = self  # type: ignore[method-assign]

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        rows = await self._pending(*args, **kwargs)
        self.reads += 1
        self.rows += len(rows)
        return rows


class Sender:
    """A channel that takes every message at once (a network send's yield), and
    says when it has taken `expected` of them."""

    channel = "test"
    overall_per_second: float | None = None

    def __init__(self, expected: int, got: list[tuple[str, str]] | None = None) -> None:
        self.got = [] if got is None else got  # (shared by several, in one order)
        self.mine: list[str] = []
        self.expected = expected
        self.all = asyncio.Event()

    async def send(self, message: Outbound) -> str:
        await asyncio.sleep(0)
        self.got.append((message.address.chat_id, message.text))
        self.mine.append(message.text)
        if len(self.got) >= self.expected:
            self.all.set()
        return f"p{message.id}"


@pytest.fixture
async def store(backend: Backend, tmp_path: Path) -> AsyncIterator[Store]:  # noqa: F811
    made = backend.make(tmp_path)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


async def backlog(store: Store) -> dict[str, list[str]]:
    """EACH replies to each of CHATS chats, interleaved (every chat's first, then
    every chat's second), as a burst of customers writes them."""
    wanted: dict[str, list[str]] = collections.defaultdict(list)
    async with store.transaction() as tx:
        for n in range(EACH):
            for c in range(CHATS):
                chat, text = f"c{c}", f"c{c} m{n}"
                await tx.outbox.enqueue(Outbound(Address("test", chat), text, Cause.REPLY), NOW)
                wanted[chat].append(text)
    return wanted


async def all_recorded(store: Store) -> bool:
    return all(state == "sent" for _, state in await store.outbox_rows())


async def test_a_backlog_is_read_about_once_per_message_sent(store: Store) -> None:
    wanted = await backlog(store)
    total = CHATS * EACH
    counted = Counted(store)
    sender = Sender(total)
    box = Outbox(store, lambda: datetime.now(UTC))
    box.register(sender)
    running = asyncio.create_task(box.run(poll_seconds=3600))  # no polling: wake-ups only
    try:
        async with asyncio.timeout(BOUND):
            await sender.all.wait()
            while not await all_recorded(store):  # the last sends' records
                continue  # (each look is a trip to the database: they go on meanwhile)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    got: dict[str, list[str]] = collections.defaultdict(list)
    for chat, text in sender.got:
        got[chat].append(text)
    assert got == wanted  # each once, in order per chat
    print(f"\n{total} sent: {counted.reads} reads, {counted.rows / total:.2f} rows per message")
    # each row is read when a pass starts its address's task, and again at most when a
    # pass read it behind its address's running task (before: ~245 rows a message)
    assert counted.rows <= 2 * total
    # a read for each page started, and one at most for each address a pass read
    # behind its running task (those are read only when that task has ended)
    assert counted.reads <= CHATS + total // 10


async def test_a_task_that_sent_everything_it_had_wakes_no_pass(store: Store) -> None:
    async with store.transaction() as tx:
        for chat in ("ann", "bob", "cem"):
            await tx.outbox.enqueue(Outbound(Address("test", chat), chat, Cause.REPLY), NOW)
    counted = Counted(store)
    sender = Sender(3)
    box = Outbox(store, lambda: datetime.now(UTC))
    box.register(sender)
    running = asyncio.create_task(box.run(poll_seconds=3600))
    try:
        async with asyncio.timeout(BOUND):
            await sender.all.wait()
        for _ in range(20):  # trips to the database, among which a woken pass would read
            await store.outbox_rows()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert sorted(sender.got) == [("ann", "ann"), ("bob", "bob"), ("cem", "cem")]
    assert counted.reads == 1  # the first pass; then it sleeps until woken or the poll


@pytest.mark.postgres
async def test_processes_sharing_a_backlog_read_about_once_per_message_sent(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Two processes on one PostgreSQL: neither reads the rows of the chats the other
    owns (before, each pass read them all, and left them)."""
    url = postgres_server.database_for(tmp_path)
    stores = [PostgresStore(url), PostgresStore(url)]
    for made in stores:
        await made.open()
    try:
        wanted = await backlog(stores[0])
        total = CHATS * EACH
        counted = [Counted(made) for made in stores]
        got: list[tuple[str, str]] = []
        senders = [Sender(total, got) for _ in stores]
        for sender in senders:  # a limit far above what is reached: counted, then shared
            sender.overall_per_second = 1_000_000.0
        boxes = []
        for made, sender in zip(stores, senders, strict=True):
            box = Outbox(
                made, lambda: datetime.now(UTC), sharing=Sharing(made, lease=30, heartbeat=0.2)
            )
            box.register(sender)
            box.paused = True  # until both count each other: then they divide the chats
            boxes.append(box)
        # the default poll: a chat one process hands over to share the work (bot/sharing.py)
        # is free only once its spacing has passed, and no message wakes the other then
        running = [asyncio.create_task(box.run(poll_seconds=1.0)) for box in boxes]
        try:
            async with asyncio.timeout(BOUND):
                for box in boxes:
                    assert box.sharing is not None
                    while box.sharing.live < 2 or not box.sharing.ready.is_set():  # noqa: ASYNC110
                        await asyncio.sleep(0.05)  # (`live` changes at heartbeats: no event)
                for box in boxes:
                    box.paused = False
                    box.wake()
                await asyncio.wait(
                    [asyncio.create_task(s.all.wait()) for s in senders],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                while not await all_recorded(stores[0]):
                    continue
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        by_chat: dict[str, list[str]] = collections.defaultdict(list)
        for chat, text in got:
            by_chat[chat].append(text)
        assert by_chat == wanted  # each once, in order per chat
        rows = sum(c.rows for c in counted)
        print(
            f"\n{total} sent by two: {[len(s.mine) for s in senders]};"
            f" {sum(c.reads for c in counted)} reads, {rows / total:.2f} rows per message"
        )
        # a chat nobody owns yet is read by each process until one claims it (a claim
        # takes its share of what it read), and a chat handed over to even the shares
        # out is read again by its new owner: a few reads a row (3.6 measured), against
        # 205 when every pass read every pending row; the bound leaves room for polls
        assert rows <= 8 * total
    finally:
        for made in stores:
            await made.close()


@pytest.mark.postgres
async def test_an_owners_pending_leaves_out_the_chats_another_process_holds(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Another process's live lease: its chats' rows are not read; a lapsed lease's
    are (whoever claims first takes them over), and so are a damaged row's."""
    made = PostgresStore(postgres_server.database_for(tmp_path))
    await made.open()
    try:
        async with made.transaction() as tx:
            for chat in ("ann", "bob", "cem", "dan"):
                await tx.outbox.enqueue(Outbound(Address("test", chat), chat, Cause.REPLY), NOW)
        await made._run("UPDATE outbox SET address = 'not JSON' WHERE text = 'dan'")
        for process in ("p1", "p2"):
            await made.join(process, 30)
        assert await made.claim("p2", [("test", "bob")], 30) == {("test", "bob")}
        assert await made.claim("p2", [("test", "cem")], -1) == {("test", "cem")}  # lapsed
        assert [m.text for m, _ in await made.pending("test", owner="p1")] == ["ann", "cem"]
        everything = ["ann", "bob", "cem"]
        assert [m.text for m, _ in await made.pending("test", owner="p2")] == everything
        assert [m.text for m, _ in await made.pending("test")] == everything
        [(state,)] = await made._run("SELECT state FROM outbox WHERE text = 'dan'")
        assert state == "failed"  # read, and refused: never a failed query
    finally:
        await made.close()
