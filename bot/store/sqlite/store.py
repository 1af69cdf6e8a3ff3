"""The embedded store: one SQLite file through one long-lived aiosqlite connection.

WAL, foreign keys on, migrations from `migrations/NNN_*.sql` applied in order and
recorded in `PRAGMA user_version`. Every access takes one lock: a read never sees
another coroutine's uncommitted transaction on the shared connection. The lock is
held by one transaction of one's own (`transaction()`) or by one group of turns
that commit together (`shared()`, group commit): the cost of a message is mostly
trips to aiosqlite's thread, and a group lets one turn's trip overlap another's
Python, with one COMMIT for all.

Nothing erased stays on disk: `secure_delete` overwrites deleted rows and freed
pages, and after a transaction that erased a customer (`/forget`) the WAL, which
still holds the pages as they were, is copied back and truncated.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.errors import NoDatabase, NotACandorDatabase, StoreError
from bot.store.leadership import Campaign, always
from bot.store.sqlite.committing import GroupCommitStore
from bot.store.sqlite.reports import SQLiteReports
from bot.store.sqlite.rows import digest, keyed_digest, rekey
from bot.store.sqlite.schema import migrate
from bot.store.sqlite.sender import SoleOutbox
from bot.store.sqlite.wal import Checkpointer
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class SQLiteStore(SoleOutbox, GroupCommitStore):
    """The `Store` protocol on one SQLite file. With `read_only`, the file is opened
    as it is (`mode=ro`) for reading beside a running bot: never created, migrated
    or written."""

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        busy_timeout_ms: int = 10_000,
        group_window: float = 0.0,
        group_limit: int = 256,
        checkpoint_seconds: float = 1.0,
        checkpoint_pages: int = 4000,
    ) -> None:
        self.path = Path(path)
        self._read_only = read_only
        self._tables: set[str] = set()  # what the open database has
        self._busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._init_groups(group_window, group_limit)
        self._checkpoint_seconds = checkpoint_seconds
        self._checkpoint_pages = checkpoint_pages
        self._checkpointer: asyncio.Task[None] | None = None
        self._checkpoints: Checkpointer | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    def _usable(self) -> aiosqlite.Connection:
        if self._closing:
            raise StoreError("the store is closing")
        return self.db

    async def open(self) -> None:
        self._closing = False
        if self._read_only:
            await self._open_read_only()
            return
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Transactions are explicit (BEGIN IMMEDIATE … COMMIT). The "DEFERRED" level
            # is a safety net: should SQLite roll a transaction back by itself (a full
            # disk) while a group's other members still have writes queued, those writes
            # open a new transaction, which the group rolls back, instead of each
            # committing on its own.
            self._db = await aiosqlite.connect(self.path, isolation_level="DEFERRED")
            await self._db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            await self._db.execute("PRAGMA secure_delete = ON")
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            # A WAL that grew while a reader held it is cut back when it starts over.
            await self._db.execute(f"PRAGMA journal_size_limit = {8192 * self._checkpoint_pages}")
            await self._db.create_function("candor_digest", 1, digest, deterministic=True)
            await self._db.create_function("candor_rekey", 2, rekey, deterministic=True)
            await migrate(self._db, self.path)
            self._tables = await self._table_names()
            self._digest = keyed_digest(await self._secret())
            if str(self.path) != ":memory:":
                # Not inside a COMMIT, with every turn waiting: beside the writer.
                await self._db.execute("PRAGMA wal_autocheckpoint = 0")
                checkpoints = Checkpointer(self.path, self._lock, self._checkpoint_pages)
                self._checkpoints = checkpoints
                checkpoints.wipe = True  # whatever a crash left in the WAL
                await checkpoints.checkpoint()
                if self._checkpoint_seconds > 0:
                    every = self._checkpoint_seconds
                    self._checkpointer = asyncio.create_task(checkpoints.run(every))
        except sqlite3.DatabaseError as error:
            await self.close()
            raise StoreError(f"cannot open the database {self.path}: {error}") from error
        except StoreError:
            await self.close()
            raise

    async def _open_read_only(self) -> None:
        if not self.path.is_file():  # SQLite would only say that it cannot open it
            raise NoDatabase(
                f"No Candor database at {self.path}: check the [storage] path in the config"
            )
        try:
            self._db = await aiosqlite.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
            )
            await self._db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            await self._db.execute("PRAGMA secure_delete = ON")
            self._tables = await self._table_names()
        except sqlite3.DatabaseError as error:
            await self.close()
            raise StoreError(f"cannot open the database {self.path}: {error}") from error
        if not {"cases", "events"} <= self._tables:
            await self.close()
            raise NotACandorDatabase(f"{self.path} is not a Candor database (it has no cases)")

    async def _table_names(self) -> set[str]:
        rows = await self.db.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows}

    async def _secret(self) -> bytes:
        rows = await self.db.execute_fetchall("SELECT value FROM meta WHERE name = 'hmac_key'")
        return bytes(next(iter(rows))[0])

    def leadership(self, name: str) -> AbstractAsyncContextManager[Campaign]:
        """One `candor run` per file (sender.py): this process always leads. (The
        WAL's checkpoints are each store's own: nothing to elect.)"""
        return always(name)

    async def checkpoint(self) -> None:
        """One pass of the background checkpointer, now (tests drive it instead of
        waiting for its timer); see `Checkpointer.checkpoint`."""
        if self._checkpoints is not None:
            await self._checkpoints.checkpoint()

    async def _erased(self) -> None:
        if self._checkpoints is not None:
            await self._checkpoints.erased()

    async def close(self) -> None:
        await self._stop_groups()
        if self._checkpointer is not None:
            await cancel_and_wait([self._checkpointer])
            self._checkpointer = None
        if self._checkpoints is not None:
            checkpoints, self._checkpoints = self._checkpoints, None
            await checkpoints.close()
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    def _busy(self, error: sqlite3.OperationalError) -> StoreError:
        return StoreError(
            f"the database {self.path} is busy: another process has held it for"
            f" over {self._busy_timeout_ms / 1000:g} s ({error}); nothing was stored"
        )

    def _writable(self) -> None:
        if self._read_only:
            raise StoreError(f"the database {self.path} is open read-only")
        self._usable()

    def __str__(self) -> str:
        return str(self.path)

    @asynccontextmanager
    async def reporting(self) -> AsyncIterator[SQLiteReports]:
        async with self._lock:
            db = self._usable()
            await db.execute("BEGIN")  # a read transaction: one snapshot for every read
            try:
                yield SQLiteReports(db, self._tables, self._keyed_later)
            finally:
                if db.in_transaction:
                    await db.execute("ROLLBACK")  # it changed nothing

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosqlite.Connection]:
        yield self._usable()

    async def _begin(self, db: aiosqlite.Connection) -> None:
        if db.in_transaction:  # left behind by a group cancelled mid-way (see open())
            log.warning("rolling back a transaction left open")
            await db.execute("ROLLBACK")
        try:
            await db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise self._busy(error) from error

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._lock:
            return list(await self.db.execute_fetchall(sql, params))
