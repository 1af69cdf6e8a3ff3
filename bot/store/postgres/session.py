"""The SQLite repositories' session on a PostgreSQL transaction: what differs is
how new rows get their ids (each table's sequence: several processes take ids at
once) and that a turn's read first takes its customer's lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from bot.store.postgres.sql import Connection
from bot.store.sqlite.group import Writes
from bot.store.sqlite.rows import CASE_COLUMNS
from bot.store.sqlite.session import Session
from bot.store.sqlite.transaction import SQLiteTransaction
from bot.store.sqlite.turn import TURN_CONTEXT

# One customer's turns, one at a time across every process (`candor run`, `candor
# desk`, `candor chat`): locks held until the transaction ends (they cannot expire
# mid-turn), taken before what they guard is read, each in a statement of its own
# (a statement reads what was committed when it began).
# The identity a turn is for: a new customer has no id yet, and two processes must
# not both create them.
_IDENTITY_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
# Then the customer behind it: their desk's turns take it too (`_CASES_LOCK`).
_CUSTOMER_LOCK = (
    "SELECT pg_advisory_xact_lock(customer_id) FROM identities"
    " WHERE channel = $1 AND workspace = $2 AND user_id = $3"
)
# A read of whole cases (a desk command's case, the queue, the reminders' overdue
# ones) first takes the lock of each case's customer, in order (no deadlock between
# two such reads), so that no turn writes a case back over another's change.
_CASE_ROWS = f"SELECT {CASE_COLUMNS} FROM cases"
_CASES_LOCK = (
    "SELECT pg_advisory_xact_lock(customer_id) FROM (SELECT customer_id FROM ({})"
    " AS k ORDER BY customer_id OFFSET 0) AS s"
)


class PgWrites(Writes):
    """Held-back writes; ids come from the sequences, never from max(id)."""

    async def know_ids(self, db: Any) -> None:
        return None


class PgSession(Session):
    """A `Session` whose connection is a `postgres.sql.Connection`."""

    __slots__ = ()

    @property
    def pg(self) -> Connection:
        db = self.db
        assert isinstance(db, Connection)
        return db

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        await self._lock_for(sql, params)
        return await super().one(sql, params)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        await self._lock_for(sql, params)
        return await super().all(sql, params)

    async def _lock_for(self, sql: str, params: Sequence[Any]) -> None:
        if sql is TURN_CONTEXT:  # channel, key, then the identity: channel, workspace, user
            await self.writes.flush(self.db)
            who = "\x1f".join(str(part) for part in params[2:5])
            await self.pg.execute(_IDENTITY_LOCK, (who,))
            await self.pg.execute(_CUSTOMER_LOCK, params[2:5])
        elif sql.startswith(_CASE_ROWS):
            await self.writes.flush(self.db)
            await self.pg.execute(_CASES_LOCK.format(sql), params)

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        await self.writes.flush(self.db)
        return int(await self.pg.fetchval(sql + " RETURNING id", params))

    async def new_id(self, table: str) -> int:
        return int(await self.pg.fetchval(f"SELECT nextval('{table}_id_seq')"))


class PgTransaction(SQLiteTransaction):
    """The `Transaction` protocol on a PostgreSQL transaction."""

    __slots__ = ()
    session_type: ClassVar[type[Session]] = PgSession
