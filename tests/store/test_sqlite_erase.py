"""SQLite only: what /forget leaves on disk (nothing of the customer's words, in the
database file or its WAL, also after a kill), and what the dedupe log and the link
codes keep of their keys (digests keyed per database)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.model import Cause, EventKind, Outbound
from bot.store import SQLiteStore, Transaction
from bot.store.sqlite.rows import digest
from bot.store.sqlite.schema import migrations, statements
from tests.conftest import ROOT
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE

pytestmark = pytest.mark.sqlite_only

WORD = "Quixotic4242"  # what Ann says, and nothing else stores


def on_disk(path: Path) -> bytes:
    """The database file and its WAL as they are on disk now: what a SIGKILL leaves."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def ann_and_bob(store: SQLiteStore) -> int:
    """Ann tells her secret word in every place a customer's words are kept, over
    many transactions, some of them copied back into the database; Bob says his."""
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, f"Ann {WORD}", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        bobs = await tx.cases.new(bob.id, NOW)
        await tx.timeline.append(bobs.id, EventKind.CUSTOMER, "customer", "bob's words", NOW)
    for n in range(30):
        async with store.transaction() as tx:
            said = f"message {n}: {WORD} " + "x" * 500
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", said, NOW)
            await tx.outbox.enqueue(Outbound(HERE, f"you said {WORD}", Cause.REPLY, ann.id), NOW)
            await tx.feedback.add(ann.id, case.id, f"feedback {WORD}", NOW)
        if n == 10:
            await store.checkpoint()  # some of it into the database file too
    return ann.id


async def forget(
    store: SQLiteStore, begin: Callable[[], AbstractAsyncContextManager[Transaction]], customer: int
) -> None:
    async with begin() as tx:
        await tx.forget_customer(customer, NOW)


class WithoutSecureDelete(sqlite3.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA secure_delete = OFF")


@pytest.fixture
async def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SQLiteStore]:
    """A store whose SQLite overwrites nothing deleted unless told to: most builds
    (SQLITE_SECURE_DELETE is off by default); the one here may have it on."""
    real = aiosqlite.connect

    def connect(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
        return real(*args, factory=WithoutSecureDelete, **kwargs)

    monkeypatch.setattr(aiosqlite, "connect", connect)
    opened = SQLiteStore(tmp_path / "candor.sqlite3", checkpoint_seconds=0, checkpoint_pages=50)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.mark.parametrize("kind", ["transaction", "shared"])
async def test_after_forget_neither_the_database_nor_its_wal_holds_the_words(
    store: SQLiteStore, kind: str, tmp_path: Path
) -> None:
    ann = await ann_and_bob(store)
    assert WORD.encode() in on_disk(store.path)  # (the test can see them)
    await forget(store, getattr(store, kind), ann)
    left = on_disk(store.path)  # the bot still running, or killed now
    assert WORD.encode() not in left
    assert b"bob's words" in left
    # what a kill now leaves opens as a database with Bob's words and none of Ann's
    copy = tmp_path / "killed.sqlite3"
    copy.write_bytes(store.path.read_bytes())
    wal = store.path.with_name(store.path.name + "-wal")
    if wal.exists():
        copy.with_name(copy.name + "-wal").write_bytes(wal.read_bytes())
    with sqlite3.connect(copy) as db:
        assert db.execute(
            "SELECT count(*) FROM events WHERE text = ?", ("bob's words",)
        ).fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM feedback").fetchone() == (0,)


async def test_a_reader_in_another_process_delays_the_wipe_until_it_is_done(
    store: SQLiteStore,
) -> None:
    """The erase never waits for a reader (a report, a backup): it commits, and the
    WAL is wiped by the first checkpoint after the reader is done."""
    ann = await ann_and_bob(store)
    reader = sqlite3.connect(store.path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM events").fetchone()
        await forget(store, store.transaction, ann)
        async with store.transaction() as tx:  # the bot goes on meanwhile
            await tx.feedback.add(None, None, "later", NOW)
        await store.checkpoint()
        assert WORD.encode() in on_disk(store.path)  # the reader still sees them
    finally:
        reader.close()
    await store.checkpoint()
    assert WORD.encode() not in on_disk(store.path)


def test_words_erased_before_a_sigkill_are_not_on_disk_after_it(tmp_path: Path) -> None:
    """A real process: writes, forgets, says so, and is killed (no clean close)."""
    path = tmp_path / "candor.sqlite3"
    script = f"""
import asyncio, sys
from pathlib import Path
from bot.store import SQLiteStore
from tests.store.test_sqlite_erase import ann_and_bob, forget

async def main():
    store = SQLiteStore(Path({str(path)!r}), checkpoint_seconds=0, checkpoint_pages=50)
    await store.open()
    ann = await ann_and_bob(store)
    await forget(store, store.shared, ann)
    print("erased", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "erased\n"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert path.with_name(path.name + "-wal").exists()  # killed, not closed
    assert WORD.encode() not in on_disk(path)


# -- keyed digests --------------------------------------------------------------------


async def test_the_same_key_is_kept_differently_in_two_databases(tmp_path: Path) -> None:
    kept = []
    for name in ("one", "two"):
        store = SQLiteStore(tmp_path / f"{name}.sqlite3", checkpoint_seconds=0)
        await store.open()
        try:
            async with store.transaction() as tx:
                assert await tx.inbound.first_seen("telegram", "12345:678", NOW)
                ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
                await tx.links.add_code(ann.id, "ABCD-EFGH", NOW, NOW + timedelta(minutes=5))
            async with store.transaction() as tx:
                assert not await tx.inbound.first_seen("telegram", "12345:678", NOW)
                assert await tx.links.take_code("ABCD-EFGH", NOW) == ann.id
                await tx.links.add_code(ann.id, "ABCD-EFGH", NOW, NOW + timedelta(minutes=5))
        finally:
            await store.close()
        with sqlite3.connect(tmp_path / f"{name}.sqlite3") as db:
            [(key,)] = db.execute("SELECT key FROM inbound_seen").fetchall()
            [(code,)] = db.execute("SELECT code_digest FROM link_codes").fetchall()
        assert key != digest("12345:678") and code != digest("ABCD-EFGH")  # not guessable
        kept.append((key, code))
    assert kept[0][0] != kept[1][0] and kept[0][1] != kept[1][1]


async def test_an_event_seen_before_the_upgrade_is_still_a_repeat(tmp_path: Path) -> None:
    """Rows kept before migration 011 (unkeyed digests) are keyed by it: a platform
    redelivering an event from before the upgrade finds it seen, and a link code
    made before it still works."""
    path = tmp_path / "v8.sqlite3"
    old = sqlite3.connect(path)
    old.create_function("candor_digest", 1, digest)  # as the store has it for migration 003
    for version, _, sql in migrations():
        if version <= 8:
            for statement in statements(sql):
                old.execute(statement)
    old.execute("PRAGMA user_version = 8")
    old.execute("INSERT INTO customers (id, name, created_at) VALUES (1, 'Ann', 0)")
    for channel in ("telegram", ANN.channel):
        old.execute(
            "INSERT INTO inbound_seen (channel, key, at) VALUES (?, ?, 0)",
            (channel, digest("12345:678")),
        )
    later = (NOW + timedelta(minutes=5)).timestamp()
    old.execute(
        "INSERT INTO link_codes (code_digest, customer_id, created_at, expires_at)"
        " VALUES (?, 1, 0, ?)",
        (digest("ABCD-EFGH"), later),
    )
    old.commit()
    old.close()
    store = SQLiteStore(path, checkpoint_seconds=0)
    await store.open()
    try:
        async with store.transaction() as tx:
            assert not await tx.inbound.first_seen("telegram", "12345:678", NOW)
            assert await tx.customers.arrive("12345:678", ANN, "Ann", HERE, NOW) is None
            assert await tx.inbound.first_seen("telegram", "12345:679", NOW)
            assert await tx.links.take_code("ABCD-EFGH", NOW) == 1
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        keys = {k for (k,) in db.execute("SELECT key FROM inbound_seen")}
    assert digest("12345:678") not in keys and len(keys) == 2  # (one key on two channels)
