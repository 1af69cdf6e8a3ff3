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
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.errors import GroupAborted, NoDatabase, NotACandorDatabase, StoreError
from bot.store.sqlite.group import Group, Writes
from bot.store.sqlite.reads import StoreReads
from bot.store.sqlite.reports import SQLiteReports
from bot.store.sqlite.rows import digest, keyed_digest, rekey
from bot.store.sqlite.schema import migrate
from bot.store.sqlite.transaction import SQLiteTransaction
from bot.store.sqlite.wal import Checkpointer
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class SQLiteStore(StoreReads):
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
        self._lock = asyncio.Lock()
        # Group commit: how long after its BEGIN a group takes new members, and how
        # many. 0: those who came while the group before committed, a size that adapts
        # to the load (at 2,000 msg/s p99 was 37-45 ms with 0, 49-56 ms with 2 ms).
        self._group_window = group_window
        self._group_limit = group_limit
        self._group: Group | None = None  # the group a new turn joins
        self._leaders: set[asyncio.Task[None]] = set()
        self._checkpoint_seconds = checkpoint_seconds
        self._checkpoint_pages = checkpoint_pages
        self._closing = False
        self._checkpointer: asyncio.Task[None] | None = None
        self._checkpoints: Checkpointer | None = None
        self._digest: Callable[[str], str] | None = None

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

    async def checkpoint(self) -> None:
        """One pass of the background checkpointer, now (tests drive it instead of
        waiting for its timer); see `Checkpointer.checkpoint`."""
        if self._checkpoints is not None:
            await self._checkpoints.checkpoint()

    async def _erased(self) -> None:
        if self._checkpoints is not None:
            await self._checkpoints.erased()

    async def close(self) -> None:
        # No new transactions: one started now could commit what a member of a group
        # cancelled below still writes.
        self._closing = True
        if self._leaders:  # let running groups commit, but not for ever
            await asyncio.wait(list(self._leaders), timeout=5)
            await cancel_and_wait(list(self._leaders))
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

    @asynccontextmanager
    async def reporting(self) -> AsyncIterator[SQLiteReports]:
        async with self._lock:
            db = self._usable()
            await db.execute("BEGIN")  # a read transaction: one snapshot for every read
            try:
                yield SQLiteReports(db, self._tables)
            finally:
                if db.in_transaction:
                    await db.execute("ROLLBACK")  # it changed nothing

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteTransaction]:
        self._writable()
        async with self._lock:
            db = self._usable()
            await self._begin(db)
            try:
                writes = Writes()
                yield SQLiteTransaction(db, writes, self._keyed())
                await writes.flush(db)
                await db.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk, an I/O error): then a
                # ROLLBACK would fail and hide the real error
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise
            if writes.erased:
                await self._erased()

    def _keyed(self) -> Callable[[str], str]:
        if self._digest is None:
            raise StoreError("the store is not open")
        return self._digest

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[SQLiteTransaction]:
        """A transaction shared with whoever else is running a turn now (group commit).

        Members run concurrently on the one connection and are committed together when
        the last finishes: one COMMIT for many turns, and while one turn waits for the
        database the others use the event loop. Leaving the block waits for that
        commit. If any member fails, the whole group is rolled back and every other
        member gets `GroupAborted` on leaving (nothing of theirs was stored): run the
        turn again alone, in `transaction()`. Members must not change the same rows
        at the same time; the engine keeps one customer's turns apart.
        """
        self._writable()
        group = self._group
        if group is None or not group.open:
            group = self._group = Group()
            leader = asyncio.create_task(self._lead(group))
            self._leaders.add(leader)
            leader.add_done_callback(self._leaders.discard)
        group.members += 1
        group.joined += 1
        group.idle.clear()
        if group.joined >= self._group_limit:
            self._close(group)
        inside = False
        try:
            await group.begun.wait()
            if group.done.done():  # the BEGIN failed
                group.done.result()
            inside = True
            yield SQLiteTransaction(self.db, group.writes, self._keyed())
        except BaseException:
            group.failed = group.failed or inside
            raise
        finally:
            group.members -= 1
            if group.members == 0:
                group.idle.set()
        await asyncio.shield(group.done)

    def _close(self, group: Group) -> None:
        group.open = False
        if self._group is group:
            self._group = None

    async def _lead(self, group: Group) -> None:
        """Run one group's transaction: BEGIN, let the members in, COMMIT when all are done."""
        error: BaseException | None = GroupAborted("the group did not run")
        try:
            async with self._lock:
                db = self._usable()
                try:
                    await self._begin(db)
                except StoreError as busy:
                    error = busy
                    return
                try:
                    await group.writes.know_ids(db)
                    closing = asyncio.get_running_loop().call_later(
                        self._group_window, self._close, group
                    )
                    group.begun.set()
                    try:
                        while group.members:
                            await group.idle.wait()
                    finally:
                        closing.cancel()
                    self._close(group)
                    if group.failed:
                        raise GroupAborted("a member of the group failed")
                    await group.writes.flush(db)
                    await db.execute("COMMIT")
                    error = None
                except BaseException as failure:
                    error = (
                        failure
                        if isinstance(failure, GroupAborted)
                        else GroupAborted(f"the group's transaction failed: {failure!r}")
                    )
                    if db.in_transaction:
                        await db.execute("ROLLBACK")
                    if not isinstance(failure, Exception):
                        raise
                if error is None and group.writes.erased:  # "erased" once it is, WAL and all
                    await self._erased()
        except Exception as failure:  # the store was closed, the connection broke
            error = GroupAborted(f"the group could not run: {failure!r}")
        finally:
            self._close(group)
            group.finish(error)

    async def _begin(self, db: aiosqlite.Connection) -> None:
        if db.in_transaction:  # left behind by a group cancelled mid-way (see open())
            log.warning("rolling back a transaction left open")
            await db.execute("ROLLBACK")
        try:
            await db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise self._busy(error) from error

    async def _mark_failed(self, rows: list[tuple[int, str]], now: datetime) -> None:
        async with self.transaction() as tx:
            for message_id, reason in rows:
                await tx.outbox.mark_failed(message_id, reason, now)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._lock:
            return list(await self.db.execute_fetchall(sql, params))
