"""The SQLite repositories' session on a PostgreSQL transaction: what differs is
how new rows get their ids (each table's sequence: several processes take ids at
once) and that a turn's read first takes its customer's lock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from bot.store.errors import GroupAborted, NotJoined
from bot.store.postgres.sharing import PgOutboxRows
from bot.store.postgres.sql import Connection
from bot.store.sqlite.group import Writes
from bot.store.sqlite.rows import CASE_COLUMNS
from bot.store.sqlite.session import Session
from bot.store.sqlite.transaction import SQLiteTransaction
from bot.store.sqlite.turn import TURN_CONTEXT

# One customer's turns, one at a time across every process (`candor run`, `candor
# desk`, `candor chat`): locks held until the transaction ends (they cannot expire
# mid-turn), taken before what they guard is read, in a statement of their own (a
# statement reads what was committed when it began). The turn's: its identity's,
# then its customer's (migrations/001_initial.sql).
# A turn waits for these locks `lock_wait` at most (`lock_timeout`, set in the same
# statement, before the wait, and kept to the transaction's end: so is any later wait
# of the turn): a process paused or cut off mid-turn holds them until its session
# ends, and a turn waiting for ever would hold its message, and its process's share
# of the pool. Waited too long: `Busy`, nothing stored, the message comes again.
_IDENTITY_LOCK = "SELECT set_config('lock_timeout', $4, true), candor_lock_identity($1, $2, $3)"
# In a group of turns (one transaction for many) a turn must not wait at all: it
# would hold up the whole group, and a timed-out wait rolls back everyone's work. It
# tries, and if another holds its customer it leaves the group (`NotJoined`) to wait
# alone. Two statements: the customer is read once the identity's lock is had.
_IDENTITY_TRY = (
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || chr(31) || $2 || chr(31) || $3, 0))"
)
_CUSTOMER_TRY = (
    "SELECT coalesce(bool_and(pg_try_advisory_xact_lock(customer_id)), true) FROM identities"
    " WHERE channel = $1 AND workspace = $2 AND user_id = $3"
)
# A read of whole cases (a desk command's case, the queue, the reminders' overdue
# ones) first takes the lock of each case's customer, in order (no deadlock between
# two such reads), so that no turn writes a case back over another's change.
_CASE_ROWS = f"SELECT {CASE_COLUMNS} FROM cases"
_CASES_LOCK = (
    "SELECT set_config('lock_timeout', ?, true), pg_advisory_xact_lock(customer_id)"
    " FROM (SELECT customer_id FROM ({}) AS k ORDER BY customer_id OFFSET 0) AS s"
)


class Ids:
    """New rows' ids, from each table's sequence (never max(id): other processes take
    ids too), a block at a time: a trip per block instead of one per row. Ids a
    rolled-back transaction took are not used again (a sequence has gaps); within a
    process they are handed out in order.

    Except the outbox's: its ids are the order in which an address's messages go,
    also when several processes enqueue to one address, so each is taken from the
    sequence in its turn's transaction, after the customer's lock: a message enqueued
    after another has the higher id, whichever process enqueued each. Blocks would
    number them by process (one process's block 64 ids below another's). A turn's
    first comes with the turn's read (`PgSession.one`), the others one at a time."""

    BLOCK = 64
    ONE_AT_A_TIME = frozenset({"outbox"})

    def __init__(self) -> None:
        self._free: dict[str, list[int]] = {}

    async def take(self, db: Connection, table: str) -> int:
        if table in self.ONE_AT_A_TIME:
            return int(await db.fetchval(f"SELECT nextval('{table}_id_seq')"))
        free = self._free.setdefault(table, [])
        if not free:
            rows = await db.execute_fetchall(
                f"SELECT nextval('{table}_id_seq') FROM generate_series(1, {self.BLOCK})"
            )
            free.extend(int(row[0]) for row in rows)
            # (transactions run side by side: two may have asked for a block at once)
            free.sort(reverse=True)
        return free.pop()


class PgWrites(Writes):
    """Held-back writes, with the store's `Ids`."""

    def __init__(self, ids: Ids) -> None:
        super().__init__()
        self.ids = ids

    async def know_ids(self, db: Any) -> None:
        return None


class PgSession(Session):
    """A `Session` whose connection is a `postgres.sql.Connection`."""

    __slots__ = ("grouped", "lock_wait", "outbox_id", "used")

    def __init__(self, db: Any, writes: Writes, digest: Callable[[str], str]) -> None:
        super().__init__(db, writes, digest)
        # An outbox id the turn's read took from the sequence after the customer's
        # lock, for the turn's first message (0: none). Unused, it is a gap.
        self.outbox_id = 0
        self.grouped = False  # one of a group's turns: never wait for a lock
        self.lock_wait = "0"  # the `lock_timeout` of its waits (PgTransaction sets it)
        self.used = False  # it has read or written (a grouped turn may leave before)

    @property
    def pg(self) -> Connection:
        db = self.db
        assert isinstance(db, Connection)
        return db

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        await self._lock_for(sql, params)
        row = await super().one(sql, params)
        if sql is TURN_CONTEXT:  # its last column is PostgreSQL's own (`sql.py`)
            self.outbox_id = int(row[-1])
            return row[:-1]
        return row

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        await self._lock_for(sql, params)
        return await super().all(sql, params)

    async def _lock_for(self, sql: str, params: Sequence[Any]) -> None:
        first, self.used = not self.used, True
        if sql is TURN_CONTEXT:  # channel, key, then the identity: channel, workspace, user
            await self.writes.flush(self.db)
            identity = params[2:5]
            if not self.grouped:
                await self.pg.execute(_IDENTITY_LOCK, [*identity, self.lock_wait])
            elif not (
                await self.pg.fetchval(_IDENTITY_TRY, identity)
                and await self.pg.fetchval(_CUSTOMER_TRY, identity)
            ):
                if first:  # nothing of this turn is in the group: it goes on without it
                    raise NotJoined("the customer's lock is held elsewhere")
                raise GroupAborted("a turn's customer's lock is held elsewhere")
        elif sql.startswith(_CASE_ROWS):
            await self.writes.flush(self.db)
            await self.pg.execute(_CASES_LOCK.format(sql), [self.lock_wait, *params])

    async def exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.used = True
        return await super().exec(sql, params)

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        self.used = True
        await self.writes.flush(self.db)
        return int(await self.pg.fetchval(sql + " RETURNING id", params))

    async def new_id(self, table: str) -> int:
        if table == "outbox" and self.outbox_id:
            taken, self.outbox_id = self.outbox_id, 0
            return taken
        writes = self.writes
        assert isinstance(writes, PgWrites)
        return await writes.ids.take(self.pg, table)


class PgTransaction(SQLiteTransaction):
    """The `Transaction` protocol on a PostgreSQL transaction."""

    __slots__ = ()
    session_type: ClassVar[type[Session]] = PgSession

    def __init__(
        self,
        db: Any,
        writes: Writes,
        digest: Callable[[str], str],
        *,
        grouped: bool = False,
        lock_wait: float = 3.0,
    ) -> None:
        super().__init__(db, writes, digest)
        session = self._s
        assert isinstance(session, PgSession)
        session.grouped = grouped
        session.lock_wait = f"{max(1, round(lock_wait * 1000))}ms"
        self.outbox = PgOutboxRows(session)
