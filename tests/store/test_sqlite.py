"""SQLite only: the file, its schema and migrations, WAL and its checkpoints. The
store contract is in the other modules of this folder."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from bot.model import CaseState, Cause, Conversation, Outbound
from bot.store import NoDatabase, NotACandorDatabase, SQLiteStore, StoreError
from bot.store.sqlite.rows import digest
from bot.store.sqlite.schema import migrations, statements
from bot.store.sqlite.wal import Checkpointer
from bot.tasks import cancel_and_wait
from tests.store.conftest import ANN, HERE, NOW

pytestmark = pytest.mark.sqlite_only


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


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


async def test_the_schema_itself_allows_one_unresolved_case_per_customer(tmp_path: Path) -> None:
    """Not only `tx.cases.new` (see test_cases.py): a row written any other way too."""
    store = SQLiteStore(tmp_path / "c.sqlite3")
    await store.open()
    try:
        async with store.transaction() as tx:
            customer, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
            await tx.cases.new(customer.id, NOW)
        with pytest.raises(sqlite3.IntegrityError):
            async with store.transaction():
                await store.db.execute(
                    "INSERT INTO cases (customer_id, state, opened_at, updated_at)"
                    " VALUES (?, 'waiting', 0, 0)",
                    (customer.id,),
                )
    finally:
        await store.close()


async def test_the_wal_is_checkpointed_beside_the_writer_and_stays_small(tmp_path: Path) -> None:
    """COMMITs no longer copy the WAL back (that stalled every turn for 10-15 ms);
    a second connection does, so the WAL is reused instead of growing. (The
    checkpointer's passes are driven here, as its timer would make them between
    bursts: sleeping for "a few checkpoints' time" failed on a loaded machine.)"""
    path = tmp_path / "candor.sqlite3"
    store = SQLiteStore(path, checkpoint_seconds=0)
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
            for _ in range(3):  # a few of the checkpointer's passes
                await store.checkpoint()
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
    the checkpointer's passes (driven here one after every few transactions, as its
    timer would under load) must still start the WAL over, not let it grow with the
    load. Counted in transactions, not seconds: it holds on a busy machine too."""
    path = tmp_path / "candor.sqlite3"
    store = SQLiteStore(path, checkpoint_seconds=0, checkpoint_pages=200)
    await store.open()
    try:
        await store.db.execute("PRAGMA wal_autocheckpoint = 0")  # only ours, as in production
        wal = path.with_name(path.name + "-wal")
        biggest = 0
        written = 0
        for transaction in range(600):
            async with store.transaction() as tx:
                for _ in range(20):
                    message = Outbound(HERE, "x" * 2000, Cause.REPLY)
                    await tx.outbox.enqueue(message, NOW)
                    written += 1
            if transaction % 10 == 9:
                await store.checkpoint()
            biggest = max(biggest, wal.stat().st_size)
        written_bytes = written * 2000
        assert written_bytes > 20 * 2**20  # enough to see growth
        assert biggest < written_bytes / 4, (biggest, written_bytes)
    finally:
        await store.close()


async def test_a_long_reader_in_another_process_holds_up_no_commit(tmp_path: Path) -> None:
    """A report, a backup or a BI tool reading for a long time: the WAL cannot start
    over while it reads, and waiting for it (a RESTART checkpoint with a busy
    timeout, the store's lock held) held every turn up for as long. Commits go on
    while it reads (the reader is only ever closed after they are all done, or
    after a minute if they wait for it); the WAL grows meanwhile, and starts over
    within a few checkpoint passes once the reader is done."""
    path = tmp_path / "candor.sqlite3"
    store = SQLiteStore(path, checkpoint_seconds=0, checkpoint_pages=50, busy_timeout_ms=120_000)
    await store.open()
    wal = path.with_name(path.name + "-wal")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        reading = True

        async def close_reader_if_commits_wait_for_it() -> None:
            nonlocal reading
            await asyncio.sleep(60)  # a bound on a hang, not a measure of speed
            reading = False
            reader.close()

        give_up = asyncio.create_task(close_reader_if_commits_wait_for_it())
        committed_while_reading = []

        async def checkpoints() -> None:  # the checkpointer's passes, beside the turns
            while True:
                await store.checkpoint()
                await asyncio.sleep(0)

        checkpointing = asyncio.create_task(checkpoints())
        try:
            for _ in range(40):
                async with store.transaction() as tx:
                    for _ in range(10):
                        await tx.outbox.enqueue(Outbound(HERE, "x" * 2000, Cause.REPLY), NOW)
                committed_while_reading.append(reading)
                await store.checkpoint()
        finally:
            await cancel_and_wait([checkpointing, give_up])
        assert committed_while_reading == [True] * 40
        grown = wal.stat().st_size
        assert grown > 40 * 10 * 2000  # it could not start over while read
    finally:
        reader.close()
    try:
        for _ in range(3):  # a few passes after the reader is done, with turns between
            await store.checkpoint()
            async with store.transaction() as tx:
                await tx.outbox.enqueue(Outbound(HERE, "after", Cause.REPLY), NOW)
        assert wal.stat().st_size < grown / 4  # started over, and cut back
        other = sqlite3.connect(path)
        try:
            _, frames, _ = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert frames < 50
            assert other.execute("SELECT count(*) FROM outbox").fetchone() == (403,)
        finally:
            other.close()
    finally:
        await store.close()


async def test_the_checkpointer_runs_beside_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background task makes those passes on its own."""
    store = SQLiteStore(tmp_path / "candor.sqlite3", checkpoint_seconds=0.01)
    passed = asyncio.Event()
    real = Checkpointer.checkpoint

    async def counted(self: Checkpointer) -> None:
        await real(self)
        passed.set()

    monkeypatch.setattr(Checkpointer, "checkpoint", counted)
    await store.open()
    try:
        async with asyncio.timeout(60):  # a bound on a hang, not a measure of speed
            await passed.wait()
    finally:
        await store.close()


async def test_every_table_with_a_customer_s_data_is_covered_by_personal_data_hooks(
    tmp_path: Path,
) -> None:
    """/mydata, /forget and /link go through the personal-data hooks of every
    repository (`tx.personal_data`): a table that names a customer or a case must be
    one of theirs, or its rows would be missed (left behind by /forget, orphaned by
    /link)."""
    store = SQLiteStore(tmp_path / "candor.sqlite3")
    await store.open()
    try:
        db = store.db
        tables = [
            str(row[0])
            for row in await db.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        holding = {"customers"}
        for table in tables:
            columns = {
                str(row[1]) for row in await db.execute_fetchall(f"PRAGMA table_info({table})")
            }
            references = {
                str(row[2])
                for row in await db.execute_fetchall(f"PRAGMA foreign_key_list({table})")
            }
            if columns & {"customer_id", "created_by"} or references & {"customers", "cases"}:
                holding.add(table)
        assert {"identities", "cases", "events", "outbox", "desk_threads", "feedback"} <= holding
        async with store.transaction() as tx:
            holders = tx.personal_data
            repositories = [getattr(tx, name) for name in type(tx).__slots__ if name != "_s"]
        covered = {table for holder in holders for table in holder.tables}  # type: ignore[attr-defined]
        assert sorted(holding - covered) == []
        assert covered <= set(tables)  # no hook claims a table that is not there
        # and every repository with the hooks is among those the transaction calls
        with_hooks = [
            r for r in repositories if all(hasattr(r, h) for h in ("export", "forget", "merge"))
        ]
        assert {id(r) for r in with_hooks} == {id(h) for h in holders}
    finally:
        await store.close()


async def test_cases_of_a_version_7_database_wait_for_nothing_after_migrating(
    tmp_path: Path,
) -> None:
    """Migration 008 stores what the bot waits for on each case; cases from before
    it wait for nothing, and keep everything else."""
    path = tmp_path / "v7.sqlite3"
    old = sqlite3.connect(path)
    old.create_function("candor_digest", 1, digest)  # as the store has it for migration 003
    for version, _, sql in migrations():
        if version <= 7:
            for statement in statements(sql):
                old.execute(statement)
    old.execute("PRAGMA user_version = 7")
    old.execute("INSERT INTO customers (id, name, created_at) VALUES (1, 'Ann', 0)")
    old.execute(
        "INSERT INTO cases (id, customer_id, state, subject, opened_at, updated_at, summary)"
        " VALUES (1, 1, 'waiting', 'invoices', 0, 60, 'Ann needs invoices')"
    )
    old.commit()
    old.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        [case] = await store.cases_of(1)
        assert (case.state, case.subject, case.summary) == (
            CaseState.WAITING,
            "invoices",
            "Ann needs invoices",
        )
        assert (case.conversation, case.conversation_until, case.conversation_note) == (
            Conversation.NONE,
            None,
            "",
        )
    finally:
        await store.close()


async def test_a_read_only_store_reads_beside_the_bot_and_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "candor.sqlite3"
    writer = SQLiteStore(path)
    await writer.open()
    try:
        async with writer.transaction() as tx:
            customer, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
            await tx.cases.new(customer.id, NOW)
        reader = SQLiteStore(path, read_only=True)
        await reader.open()
        try:
            assert [c.customer_id for c in await reader.cases_of(customer.id)] == [customer.id]
            async with reader.reporting() as reports:
                assert [c.id for c in await reports.cases_opened(None, NOW)] == [1]
            for begin in (reader.transaction, reader.shared):
                with pytest.raises(StoreError, match="read-only"):
                    async with begin():
                        pass
            async with writer.transaction() as tx:  # the bot goes on writing meanwhile
                await tx.feedback.add(customer.id, None, "later", NOW)
            async with reader.reporting() as reports:
                assert await reports.feedback_count(None, NOW) == 1
        finally:
            await reader.close()
    finally:
        await writer.close()


async def test_a_read_only_store_changes_nothing_not_even_an_old_schema(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    old = sqlite3.connect(path)
    for version, _, sql in migrations():
        if version <= 2:
            for statement in statements(sql):
                old.execute(statement)
    old.execute("PRAGMA user_version = 2")
    old.execute("INSERT INTO customers (id, name, created_at) VALUES (1, 'Ann', 0)")
    old.execute(
        "INSERT INTO identities (channel, workspace, user_id, customer_id, address)"
        " VALUES ('telegram', '', '7', 1, '[\"telegram\", \"7\", \"\"]')"
    )
    old.execute(
        "INSERT INTO cases (id, customer_id, state, opened_at, updated_at)"
        " VALUES (1, 1, 'bot', 0, 0)"
    )
    old.commit()
    old.close()
    before = path.read_bytes()
    reader = SQLiteStore(path, read_only=True)
    await reader.open()
    try:
        async with reader.reporting() as reports:  # no feedback, no ideas before 003 and 006
            assert await reports.feedback_count(None, NOW) == 0
            assert await reports.top_ideas(10) == []
            # no reply_to (009) nor language (016) yet: the channel its customer wrote on
            [case] = await reports.cases_opened(None, NOW)
            assert (case.id, case.channel, case.language) == (1, "telegram", "")
    finally:
        await reader.close()
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["v2.sqlite3"]  # no journal, no WAL made


async def test_a_read_only_store_says_what_is_wrong_with_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    with pytest.raises(NoDatabase, match=r"^No Candor database at .*nowhere\.sqlite3") as found:
        await SQLiteStore(missing, read_only=True).open()
    assert isinstance(found.value, FileNotFoundError) and not missing.exists()
    other = tmp_path / "other.sqlite3"
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    with pytest.raises(NotACandorDatabase, match="is not a Candor database") as found_other:
        await SQLiteStore(other, read_only=True).open()
    assert isinstance(found_other.value, ValueError)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        await SQLiteStore(junk, read_only=True).open()
