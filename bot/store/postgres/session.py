"""The SQLite repositories' session on a PostgreSQL transaction: what differs is
how new rows get their ids (each table's sequence: several processes take ids at
once) and that a turn's read first takes its customer's lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from bot.store.postgres.sql import Connection
from bot.store.sqlite.group import Writes
from bot.store.sqlite.session import Session
from bot.store.sqlite.transaction import SQLiteTransaction
from bot.store.sqlite.turn import TURN_CONTEXT

# One customer's turns, one at a time across every process: a lock held until the
# transaction ends (it cannot expire mid-turn), on the identity the turn is for.
# A new customer has no id yet, and two processes must not both create them.
_IDENTITY_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"


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
        if sql is TURN_CONTEXT:  # channel, key, then the identity: channel, workspace, user
            await self.writes.flush(self.db)
            who = "\x1f".join(str(part) for part in params[2:5])
            await self.pg.execute(_IDENTITY_LOCK, (who,))
        return await super().one(sql, params)

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        await self.writes.flush(self.db)
        return int(await self.pg.fetchval(sql + " RETURNING id", params))

    async def new_id(self, table: str) -> int:
        return int(await self.pg.fetchval(f"SELECT nextval('{table}_id_seq')"))


class PgTransaction(SQLiteTransaction):
    """The `Transaction` protocol on a PostgreSQL transaction."""

    __slots__ = ()
    session_type: ClassVar[type[Session]] = PgSession
