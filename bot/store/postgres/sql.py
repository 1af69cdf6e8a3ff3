"""The repositories' SQL (bot/store/sqlite/, written for SQLite) as PostgreSQL reads
it, and a connection that runs it the way those repositories call aiosqlite's.

Most statements differ only in their placeholders (`?` → `$1`, `$2` …). The few that
use what PostgreSQL says otherwise are rewritten here, each named: `INSERT OR IGNORE`
becomes `ON CONFLICT DO NOTHING`, SQLite's JSON functions become PostgreSQL's, and a
handful of whole statements have a PostgreSQL text of their own. A statement that
changes on the SQLite side and no longer matches fails the contract suite on
PostgreSQL (tests/store/), naming it.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from bot.store.errors import Unreachable
from bot.store.outage import Outage
from bot.store.sqlite.rows import CASE_COLUMNS, CUSTOMER_COLUMNS
from bot.store.sqlite.turn import KEPT_EVENTS, LATEST_CASE, TURN_CONTEXT

# The turn's one read (bot/store/sqlite/turn.py), with PostgreSQL's JSON: times go
# as JSON numbers, which PostgreSQL writes exactly (shortest round-trip form). One
# column more at the end: the id of the turn's first outbox message, taken here
# (after the customer's lock, `PgSession`) instead of in a trip of its own.
_PG_TURN_CONTEXT = (
    "SELECT EXISTS (SELECT 1 FROM inbound_seen WHERE channel = $1 AND key = $2),"
    " (SELECT count(*) FROM incidents WHERE state = 'open'),"
    f" {CUSTOMER_COLUMNS}, c.muted_until, c.muted_until_write, c.quiet_hours,"
    " (SELECT coalesce(json_agg(json_build_array(e.id, e.at, e.kind, e.actor, e.text,"
    " e.data::json))::text, '[]') FROM (SELECT * FROM events WHERE case_id = k.id"
    f" ORDER BY at DESC, id DESC LIMIT {KEPT_EVENTS}) AS e),"
    f" {', '.join('k.' + column.strip() for column in CASE_COLUMNS.split(','))},"
    " nextval('outbox_id_seq')"
    " FROM (SELECT 1) AS one LEFT JOIN identities i ON i.channel = $3 AND i.workspace = $4"
    " AND i.user_id = $5 LEFT JOIN customers c ON c.id = i.customer_id"
    f" LEFT JOIN cases k ON k.id = ({LATEST_CASE.format(customer='c.id')})"
)

# Whole statements with a PostgreSQL text of their own (placeholders already $n).
_STATEMENTS = {
    TURN_CONTEXT: _PG_TURN_CONTEXT,
    # SQLite's UPDATE OR IGNORE: a vote the kept customer also gave stays theirs
    "UPDATE OR IGNORE idea_votes SET customer_id = ? WHERE customer_id = ?": (
        "UPDATE idea_votes SET customer_id = $1 WHERE customer_id = $2 AND idea_id NOT IN"
        " (SELECT idea_id FROM idea_votes WHERE customer_id = $1)"
    ),
}

# Pieces of statements, each as SQLite writes it and as PostgreSQL does.
_PIECES = (
    # StoreReads.pending: a damaged address reads as no chat (not as a failed query)
    (
        "json_valid(address) AND json_extract(address, '$[1]') = ?",
        "candor_json_item(address, 1) = ?",
    ),
    # StoreReads.pending: the ids the outbox has in hand (a JSON array)
    (
        "id NOT IN (SELECT value FROM json_each(?))",
        "id NOT IN (SELECT value::bigint FROM json_array_elements_text(?::json))",
    ),
    # SQLiteTimeline.forget: the rating's comment goes, its score stays
    ("json_remove(data, '$.comment')", "(data::jsonb - 'comment')::text"),
    # SQLiteDeskThreads.map_thread: SQLite's two-argument max; PostgreSQL names the row
    (
        "max(desk_threads.is_card, excluded.is_card)",
        "greatest(desk_threads.is_card, excluded.is_card)",
    ),
    # SQLiteReports.top_ideas: PostgreSQL's HAVING does not know the column's alias
    ("HAVING votes > 0", "HAVING count(DISTINCT v.customer_id) > 0"),
)

_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """`sql` as written for SQLite, as PostgreSQL reads it."""
    if sql in _STATEMENTS:
        return _STATEMENTS[sql]
    for sqlite, postgres in _PIECES:
        sql = sql.replace(sqlite, postgres)
    if _IGNORE.match(sql):
        sql = _IGNORE.sub("INSERT INTO", sql, count=1) + " ON CONFLICT DO NOTHING"
    return _placeholders(sql)


def _placeholders(sql: str) -> str:
    """`?` → `$1`, `$2` …, outside quoted text."""
    out, number, quote = [], 0, ""
    for char in sql:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


# What a lost or refused connection raises: the database cannot be used now.
UNREACHABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # the server is shutting down
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    # a connection the server ended (a failover, pg_terminate_backend) whose end the
    # driver has not read yet: "another operation is in progress" (statements on a
    # `Connection` go one at a time, so it means nothing else)
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


class Cursor:
    """What the repositories read of a statement's result: how many rows it changed."""

    __slots__ = ("rowcount",)
    lastrowid = None  # PostgreSQL has none: `PgSession.insert` asks for RETURNING id

    def __init__(self, status: str) -> None:
        last = status.rsplit(" ", 1)[-1]
        self.rowcount = int(last) if last.isdigit() else -1


class Connection:
    """One asyncpg connection, called as the repositories call aiosqlite's: one
    statement at a time (asyncpg takes one at a time; a group's members share it),
    SQLite's SQL translated, rows as tuples, a lost connection as `StoreError`."""

    def __init__(self, conn: asyncpg.Connection, where: str, outage: Outage | None = None) -> None:
        self.raw = conn
        self._where = where  # the database, as errors name it (no password)
        self._outage = outage or Outage(where)
        self._lock = asyncio.Lock()

    @property
    def in_transaction(self) -> bool:
        try:
            return bool(self.raw.is_in_transaction()) and not self.raw.is_closed()
        except asyncpg.InterfaceError:  # lost, and taken back by its pool
            return False

    @property
    def lost(self) -> bool:
        try:
            return bool(self.raw.is_closed())
        except asyncpg.InterfaceError:
            return True

    def _lost(self, error: BaseException) -> Unreachable:
        self._outage.failed(error)
        return Unreachable(f"the database {self._where} cannot be used now: {error}")

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        try:
            async with self._lock:
                cursor = Cursor(await self.raw.execute(translate(sql), *parameters))
        except UNREACHABLE as error:
            raise self._lost(error) from error
        self._outage.worked()
        return cursor

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        try:
            async with self._lock:
                await self.raw.executemany(translate(sql), parameters)
        except UNREACHABLE as error:
            raise self._lost(error) from error
        self._outage.worked()

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            async with self._lock:
                rows = [tuple(row) for row in await self.raw.fetch(translate(sql), *parameters)]
        except UNREACHABLE as error:
            raise self._lost(error) from error
        self._outage.worked()
        return rows

    async def fetchval(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        try:
            async with self._lock:
                value = await self.raw.fetchval(translate(sql), *parameters)
        except UNREACHABLE as error:
            raise self._lost(error) from error
        self._outage.worked()
        return value
