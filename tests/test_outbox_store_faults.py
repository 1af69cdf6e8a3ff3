"""The outbox when the store fails under it (a full disk, a write lock held by another
process) and when a platform stays down: a send the store could not record is never
sent again, nothing loops, no task dies silently, and a reply to a customer is never
given up for an outage without the desk being told."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from bot.app import Candor
from bot.config import Config
from bot.model import Cause, Outbound
from bot.outbox import DeliveryError
from bot.report import build_report, render_report
from bot.store import SQLiteStore
from bot.store.sqlite.outbox import SQLiteOutboxRows
from tests.conftest import Clock, Customer, RecordingSender

FULL = "database or disk is full"


class FullDisk:
    """What the outbox records of a delivery (`mark_sent`, `mark_retry`, `mark_failed`)
    fails as SQLite fails on a full disk while `full`; counts the calls."""

    def __init__(self) -> None:
        self.full = False
        self.calls: collections.Counter[str] = collections.Counter()
        self.refused_ids: set[int] = set()  # these messages' records always fail


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> FullDisk:
    disk = FullDisk()
    for name in ("mark_sent", "mark_retry", "mark_failed"):
        original = getattr(SQLiteOutboxRows, name)

        async def refusing(
            self: SQLiteOutboxRows, *args: Any, _original: Any = original, _name: str = name
        ) -> bool:
            disk.calls[_name] += 1
            if disk.full or args[0] in disk.refused_ids:
                raise sqlite3.OperationalError(FULL)
            return bool(await _original(self, *args))

        monkeypatch.setattr(SQLiteOutboxRows, name, refusing)
    return disk


async def states(app: Candor, cause: Cause | None = None) -> list[str]:
    return [
        state
        for message, state in await app.store.outbox_rows()
        if cause is None or message.cause is cause
    ]


async def test_a_send_the_store_cannot_record_is_not_sent_again(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
    disk: FullDisk,
) -> None:
    ann = customer_factory("ann")
    for question in ("hi", "is there a free trial", "how much does it cost"):
        await app.engine.receive(ann.inbound(question))
    disk.full = True
    for _ in range(5):
        await app.outbox.deliver_due()
        clock.advance(seconds=1)
    # the first reply went once, though it could not be recorded as sent; the others
    # wait while the store refuses (each would be sent again after a restart)
    assert len(sender.sent) == 1
    assert await states(app) == ["pending"] * 3
    tries = disk.calls["mark_sent"]
    assert tries <= 1 + 5, tries  # the record is retried at most once a pass
    disk.full = False
    clock.advance(seconds=120)  # past the store's back-off
    assert await app.outbox.deliver_due() == 2
    assert await states(app) == ["sent"] * 3
    assert len(sender.sent) == len({m.id for m in sender.sent}) == 3  # each once


@contextlib.contextmanager
def unretrieved_task_errors() -> Iterator[list[str]]:
    """What the event loop reports of tasks whose exception nobody retrieved."""
    loop = asyncio.get_running_loop()
    found: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: found.append(str(context.get("message"))))
    try:
        yield found
        gc.collect()
    finally:
        loop.set_exception_handler(previous)


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.01)


async def test_a_full_disk_under_the_running_outbox_neither_floods_nor_kills_its_tasks(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
    disk: FullDisk,
) -> None:
    """The finding: the task died ("Task exception was never retrieved"), the outbox
    woke at once and sent the row again, a hundred times in 20 s."""
    customers = [customer_factory(name) for name in ("ann", "bob", "cem")]
    for customer in customers:
        await app.engine.receive(customer.inbound("is there a free trial"))
    disk.full = True
    with unretrieved_task_errors() as errors:
        running = asyncio.create_task(app.outbox.run(poll_seconds=0.01))
        try:

            async def refused() -> bool:
                return disk.calls["mark_sent"] >= 1

            await until(refused)
            for _ in range(30):  # passes go on meanwhile: every wake-up, every 10 ms
                app.outbox.wake()
                await asyncio.sleep(0.01)
            # none twice (those not sent wait for the store)
            assert 1 <= len(sender.sent) == len({m.id for m in sender.sent}) <= 3
            disk.full = False
            clock.advance(seconds=120)
            app.outbox.wake()

            async def recorded() -> bool:
                return await states(app) == ["sent"] * 3

            await until(recorded)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    assert len(sender.sent) == 3
    assert [e for e in errors if "never retrieved" in e] == []


async def test_a_retry_the_store_cannot_record_still_waits_its_back_off(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
    disk: FullDisk,
) -> None:
    ann = customer_factory("ann")
    await app.engine.receive(ann.inbound("is there a free trial"))
    sender.failures.append(DeliveryError("429", retry_after=30))
    disk.full = True
    await app.outbox.deliver_due()
    for _ in range(5):  # the platform said 30 s: not before, stored or not
        clock.advance(seconds=5)
        await app.outbox.deliver_due()
    assert sender.sent == [] and sender.failures == []
    disk.full = False
    clock.advance(seconds=60)
    assert await app.outbox.deliver_due() == 1
    assert await states(app) == ["sent"] and len(sender.sent) == 1


async def test_a_failure_the_store_cannot_record_is_not_tried_again(
    app: Candor,
    clock: Clock,
    disk: FullDisk,
) -> None:
    class Blocked(RecordingSender):
        tries = 0

        async def send(self, message: Outbound) -> str:
            self.tries += 1
            raise DeliveryError("bot was blocked by the user", permanent=True)

    blocked = Blocked()
    app.outbox.register(blocked)
    ann = Customer(app, blocked, "ann")
    await app.engine.receive(ann.inbound("is there a free trial"))
    disk.full = True
    for _ in range(4):
        await app.outbox.deliver_due()
        clock.advance(seconds=1)
    assert blocked.tries == 1
    disk.full = False
    clock.advance(seconds=120)
    await app.outbox.deliver_due()
    assert await states(app, Cause.REPLY) == ["failed"]
    assert blocked.tries == 1


@pytest.fixture
async def locking_app(config: Config, clock: Clock) -> AsyncIterator[Candor]:
    """Candor whose store waits only 0.2 s for another process's write lock."""
    store = SQLiteStore(config.storage.path, busy_timeout_ms=200)
    async with Candor(config, clock=clock, store=store) as candor:
        yield candor


async def test_a_write_lock_held_by_another_process_costs_no_duplicate_reply(
    locking_app: Candor, clock: Clock, config: Config
) -> None:
    """Finding 21: a reply sent while another process held the write lock longer than
    the busy timeout was sent again; now it is recorded once the lock is let go."""
    app = locking_app
    sender = RecordingSender()
    app.outbox.register(sender)
    ann = Customer(app, sender, "ann")
    await app.engine.receive(ann.inbound("is there a free trial"))
    await app.engine.receive(ann.inbound("how much does it cost"))
    other = sqlite3.connect(config.storage.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # a backup, a migration, a BI tool writing
        for _ in range(3):
            await app.outbox.deliver_due()
            clock.advance(seconds=1)
        assert len(sender.sent) == 1  # the second waits until the first is recorded
        other.execute("ROLLBACK")
    finally:
        other.close()
    clock.advance(seconds=120)
    await app.outbox.deliver_due()
    assert await states(app) == ["sent", "sent"]
    assert len(sender.sent) == 2  # each once


async def test_a_reply_is_never_given_up_while_the_platform_is_down_and_the_desk_is_told_once(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    ann = customer_factory("ann")
    await app.engine.receive(ann.inbound("is there a free trial"))
    sender.failures.extend(DeliveryError("network: connection refused") for _ in range(15))
    for _ in range(15):  # ten attempts used to be all: failed, and nobody told
        await app.outbox.deliver_due()
        clock.advance(seconds=301)
    assert sender.failures == [] and sender.sent == []
    assert await states(app, Cause.REPLY) == ["pending"]
    told = [m for m, _ in await app.store.outbox_rows() if m.cause is Cause.DESK]
    assert len(told) == len(app.config.desk_addresses()) >= 1  # once per desk, not per try
    case = told[0].case_id
    assert case is not None
    assert f"case #{case} are not getting through since 10:00" in told[0].text
    assert "connection refused" in told[0].text
    # candor report says so too
    report = await build_report(app.config.storage.path, None, clock.now)
    [stuck] = report["undelivered_replies"]
    assert (stuck["case"], stuck["state"], stuck["attempts"]) == (case, "stuck", 15)
    assert f"case #{case}: stuck since" in render_report(report)
    # the platform is back: the reply goes, once
    await app.outbox.deliver_due()
    assert await states(app, Cause.REPLY) == ["sent"] and len(sender.sent) == 1
    report = await build_report(app.config.storage.path, None, clock.now)
    assert report["undelivered_replies"] == []


async def test_a_reply_given_up_for_good_is_told_to_the_desk_and_reported(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    ann = customer_factory("ann")
    sender.failures.append(DeliveryError("Telegram refused: bot was blocked", permanent=True))
    await app.engine.receive(ann.inbound("is there a free trial"))
    await app.outbox.deliver_due()
    assert await states(app, Cause.REPLY) == ["failed"]
    [told] = [m for m, _ in await app.store.outbox_rows() if m.cause is Cause.DESK]
    assert "not getting through" in told.text and "given up" in told.text
    report = await build_report(app.config.storage.path, None, clock.now)
    assert [r["state"] for r in report["undelivered_replies"]] == ["failed"]


async def test_a_record_that_always_fails_does_not_stop_the_outbox_for_good(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
    disk: FullDisk,
) -> None:
    """Not the store but one write (a bug, a constraint): the others' messages wait a
    while (it looks like a full disk at first), then go; that one is never resent."""
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await app.engine.receive(ann.inbound("is there a free trial"))
    [(first, _)] = await app.store.pending("test")
    disk.refused_ids.add(first.id)
    await app.outbox.deliver_due()
    await app.engine.receive(bob.inbound("is there a free trial"))
    for _ in range(12):
        clock.advance(seconds=120)
        await app.outbox.deliver_due()
    assert [m.address.chat_id for m in sender.sent] == ["ann", "bob"]
    assert await states(app) == ["pending", "sent"]
