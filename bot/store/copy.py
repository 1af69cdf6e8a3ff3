"""`candor db copy --from SQLITE_PATH --to URL`: everything of a SQLite database into
a new, empty PostgreSQL one, in one PostgreSQL transaction, ids kept.

What is carried is read from the two schemas, never from a list kept by hand: every
table of the SQLite file (sqlite_master) must be a table of the PostgreSQL schema
with the same columns, and the other way round; a migration that adds a table or a
column on one side only stops the copy (and the tests) before anything is written.
Rows go in the order the foreign keys need (read from PostgreSQL's catalog), with
their ids, by COPY; each table's sequence is then set past its largest id, so that
new rows get new ids; the rows are counted on both sides before the commit.

The database's secret (`meta.hmac_key`) comes along: the dedupe log and the link
codes hold digests keyed with it, and with another key a redelivered event would
not be known as a repeat.

Refused, before anything is written:
- a source a `candor run` holds (its lock, sqlite/sender.py): what arrived during the
  copy would be missing from the copy. The lock is held for the copy, so that none
  starts meanwhile;
- a source that is not a Candor database, or whose schema is older or newer than
  this Candor's. An older one is not migrated here: the operator runs `candor db
  migrate` on it (as a start would), so that the file and its copy are one schema
  and the file, kept as it was, stays the way back;
- a target that holds any Candor row (but the secret its migration made, which the
  source's replaces), another version's schema, tables that are not Candor's, or a
  running `candor run`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bot.store.errors import StoreError
from bot.store.postgres.schema import LOCKS, SENDER, migrate, version
from bot.store.postgres.schema import migrations as pg_migrations
from bot.store.postgres.sql import UNREACHABLE
from bot.store.postgres.store import redacted, unquoted
from bot.store.sqlite.schema import migrations as sqlite_migrations
from bot.store.sqlite.sender import SenderRunning, sole_sender

# PostgreSQL's bookkeeping of its migrations: made by `migrate`, not copied.
SCHEMA_TABLE = "candor_schema"
# PostgreSQL's state of its live processes (the shared outbox's leases and heartbeats,
# bot/store/postgres/sharing.py): about processes, not customers; SQLite has none, and
# a new database starts with none.
PROCESS_TABLES = frozenset({"outbox_owners", "outbox_processes"})
# Rows the migrations themselves write (the database's secret): on the new database
# they are replaced by the source's, and they do not make it "not empty".
MADE_BY_MIGRATIONS = {"meta": {"hmac_key"}}
BATCH = 5000
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID\s*;?\s*$", re.IGNORECASE)


class CopyRefused(StoreError):
    """The copy was not made (nothing was written): the reason, and what to do."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # PostgreSQL's data_type
    identity: bool
    source: str  # what to read on SQLite ("rowid" for SQLite's implicit one)


@dataclass
class Table:
    name: str
    columns: list[Column]
    order: list[str]  # SQLite's ORDER BY: the rowid, or the primary key
    refers_to: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Copied:
    """What `copy` did: the counts per table, equal on both sides."""

    source: Path
    target: str  # the URL without its password
    version: int
    counts: dict[str, int]

    def report(self) -> str:
        width = max(map(len, self.counts), default=0)
        return "\n".join(
            [
                f"copied {sum(self.counts.values())} rows in {len(self.counts)} tables from the"
                f" SQLite database {self.source} (schema version {self.version})",
                f"into the PostgreSQL database {self.target}, in one transaction, ids kept.",
                "Rows per table, counted on both sides (equal in every one):",
                *(f"  {name:<{width}}  {self.counts[name]:>9}" for name in sorted(self.counts)),
                "Next: set storage.url in the config to this database, run `candor doctor`,"
                ' then start Candor (README: "From SQLite to PostgreSQL").',
            ]
        )


async def copy(source: Path, url: str) -> Copied:
    """Copy the SQLite database at `source` into the empty PostgreSQL database at
    `url`; `CopyRefused` (or `StoreError`) saying why if it cannot be done."""
    where = redacted(url)
    with _source(source) as (db, have):
        return await _copy_into(db, source, have, url, where)


@contextmanager
def _source(path: Path) -> Iterator[tuple[sqlite3.Connection, int]]:
    """The source, read in one snapshot, and its schema version, with the sender's
    lock held (no `candor run` starts on it meanwhile)."""
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise CopyRefused(f"no SQLite database at {path} (--from): {what}")
    try:
        with sole_sender(path), closing(_open_source(path)) as db:
            yield db, _source_version(db, path)
    except SenderRunning:
        raise CopyRefused(
            f"a `candor run` is running on {path}: stop it first. A copy of a database"
            " in use would miss what arrives while it is made (and be lost when you"
            " switch to PostgreSQL)."
        ) from None


def _open_source(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        db.execute("BEGIN")  # one snapshot for every table, and counts of the same
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise CopyRefused(
            f"{path} (--from) is not a SQLite database Candor can read: {error}"
        ) from error
    return db


def _source_version(db: sqlite3.Connection, path: Path) -> int:
    latest = sqlite_migrations()[-1][0]
    have = int(db.execute("PRAGMA user_version").fetchone()[0])
    tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if have == 0 or "cases" not in tables:
        raise CopyRefused(f"{path} (--from) is not a Candor database (no Candor schema in it)")
    if have > latest:
        raise CopyRefused(
            f"{path} (--from) has schema version {have}, newer than this Candor knows"
            f" ({latest}): copy it with the Candor that made it, or upgrade this one"
        )
    if have < latest:
        raise CopyRefused(
            f"{path} (--from) has schema version {have}, older than this Candor's ({latest})."
            " Bring it up to date first: back the file up, then run `candor db migrate"
            " --config PATH` with a config whose storage.path is this file and whose"
            " storage.url is empty (starting Candor on it does the same), and copy again."
        )
    return have


async def _copy_into(
    db: sqlite3.Connection, source: Path, have: int, url: str, where: str
) -> Copied:
    try:
        conn = await asyncpg.connect(
            url, timeout=10, server_settings={"application_name": "candor db copy"}
        )
    except (*UNREACHABLE, asyncpg.PostgresError, ValueError) as error:
        raise StoreError(
            f"cannot open the database at --to {where}: {unquoted(url, error)}"
        ) from error
    try:
        await _prepare_target(conn, where)
        async with conn.transaction():
            await _hold_target(conn, where)
            tables = await _tables(db, conn)
            counts = await _carry(db, conn, tables)
        # the planner's statistics of the filled tables (autovacuum would come later)
        await conn.execute("ANALYZE")
        return Copied(source, where, have, counts)
    except (*UNREACHABLE, asyncpg.PostgresError) as error:
        raise StoreError(
            f"the copy into {where} failed, and nothing of it was kept (the transaction"
            f" was rolled back): {unquoted(url, error)}"
        ) from error
    finally:
        await conn.close()


async def _pg_tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {str(row[0]) for row in rows}


async def _prepare_target(conn: asyncpg.Connection, where: str) -> None:
    """A target with no tables gets Candor's schema; one with this Candor's schema
    is used as it is (`_hold_target` checks it holds nothing); anything else is
    refused."""
    latest = pg_migrations()[-1][0]
    found = await version(conn)
    if found == 0:
        others = sorted(await _pg_tables(conn))
        if others:
            raise CopyRefused(
                f"the database {where} (--to) is not empty: it has tables that are not"
                f" Candor's ({', '.join(others[:8])}{', …' if len(others) > 8 else ''})."
                " Give `candor db copy` a new, empty database (CREATE DATABASE …)."
            )
        await migrate(conn, where)
    elif found != latest:
        raise CopyRefused(
            f"the database {where} (--to) has Candor's schema version {found}, not this"
            f" Candor's ({latest}): it is not a new database. Give `candor db copy` a new,"
            " empty one."
        )


async def _hold_target(conn: asyncpg.Connection, where: str) -> None:
    """Within the copy's transaction: no `candor run` on the target, none starting
    (the sender's lock, till the commit), no other writer (every table locked), and
    no Candor row in it."""
    others = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'candor' AND pid <> pg_backend_pid()"
    )
    # any Candor on it (its store names its connections): a `candor run` there would
    # go on keying digests with the secret the copy replaces
    if others or not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", LOCKS, SENDER):
        raise CopyRefused(
            f"Candor is running on the database {where} (--to): a `candor run` (or"
            " `candor desk`, `candor chat`) is connected to it, so it is in use, not a new"
            " database. Stop it, and give `candor db copy` a new, empty one."
        )
    tables = sorted((await _pg_tables(conn)) - {SCHEMA_TABLE})
    await conn.execute("SET LOCAL lock_timeout = '10s'")
    try:
        await conn.execute(f"LOCK TABLE {', '.join(map(_quote, tables))} IN EXCLUSIVE MODE")
    except asyncpg.exceptions.LockNotAvailableError:
        raise CopyRefused(f"the database {where} (--to) is in use by another program") from None
    for table in tables:
        kept = MADE_BY_MIGRATIONS.get(table)
        if kept is not None:
            names = await conn.fetch(f"SELECT name FROM {_quote(table)}")
            rows = len({str(row[0]) for row in names} - kept)
        else:
            rows = int(await conn.fetchval(f"SELECT count(*) FROM {_quote(table)}"))
        if rows:
            raise CopyRefused(
                f"the database {where} (--to) is not empty: its table {table} has rows."
                " `candor db copy` only fills a new, empty database, so that nothing in"
                " it is mixed with or lost to the copy."
            )


async def _tables(db: sqlite3.Connection, conn: asyncpg.Connection) -> list[Table]:
    """The tables to carry, with their columns, in the order their foreign keys need;
    `StoreError` if the two schemas differ (then this Candor cannot carry one)."""
    sqlite_tables = {
        str(name): str(sql or "")
        for name, sql in db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    pg_tables = (await _pg_tables(conn)) - {SCHEMA_TABLE} - PROCESS_TABLES
    if set(sqlite_tables) != pg_tables:
        raise StoreError(
            "this Candor cannot copy these databases: their schemas differ (tables only in"
            f" SQLite: {', '.join(sorted(set(sqlite_tables) - pg_tables)) or 'none'}; only in"
            f" PostgreSQL: {', '.join(sorted(pg_tables - set(sqlite_tables))) or 'none'})."
            " A migration was added to one backend only: report it as a bug."
        )
    tables = [
        await _table(db, conn, name, _WITHOUT_ROWID.search(sql) is None)
        for name, sql in sorted(sqlite_tables.items())
    ]
    for child, parent in await conn.fetch(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
    ):
        for table in tables:
            if table.name == str(child).strip('"') and str(child) != str(parent):
                table.refers_to.add(str(parent).strip('"'))
    return _in_key_order(tables)


async def _table(db: sqlite3.Connection, conn: asyncpg.Connection, name: str, rowid: bool) -> Table:
    info = db.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
    on_sqlite = {str(row[1]) for row in info}
    key = [str(row[1]) for row in sorted(info, key=lambda r: int(r[5])) if int(row[5]) > 0]
    columns = []
    for column, kind, identity in await conn.fetch(
        "SELECT column_name, data_type, is_identity FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        name,
    ):
        implicit = column == "rowid" and rowid and column not in on_sqlite
        if column not in on_sqlite and not implicit:
            raise StoreError(
                f"this Candor cannot copy the table {name}: its column {column} is not in"
                " the SQLite database (a migration added to one backend only: a bug)"
            )
        if kind not in _CONVERT:
            raise StoreError(
                f"this Candor cannot copy the table {name}: its column {column} is of the"
                f" type {kind}, which `candor db copy` does not know how to carry"
            )
        columns.append(Column(str(column), str(kind), identity == "YES", str(column)))
        on_sqlite.discard(str(column))
    if on_sqlite:
        raise StoreError(
            f"this Candor cannot copy the table {name}: its columns {', '.join(sorted(on_sqlite))}"
            " are not in the PostgreSQL schema (a migration added to one backend only: a bug)"
        )
    return Table(name, columns, ["rowid"] if rowid else key or [c.name for c in columns])


def _in_key_order(tables: list[Table]) -> list[Table]:
    """Parents before the tables that refer to them (names break ties)."""
    done: list[Table] = []
    left = {table.name: table for table in tables}
    while left:
        ready = [t for t in left.values() if not (t.refers_to & left.keys())]
        if not ready:  # a cycle: PostgreSQL will say which key it breaks
            ready = list(left.values())
        for table in sorted(ready, key=lambda t: t.name):
            done.append(left.pop(table.name))
    return done


async def _carry(
    db: sqlite3.Connection, conn: asyncpg.Connection, tables: list[Table]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        name = _quote(table.name)
        expected = int(db.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
        if table.name in MADE_BY_MIGRATIONS:  # the source's rows replace the migration's
            await conn.execute(f"DELETE FROM {name}")
        await conn.copy_records_to_table(
            table.name, records=_rows(db, table), columns=[c.name for c in table.columns]
        )
        arrived = int(await conn.fetchval(f"SELECT count(*) FROM {name}"))
        if arrived != expected:  # never expected: the transaction is rolled back
            raise StoreError(
                f"the copy of the table {table.name} has {arrived} rows, the SQLite"
                f" database {expected}: nothing was kept"
            )
        for column in table.columns:
            if column.identity:  # the next new row gets an id past every copied one
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence($1, $2),"
                    f" coalesce(max({_quote(column.name)}), 0) + 1, false) FROM {name}",
                    table.name,
                    column.name,
                )
        counts[table.name] = arrived
    return counts


async def _rows(db: sqlite3.Connection, table: Table) -> AsyncIterator[tuple[Any, ...]]:
    """The table's rows, in SQLite's order, each value of the type PostgreSQL's
    column wants; a value that is not is refused by its table, row and column (the
    value itself is not shown: it may be a customer's)."""
    select = ", ".join(_quote(c.source) for c in table.columns)
    order = ", ".join(map(_quote, table.order))
    converts = [_CONVERT[c.kind] for c in table.columns]
    cursor = db.execute(f"SELECT {select} FROM {_quote(table.name)} ORDER BY {order}")
    number = 0
    for batch in _batches(cursor):
        for row in batch:
            number += 1
            try:
                yield tuple(
                    None if value is None else convert(value)
                    for convert, value in zip(converts, row, strict=True)
                )
            except (TypeError, ValueError) as error:
                raise StoreError(
                    f"cannot copy row {number} of the table {table.name}: {error}; nothing was kept"
                ) from None


def _batches(cursor: sqlite3.Cursor) -> Iterator[list[Any]]:
    try:
        while batch := cursor.fetchmany(BATCH):
            yield batch
    except sqlite3.Error as error:
        raise StoreError(f"cannot read the SQLite database: {error}; nothing was kept") from error


def _integer(value: Any) -> int:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    raise ValueError(f"a {type(value).__name__} where a whole number belongs")


def _real(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise ValueError(f"a {type(value).__name__} where a number belongs")


def _text(value: Any) -> str:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a text with a NUL character, which PostgreSQL cannot hold")
        return value
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"a {type(value).__name__} where a text belongs")


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ValueError(f"a {type(value).__name__} where bytes belong")


# PostgreSQL's column types the copy carries, and how a SQLite value becomes one.
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "bigint": _integer,
    "integer": _integer,
    "double precision": _real,
    "text": _text,
    "bytea": _bytes,
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
