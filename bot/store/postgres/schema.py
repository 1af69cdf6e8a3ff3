"""Schema migrations on PostgreSQL: `migrations/NNN_*.sql` (the numbers of SQLite's,
bot/store/sqlite/migrations/), applied in order, each in a transaction of its own
and recorded in `candor_schema`. Several processes starting at once take turns:
the migrations run under a session advisory lock, and whoever comes second finds
them applied. A database from a newer Candor is refused rather than damaged, and
so is a migration while a `candor run` runs on the database (it holds the running
lock, `PostgresStore.running`): its SQL is written for the schema before."""

from __future__ import annotations

import logging

import asyncpg

from bot.store.errors import StoreError
from bot.store.sqlite import schema as sqlite_schema

log = logging.getLogger(__name__)

# The two-number advisory locks Candor takes (the one-number ones are customers').
LOCKS = 0x43414E44  # "CAND"
MIGRATIONS, SENDER = 1, 2
# Leader election (postgres/leader.py): (LEADERS, a number made of the name).
LEADERS = 0x4C454144  # "LEAD"

_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS candor_schema ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every PostgreSQL migration, in order."""
    return sqlite_schema.migrations("bot.store.postgres")


async def version(conn: asyncpg.Connection) -> int:
    """The database's schema version (0: none, or not a Candor database yet)."""
    if await conn.fetchval("SELECT to_regclass('candor_schema')") is None:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM candor_schema"))


async def migrate(conn: asyncpg.Connection, where: str) -> list[str]:
    """Bring the database up to the latest schema; returns the migrations applied
    (none if it was up to date)."""
    found = migrations()
    latest = found[-1][0] if found else 0
    applied = []
    await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCKS, MIGRATIONS)
    try:
        await conn.execute(_VERSIONS)
        current = await version(conn)
        if current > latest:
            raise StoreError(
                f"the database {where} has schema version {current}, newer than this"
                f" Candor knows ({latest}); upgrade Candor"
            )
        if any(number > current for number, _, _ in found):
            await _none_running(conn, where)
        for number, name, sql in found:
            if number <= current:
                continue
            log.info("applying migration %s", name)
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO candor_schema (version, name) VALUES ($1, $2)", number, name
                )
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCKS, MIGRATIONS)
    return applied


# Who holds the running lock (`PostgresStore.running`), and from where.
_RUNNING = (
    "SELECT coalesce(host(a.client_addr), 'this machine (a local socket)'),"
    " coalesce(nullif(a.application_name, ''), '?'), count(*)"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2"
    " AND l.objsubid = 2 AND l.pid <> pg_backend_pid()"
    " GROUP BY 1, 2 ORDER BY 1, 2"
)


async def _none_running(conn: asyncpg.Connection, where: str) -> None:
    """Refuse to migrate while a `candor run` runs on the database: it would go on
    with SQL written for the schema before (a rolling deploy). Processes starting
    together on an old schema hold no running lock yet (they migrate in `open()`,
    before `running()`): one migrates, the others find it done."""
    rows = await conn.fetch(_RUNNING, LOCKS, SENDER)
    if not rows:
        return
    count = sum(int(row[2]) for row in rows)
    whence = ", ".join(f"{row[2]} from {row[0]} ({row[1]})" for row in rows)
    raise StoreError(
        f"the database {where} needs migrations, but {count} `candor run`"
        f" {'is' if count == 1 else 'are'} running on it ({whence}), with the schema"
        " before: stop every `candor run` on this database, then start the new version"
        " (or run `candor db migrate`); nothing was migrated"
    )
