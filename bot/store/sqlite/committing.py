"""Transactions and group commit, for any SQL backend whose repositories are this
package's (`SQLiteStore`, `PostgresStore`).

On SQLite every write takes the store's lock: it is held by one transaction of
one's own (`transaction()`) or by one group of turns that commit together
(`shared()`, group commit); on PostgreSQL only groups take it (one at a time), and
transactions of one's own run beside them and each other (`_serial_transactions`).
The cost of a message is mostly trips to the database, and a group lets one turn's
trip overlap another's Python, with one COMMIT for all. A backend says how to reach
its connection (`_connection`), begin (`_begin`), and what to do after an erase
(`_erased`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from bot.store.errors import GroupAborted, NotJoined, StoreError
from bot.store.sqlite.group import Group, Writes
from bot.store.sqlite.reads import StoreReads
from bot.store.sqlite.transaction import SQLiteTransaction
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class GroupCommitStore(StoreReads):
    """`transaction()` and `shared()` of the `Store` protocol; see the module."""

    # Set by a backend's __init__ (and `_digest` by its open()).
    _read_only: bool
    _group_window: float
    _group_limit: int
    # Whether `transaction()` takes the store's lock too (SQLite: one writer per file,
    # so one transaction at a time). PostgreSQL's transactions each have a connection
    # of the pool and the server's locks: only groups take turns there.
    _serial_transactions = True

    def _init_groups(self, group_window: float, group_limit: int) -> None:
        self._lock = asyncio.Lock()
        # Group commit: how long after its BEGIN a group takes new members, and how
        # many. 0: those who came while the group before committed, a size that adapts
        # to the load (at 2,000 msg/s p99 was 37-45 ms with 0, 49-56 ms with 2 ms).
        self._group_window = group_window
        self._group_limit = group_limit
        self._group: Group | None = None  # the group a new turn joins
        self._leaders: set[asyncio.Task[None]] = set()
        self._closing = False
        self._digest: Callable[[str], str] | None = None

    # -- what a backend provides ----------------------------------------------------------

    def _connection(self) -> AbstractAsyncContextManager[Any]:
        """The connection a transaction runs on, the store's lock held; `StoreError`
        if the store is closing or not open."""
        raise NotImplementedError

    async def _begin(self, db: Any) -> None:
        raise NotImplementedError

    async def _erased(self) -> None:
        """After the COMMIT of a transaction that erased a customer, the lock held."""

    def _writes(self) -> Writes:
        return Writes()

    def _transaction(self, db: Any, writes: Writes, *, grouped: bool) -> SQLiteTransaction:
        """A member's transaction (`grouped`: in a group of turns, `shared()`)."""
        return SQLiteTransaction(db, writes, self._keyed())

    # -- the protocol -----------------------------------------------------------------------

    def _writable(self) -> None:
        if self._read_only:
            raise StoreError(f"the database {self} is open read-only")
        if self._closing:
            raise StoreError("the store is closing")

    async def _stop_groups(self) -> None:
        """No new transactions (one started now could commit what a member of a group
        cancelled below still writes); let running groups commit, but not for ever."""
        self._closing = True
        if self._leaders:
            await asyncio.wait(list(self._leaders), timeout=5)
            await cancel_and_wait(list(self._leaders))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteTransaction]:
        self._writable()
        serial = self._lock if self._serial_transactions else contextlib.nullcontext()
        async with serial, self._connection() as db:
            await self._begin(db)
            try:
                writes = self._writes()
                yield self._transaction(db, writes, grouped=False)
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

    def _keyed_later(self, value: str) -> str:
        """The keyed digest of `value`, looked up when asked (a read-only store has
        none, and its reports never ask)."""
        return self._keyed()(value)

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[SQLiteTransaction]:
        """A transaction shared with whoever else is running a turn now (group commit).

        Members run concurrently on the one connection and are committed together when
        the last finishes: one COMMIT for many turns, and while one turn waits for the
        database the others use the event loop. Leaving the block waits for that
        commit. If any member fails, the whole group is rolled back and every other
        member gets `GroupAborted` on leaving (nothing of theirs was stored): run the
        turn again alone, in `transaction()`. A member that raises `NotJoined` (it did
        nothing yet: its customer's lock is another's) leaves the group unharmed.
        Members must not change the same rows
        at the same time; the engine keeps one customer's turns apart.
        """
        self._writable()
        group = self._group
        if group is None or not group.open:
            group = self._group = Group(self._writes())
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
            yield self._transaction(group.db, group.writes, grouped=True)
        except NotJoined:
            raise
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
            async with self._lock, self._connection() as db:
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
                    group.db = db
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

    async def _mark_failed(self, rows: list[tuple[int, str]], now: datetime) -> None:
        async with self.transaction() as tx:
            for message_id, reason in rows:
                await tx.outbox.mark_failed(message_id, reason, now)
