"""Group commit's moving parts: the group of turns sharing one transaction, and the
writes they hold back until just before its COMMIT."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiosqlite


class Group:
    """One transaction shared by the turns that joined it, committed when all are done."""

    def __init__(self, writes: Writes) -> None:
        self.members = 0  # turns inside, or waiting for the BEGIN
        self.joined = 0
        self.open = True  # new turns may still join
        self.failed = False  # a member raised: roll everything back
        self.writes = writes  # the members' held-back writes
        self.db: Any = None  # the connection its leader runs it on, once begun
        self.begun = asyncio.Event()
        self.idle = asyncio.Event()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a member cancelled while waiting must not leave an exception nobody read
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())

    def finish(self, error: BaseException | None) -> None:
        self.open = False
        self.begun.set()
        if not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)


# The tables whose new rows are held back, numbered by `Writes`.
_NUMBERED = ("customers", "cases", "events", "outbox")
# The order held-back statements go in: new customers, new cases, the rest.
NEW_CUSTOMERS, NEW_CASES, OTHER_ROWS = 0, 1, 2


class Writes:
    """Writes that nothing reads before the commit, held back and sent together.

    A transaction (or a whole group of turns) hands its plain writes here: new
    customers, cases, events and outbox rows, case updates, last-seen times. They
    go to SQLite just before anything else does (a read sees every earlier write)
    and before the COMMIT, one `executemany` per statement: for a group, a few
    trips in all instead of several per turn. New customers go first, then new
    cases, since other rows refer to them; then the other statements in the order
    each first came, and the rows of one statement in theirs. So only writes that
    no other held-back write depends on in another way may be held back: a new case
    is only ever opened for a customer with no open one (which the one-open-case
    index would otherwise refuse, before the held update that closed it). Should a
    statement be refused all the same, the group is rolled back and its turns run
    again alone, where the refusal is that turn's own.

    New rows need their ids at once (turns refer to them), so ids are handed out
    here: the transaction holds SQLite's write lock from BEGIN, so no other
    connection can take the next ids meanwhile.
    """

    def __init__(self) -> None:
        # by rank (new customers, then new cases, which other rows refer to, then the
        # rest): statement → rows, statements in the order each first came
        self._held: tuple[dict[str, list[Sequence[Any]]], ...] = ({}, {}, {})
        self._next: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self.erased = False  # a customer's data was erased (the WAL is wiped after COMMIT)

    def hold(self, sql: str, params: Sequence[Any], *, rank: int = OTHER_ROWS) -> None:
        self._held[rank].setdefault(sql, []).append(params)

    async def flush(self, db: aiosqlite.Connection) -> None:
        """Send what is held; returns once that, and any flush already under way
        (which may carry the caller's own rows), is written."""
        if not any(self._held) and not self._lock.locked():
            return
        async with self._lock:
            await self._flush(db)

    async def _flush(self, db: aiosqlite.Connection) -> None:
        held, self._held = self._held, ({}, {}, {})
        for statements in held:
            for sql, rows in statements.items():
                if len(rows) == 1:
                    await db.execute(sql, rows[0])
                else:
                    await db.executemany(sql, rows)

    def take_id(self, table: str) -> int:
        """The table's next id, or 0 if `new_id` must first find where ids stand."""
        new = self._next.get(table, 0)
        if new:
            self._next[table] = new + 1
        return new

    async def know_ids(self, db: aiosqlite.Connection) -> None:
        """Find where ids stand at once (a group's members would all ask together)."""
        rows = await db.execute_fetchall(
            "SELECT " + ", ".join(f"(SELECT max(id) FROM {table})" for table in _NUMBERED)
        )
        for table, highest in zip(_NUMBERED, next(iter(rows)), strict=True):
            self._next[table] = int(highest or 0) + 1

    async def new_id(self, db: aiosqlite.Connection, table: str) -> int:
        if table not in self._next:
            async with self._lock:
                if table not in self._next:
                    await self._flush(db)
                    rows = await db.execute_fetchall(f"SELECT max(id) FROM {table}")
                    self._next[table] = int(next(iter(rows))[0] or 0) + 1
        new = self._next[table]
        self._next[table] = new + 1
        return new
