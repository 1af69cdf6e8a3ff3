"""A turn waits a bounded time for its customer's lock held by another process
(paused, cut off), fails alone, and holds up no other turn (neither its group's nor
another transaction's); a paused process's session ends server-side; a migration
is refused while a `candor run` runs (tests/test_red_team.py has the findings'
reproductions)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import config as config_module
from bot.model import Address, Identity
from bot.store import Busy, PostgresStore, StoreError, open_store
from bot.store.errors import NotJoined
from bot.store.postgres import schema
from tests.store.conftest import NOW
from tests.test_postgres import pg_config

pytestmark = pytest.mark.postgres

BOUND = 60.0  # seconds: only a broken run waits this long
ANN, BOB = Identity("test", "w", "ann"), Identity("test", "w", "bob")


@pytest.fixture
async def held(url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Process one inside Ann's turn, paused (its transaction open, her lock held);
    yields (one, two), two a second process on the same database."""
    one, two = PostgresStore(url), PostgresStore(url)
    two.lock_wait = 0.5
    await one.open()
    await two.open()
    async with one.transaction() as tx:
        await tx.customers.arrive("a0", ANN, "ann", Address("test", "ann"), NOW)
    locked, resume = asyncio.Event(), asyncio.Event()

    async def paused_turn() -> None:
        async with one.transaction() as tx:
            await tx.customers.arrive("a1", ANN, "ann", Address("test", "ann"), NOW)
            locked.set()
            await resume.wait()

    paused = asyncio.create_task(paused_turn())
    try:
        async with asyncio.timeout(BOUND):
            await locked.wait()
        yield one, two
    finally:
        resume.set()
        await asyncio.gather(paused, return_exceptions=True)
        await one.close()
        await two.close()


async def _seen(store: PostgresStore, key: str) -> bool:
    """Whether the store holds the update `key` (a new `arrive` with it is a duplicate)."""
    rows = await store._all(
        "SELECT count(*) FROM inbound_seen WHERE key = ?", (store._keyed()(key),)
    )
    return bool(rows[0][0])


async def test_a_turn_waiting_for_a_held_customer_fails_alone_with_busy(
    held: tuple[PostgresStore, PostgresStore],
) -> None:
    _, two = held
    with pytest.raises(Busy, match="lock_wait_seconds"):
        async with asyncio.timeout(BOUND):
            async with two.transaction() as tx:
                await tx.customers.arrive("a2", ANN, "ann", Address("test", "ann"), NOW)
    assert not await _seen(two, "a2")  # nothing stored: the platform sends it again
    async with two.transaction() as tx:  # the store goes on
        await tx.customers.arrive("b1", BOB, "bob", Address("test", "bob"), NOW)
    assert await _seen(two, "b1")


async def test_a_group_commits_without_the_turn_whose_customer_is_held(
    held: tuple[PostgresStore, PostgresStore],
) -> None:
    """Ann's and Bob's turns in one group (one transaction): Ann's leaves it at once
    (`NotJoined`, to wait alone), Bob's commits with the group, not held nor lost."""
    _, two = held

    async def turn(key: str, who: Identity) -> None:
        async with two.shared() as tx:
            await tx.customers.arrive(key, who, who.user_id, Address("test", who.user_id), NOW)

    async with asyncio.timeout(BOUND):
        ann, bob = await asyncio.gather(turn("a2", ANN), turn("b1", BOB), return_exceptions=True)
    assert isinstance(ann, NotJoined), ann
    assert bob is None, bob
    assert await _seen(two, "b1")
    assert not await _seen(two, "a2")


async def test_a_turn_waiting_alone_holds_up_no_group(
    held: tuple[PostgresStore, PostgresStore],
) -> None:
    """While Ann's turn waits alone for her lock, Bob's group commits."""
    _, two = held
    two.lock_wait = BOUND  # Ann waits as long as it takes for Bob's group to commit

    async def ann() -> None:
        async with two.transaction() as tx:
            await tx.customers.arrive("a2", ANN, "ann", Address("test", "ann"), NOW)

    waiting = asyncio.create_task(ann())
    try:
        async with asyncio.timeout(BOUND / 2):
            async with two.shared() as tx:
                await tx.customers.arrive("b1", BOB, "bob", Address("test", "bob"), NOW)
        assert not waiting.done()
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    assert await _seen(two, "b1")


async def test_the_pools_sessions_end_an_idle_transaction_and_a_silent_peer(url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        for name, value in [
            ("idle_in_transaction_session_timeout", "30s"),
            ("tcp_keepalives_idle", "10"),
            ("tcp_keepalives_interval", "5"),
            ("tcp_keepalives_count", "3"),
        ]:
            rows = await store._all(f"SHOW {name}")
            assert rows[0][0] == value, (name, rows)
    finally:
        await store.close()


def test_lock_wait_seconds_reaches_the_store(
    tmp_path: Path, knowledge_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = pg_config(tmp_path, knowledge_dir, url)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[storage]\n", "[storage]\nlock_wait_seconds = 7.5\n", 1))
    monkeypatch.setenv("CANDOR_DATABASE_URL", url)
    store = open_store(config_module.load(path))
    assert isinstance(store, PostgresStore) and store.lock_wait == 7.5
    path.write_text(text.replace("[storage]\n", "[storage]\nlock_wait_seconds = 0\n", 1))
    with pytest.raises(config_module.ConfigError, match="lock_wait_seconds"):
        config_module.load(path)


async def test_migrate_names_the_running_processes_and_applies_nothing(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = schema.migrations()
    monkeypatch.setattr(schema, "migrations", lambda: every[:-1])
    old = PostgresStore(url)
    await old.open()
    try:
        async with old.running():
            monkeypatch.setattr(schema, "migrations", lambda: every)
            new = PostgresStore(url)
            with pytest.raises(StoreError) as refused:
                await new.migrate()  # `candor db migrate`
            said = str(refused.value)
            assert "1 `candor run` is running" in said, said
            assert "(candor)" in said and "stop every `candor run`" in said, said
            version = await old._all("SELECT max(version) FROM candor_schema")
            assert version[0][0] == every[-2][0]  # nothing applied
        new = PostgresStore(url)  # once they are stopped, it migrates
        applied, now = await new.migrate()
        assert applied == [every[-1][1]] and now == every[-1][0]
    finally:
        await old.close()


async def test_the_engine_leaves_a_busy_message_unacknowledged_and_serves_the_others(
    tmp_path: Path, knowledge_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the engine: Ann's message, her customer held by a paused process, is
    not kept (no apology: it raises, unacknowledged) while Bob's is answered; sent
    again once the other process goes on, Ann's is answered."""
    from bot.app import Candor
    from tests.conftest import Customer, RecordingSender

    path = pg_config(tmp_path, knowledge_dir, url)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[storage]\n", "[storage]\nlock_wait_seconds = 0.5\n", 1))
    monkeypatch.setenv("CANDOR_DATABASE_URL", url)
    other = PostgresStore(url)
    await other.open()
    locked, resume = asyncio.Event(), asyncio.Event()
    async with Candor(config_module.load(path)) as app:
        sender = RecordingSender()
        app.outbox.register(sender)
        ann, bob = Customer(app, sender, "ann"), Customer(app, sender, "bob")

        async def paused_turn() -> None:
            async with other.transaction() as tx:
                await tx.customers.arrive("x", ann.identity, "ann", ann.address, NOW)
                locked.set()
                await resume.wait()

        paused = asyncio.create_task(paused_turn())
        try:
            async with asyncio.timeout(BOUND):
                await locked.wait()
                message = ann.inbound("how much does it cost?")
                with pytest.raises(Busy):
                    await app.engine.receive(message)
                assert not (await app.engine.receive(bob.inbound("hello"))).duplicate
        finally:
            resume.set()
            await asyncio.gather(paused, return_exceptions=True)
            await other.close()
        assert isinstance(app.store, PostgresStore)
        assert not await _seen(app.store, message.key)
        receipt = await app.engine.receive(message)  # the platform sends it again
        assert not receipt.duplicate
        await app.outbox.deliver_due()
        assert any("Plans and prices" in t for t in sender.texts("ann"))
        assert sender.texts("bob")
