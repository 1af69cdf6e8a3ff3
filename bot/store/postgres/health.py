"""What `candor doctor` asks of a PostgreSQL database, without changing it: can it be
reached with `[storage] url`, is its schema one this Candor can use, and does a
`candor run` hold it now (its session lock, read from `pg_locks`: nothing is taken)."""

from __future__ import annotations

import asyncpg

from bot.store.postgres.schema import LOCKS, SENDER, migrations, version
from bot.store.postgres.sql import UNREACHABLE
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite.health import Health, verdict


async def processes(conn: asyncpg.Connection) -> tuple[int, str]:
    """The Candor processes on the database, as an operator tells a second deployment
    by: those with a live heartbeat (`outbox_processes`: host and pid) and where
    Candor's connections come from, since when (`pg_stat_activity`): how many beat,
    and what to say ("" if none)."""
    if await conn.fetchval("SELECT to_regclass('outbox_processes')") is None:
        return 0, ""
    beating = await conn.fetch(
        "SELECT id, lease_until FROM outbox_processes WHERE lease_until >= now() ORDER BY id"
    )
    connected = await conn.fetch(
        "SELECT coalesce(host(client_addr), 'local socket') AS addr, count(*) AS n,"
        " min(backend_start) AS since FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name LIKE 'candor%'"
        " GROUP BY 1 ORDER BY 1"
    )
    if not beating and not connected:
        return 0, ""
    said = []
    for row in beating:
        host, _, rest = str(row["id"]).partition(":")
        pid = rest.partition(":")[0]
        said.append(f"{host} pid {pid}")
    where = ", ".join(
        f"{row['n']} from {row['addr']} since {row['since']:%Y-%m-%d %H:%M} UTC"
        for row in connected
    )
    return len(beating), (
        f"{len(beating)} with a live heartbeat ({', '.join(said) or 'none'});"
        f" Candor's connections: {where or 'none'}. A host you do not know is another"
        " deployment on this database"
    )


async def health(url: str, timeout: float = 10.0) -> Health:  # noqa: ASYNC109
    found = Health()
    store = PostgresStore(url, connect_timeout=timeout)  # for its redaction only: not opened
    try:
        conn = await asyncpg.connect(url, timeout=timeout)
    except (*UNREACHABLE, asyncpg.PostgresError, ValueError) as error:
        found.checks.append(("opens", False, store._cannot_open(error)))
        return found
    try:
        latest = migrations()[-1][0]
        current = await version(conn)
        has_cases = await conn.fetchval("SELECT to_regclass('cases')") is not None
        if current == 0 and not has_cases:
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            )
            if tables:
                found.checks.append(
                    (
                        "schema",
                        False,
                        f"{store.where} holds other tables but no Candor schema: give Candor"
                        " a database of its own (storage.url)",
                    )
                )
            else:
                found.checks.append(
                    ("schema", True, f"{store.where} is empty: `candor run` makes the schema")
                )
        else:
            found.checks.append(("schema", *verdict(store.where, current, latest)))
        held = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = $1 AND objid = $2 AND objsubid = 2",
            LOCKS,
            SENDER,
        )
        if held:
            found.running = True
            found.checks.append(("candor run", True, "running on this database"))
        beating, live = await processes(conn)
        if beating:  # (a `candor run` sending on Telegram: the heartbeats' processes)
            found.running = True
        if live:
            found.checks.append(("processes", True, live))
    except (*UNREACHABLE, asyncpg.PostgresError) as error:
        found.checks.append(("opens", False, store._cannot_open(error)))
    finally:
        await conn.close()
    return found
