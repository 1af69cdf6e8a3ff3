"""The SQLite store: schema, migrations, the one-open-case rule, dedupe, the outbox."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.model import Address, CaseState, Cause, EventKind, Identity, Outbound
from bot.store import SQLiteStore, StoreError
from bot.store.sqlite.schema import migrations

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ANN = Identity("test", "w", "ann")
HERE = Address("test", "ann")


async def test_fresh_database_gets_every_migration_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db" / "candor.sqlite3")
    await store.open()
    try:
        db = store.db
        async with db.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == migrations()[-1][0]  # type: ignore[index]
        async with db.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"  # type: ignore[index]
        async with db.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1  # type: ignore[index]
    finally:
        await store.close()


async def test_existing_database_keeps_its_data_when_reopened(tmp_path: Path) -> None:
    path = tmp_path / "candor.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    async with store.transaction() as tx:
        customer, new = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(customer.id, NOW)
        await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "hello", NOW)
    await store.close()
    again = SQLiteStore(path)
    await again.open()
    try:
        found = await again.customer_by_identity(ANN)
        assert found is not None and found.name == "Ann"
        [event] = await again.events_of(case.id)
        assert event.text == "hello" and new
    finally:
        await again.close()


async def test_a_database_from_an_older_version_is_migrated(tmp_path: Path) -> None:
    """A database left at version 0 with nothing in it is brought up to date."""
    path = tmp_path / "old.sqlite3"
    sqlite3.connect(path).close()
    store = SQLiteStore(path)
    await store.open()
    try:
        async with store.db.execute("SELECT name FROM sqlite_master WHERE type='table'") as cur:
            tables = {row[0] for row in await cur.fetchall()}
        assert {"customers", "cases", "events", "outbox", "inbound_seen"} <= tables
    finally:
        await store.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 999")
    con.close()
    with pytest.raises(StoreError, match="newer than this"):
        await SQLiteStore(path).open()


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        await SQLiteStore(path).open()


async def test_schema_allows_one_unresolved_case_per_customer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.sqlite3")
    await store.open()
    try:
        async with store.transaction() as tx:
            customer, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
            first = await tx.cases.new(customer.id, NOW)
            assert await tx.cases.latest(customer.id) == first
        with pytest.raises(sqlite3.IntegrityError):
            async with store.transaction():
                await store.db.execute(
                    "INSERT INTO cases (customer_id, state, opened_at, updated_at)"
                    " VALUES (?, 'waiting', 0, 0)",
                    (customer.id,),
                )
        from dataclasses import replace

        with pytest.raises(sqlite3.IntegrityError):
            async with store.transaction() as tx:
                await tx.cases.new(customer.id, NOW)  # a second open case: refused
        async with store.transaction() as tx:
            await tx.cases.update(replace(first, state=CaseState.RESOLVED, resolved_at=NOW))
            second = await tx.cases.new(customer.id, NOW + timedelta(seconds=1))
            assert await tx.cases.latest(customer.id) == second
        assert second.id != first.id
    finally:
        await store.close()


async def test_dedupe_keys_are_per_channel(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "d.sqlite3")
    await store.open()
    try:
        async with store.transaction() as tx:
            assert await tx.inbound.first_seen("telegram", "1", NOW)
            assert not await tx.inbound.first_seen("telegram", "1", NOW)
            assert await tx.inbound.first_seen("slack", "1", NOW)
    finally:
        await store.close()


async def test_a_rolled_back_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.sqlite3")
    await store.open()
    try:
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                await tx.inbound.first_seen("test", "k", NOW)
                await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
                raise RuntimeError("crash before commit")
        assert await store.customer_by_identity(ANN) is None
        async with store.transaction() as tx:
            assert await tx.inbound.first_seen("test", "k", NOW)  # the key was not kept either
    finally:
        await store.close()


async def test_outbox_rows_move_from_pending_to_sent_or_failed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.sqlite3")
    await store.open()
    try:
        async with store.transaction() as tx:
            ids = [
                await tx.outbox.enqueue(Outbound(HERE, f"m{i}", Cause.REPLY), NOW) for i in range(3)
            ]
        assert [m.text for m, _ in await store.pending("test")] == ["m0", "m1", "m2"]
        assert await store.pending("test", chat_id="bob") == []
        async with store.transaction() as tx:
            await tx.outbox.mark_sent(ids[0], "p1", NOW)
            await tx.outbox.mark_retry(ids[1], NOW + timedelta(seconds=30), "429")
            await tx.outbox.mark_failed(ids[2], "blocked", NOW)
        [(message, due)] = await store.pending("test")
        assert message.text == "m1" and message.attempts == 1
        assert due == NOW + timedelta(seconds=30)
        states = [state for _, state in await store.outbox_rows()]
        assert states == ["sent", "pending", "failed"]
    finally:
        await store.close()


async def test_the_wal_is_checkpointed_beside_the_writer_and_stays_small(tmp_path: Path) -> None:
    """COMMITs no longer copy the WAL back (that stalled every turn for 10-15 ms);
    a second connection does, so the WAL is reused instead of growing."""
    path = tmp_path / "candor.sqlite3"
    store = SQLiteStore(path, checkpoint_seconds=0.05)
    await store.open()
    try:
        async with store.db.execute("PRAGMA wal_autocheckpoint") as cursor:
            assert (await cursor.fetchone())[0] == 0  # type: ignore[index]
        wal = path.with_name(path.name + "-wal")
        sizes = []
        for round_ in range(6):
            for n in range(50):
                async with store.transaction() as tx:
                    assert await tx.inbound.first_seen("test", f"{round_}-{n}" + "x" * 2000, NOW)
            sizes.append(wal.stat().st_size)
            await asyncio.sleep(0.2)  # a few checkpoints' time
        assert sizes[-1] <= sizes[0] * 1.5, sizes  # not growing round after round
        other = sqlite3.connect(path)
        try:
            assert other.execute("SELECT count(*) FROM inbound_seen").fetchone() == (300,)
        finally:
            other.close()
    finally:
        await store.close()


async def test_under_steady_writes_the_wal_still_starts_over(tmp_path: Path) -> None:
    """Transactions back to back, with no pause for the WAL to be copied back whole:
    the WAL must still be started over now and then, not grow with the load."""
    path = tmp_path / "candor.sqlite3"
    store = SQLiteStore(path, checkpoint_seconds=0.05, checkpoint_pages=200)
    await store.open()
    try:
        wal = path.with_name(path.name + "-wal")
        biggest = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + 2.0
        written = 0
        while loop.time() < end:
            async with store.transaction() as tx:
                for _ in range(20):
                    message = Outbound(HERE, "x" * 2000, Cause.REPLY)
                    await tx.outbox.enqueue(message, NOW)
                    written += 1
            biggest = max(biggest, wal.stat().st_size)
        written_bytes = written * 2000
        assert written_bytes > 20 * 2**20  # enough to see growth
        assert biggest < written_bytes / 4, (biggest, written_bytes)
    finally:
        await store.close()


async def test_a_closing_store_starts_no_new_transaction(tmp_path: Path) -> None:
    """While close() lets a running group finish, nothing new may begin: a
    transaction started then could commit what a cancelled member still writes."""
    store = SQLiteStore(tmp_path / "candor.sqlite3")
    await store.open()
    inside, release = asyncio.Event(), asyncio.Event()

    async def member() -> None:
        async with store.shared() as tx:
            assert await tx.inbound.first_seen("test", "in the group", NOW)
            inside.set()
            await release.wait()

    running = asyncio.create_task(member())
    await inside.wait()
    closing = asyncio.create_task(store.close())
    await asyncio.sleep(0.05)
    with pytest.raises(StoreError, match="closing"):
        async with store.transaction():
            pass
    with pytest.raises(StoreError, match="closing"):
        async with store.shared():
            pass
    release.set()
    await running  # the group it was in still commits
    await closing
    other = sqlite3.connect(tmp_path / "candor.sqlite3")
    try:
        assert other.execute("SELECT count(*) FROM inbound_seen").fetchone() == (1,)
    finally:
        other.close()


@pytest.mark.parametrize("how", ["transaction", "shared"])
async def test_a_case_resolved_and_the_next_opened_in_one_transaction(
    tmp_path: Path, how: str
) -> None:
    """New cases are sent before held updates; the update that resolved the
    customer's case must go first all the same, or the one-open-case index refuses
    the new case and the whole transaction (a whole group) fails."""
    from dataclasses import replace

    store = SQLiteStore(tmp_path / "c.sqlite3")
    await store.open()
    try:
        async with store.transaction() as tx:
            customer, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        begin = store.transaction if how == "transaction" else store.shared
        async with begin() as tx:
            first = await tx.cases.new(customer.id, NOW)
            await tx.cases.update(replace(first, state=CaseState.RESOLVED, resolved_at=NOW))
            second = await tx.cases.new(customer.id, NOW + timedelta(seconds=1))
            assert await tx.cases.latest(customer.id) == second
        states = [(c.id, c.state) for c in await store.cases_of(customer.id)]
        assert states == [(first.id, CaseState.RESOLVED), (second.id, CaseState.BOT)]
    finally:
        await store.close()
