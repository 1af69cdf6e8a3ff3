"""What the repositories of one SQLite transaction share.

The connection; the held-back writes (`Writes`: the whole group's, under group
commit); and the memo of what the turn's one read (`tx.customers.arrive`) brought
along with the customer, which `tx.cases.latest`, `tx.timeline.recent`,
`tx.notices.quiet_of` and `tx.incidents.open_ones` serve without another trip
until this transaction writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from bot.model import Case, Event
from bot.store.sqlite.group import Writes


class Session:
    """One transaction's connection, held-back writes and memo."""

    __slots__ = (
        "db",
        "digest",
        "latest",
        "no_incidents",
        "quiet",
        "resolved",
        "timelines",
        "writes",
    )

    def __init__(
        self, db: aiosqlite.Connection, writes: Writes, digest: Callable[[str], str]
    ) -> None:
        self.db = db
        self.writes = writes
        self.digest = digest  # what is kept of a dedupe key or a link code (keyed)
        # customer → their latest case (None: they have none)
        self.latest: dict[int, Case | None] = {}
        # customer → (muted until, muted until they write, quiet hours)
        self.quiet: dict[int, tuple[datetime | None, bool, str]] = {}
        # case → its latest events in order, and whether they are all of them
        self.timelines: dict[int, tuple[list[Event], bool]] = {}
        self.no_incidents = False  # none was open when the turn read
        # customers whose case this transaction resolved in a held-back update
        self.resolved: set[int] = set()

    def forget_memo(self) -> None:
        """After a write that may change any customer's or case's rows."""
        self.latest.clear()
        self.quiet.clear()
        self.timelines.clear()

    # Each call is one trip to aiosqlite's thread (a cursor and its fetch and close
    # would be three): at a few dozen statements a message, trips are the cost.
    # Anything that goes to SQLite at once sends the held-back writes first.
    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        await self.writes.flush(self.db)
        rows = await self.db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        await self.writes.flush(self.db)
        return list(await self.db.execute_fetchall(sql, params))

    async def exec(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        await self.writes.flush(self.db)
        return await self.db.execute(sql, params)

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT now; returns the new row's id."""
        cursor = await self.exec(sql, params)
        row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    async def new_id(self, table: str) -> int:
        """The id for a new row of `table` whose INSERT is held back."""
        return self.writes.take_id(table) or await self.writes.new_id(self.db, table)


class Repository:
    """A repository of one transaction: its SQL, on the transaction's session."""

    __slots__ = ("_s",)

    def __init__(self, session: Session) -> None:
        self._s = session
