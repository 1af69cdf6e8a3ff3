"""How fast `candor db copy` moves a SQLite database into PostgreSQL: N customers with
a case each, 20 N events, 10 N dedupe keys and 10 N outbox rows, written straight into
a fresh SQLite file, then copied into a throwaway PostgreSQL server (tests/postgres.py:
the PostgreSQL binaries on PATH, run as `postgres` when root). Prints rows per second.

    .venv/bin/python benchmarks/db_copy_bench.py 10000
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import SQLiteStore
from bot.store.copy import copy
from tests.postgres import Server

COUNT = "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {})"
ADDRESS = '["test","u","",1]'


def fill(path: Path, n: int) -> None:
    db = sqlite3.connect(path)
    db.execute(
        COUNT.format(n) + " INSERT INTO customers (id, name, created_at)"
        " SELECT i, 'c' || i, 1.5e9 FROM k"
    )
    db.execute(
        "INSERT INTO identities SELECT 'test', 'w', 'u' || id, id,"
        ' \'["test","u\' || id || \'","",1]\', 0 FROM customers'
    )
    db.execute(
        "INSERT INTO cases (id, customer_id, state, opened_at, updated_at)"
        " SELECT id, id, 'bot', 1.5e9, 1.5e9 FROM customers"
    )
    db.execute(
        COUNT.format(n * 20) + " INSERT INTO events (case_id, at, kind, actor, text)"
        f" SELECT (i % {n}) + 1, 1.5e9 + i, 'message', 'customer',"
        " 'how much does the team plan cost per user a month' FROM k"
    )
    db.execute(
        COUNT.format(n * 10) + " INSERT INTO inbound_seen"
        " SELECT 'test', hex(randomblob(16)), 1.5e9 FROM k"
    )
    db.execute(
        "INSERT INTO outbox (channel, address, customer_id, case_id, cause, text,"
        " created_at, state) SELECT 'test', ?, case_id, case_id, 'reply', text, at, 'sent'"
        " FROM events WHERE id % 2 = 0",
        (ADDRESS,),
    )
    db.commit()
    db.close()


async def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="copybench-"))
    path = folder / "candor.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    await store.close()
    fill(path, n)
    server = Server()
    server.start()
    try:
        url = server.database_for(folder)
        size = path.stat().st_size / 1e6
        started = time.perf_counter()
        copied = await copy(path, url)
        seconds = time.perf_counter() - started
        total = sum(copied.counts.values())
        print(f"{total} rows ({size:.0f} MB of SQLite) copied in {seconds:.1f} s:")
        print(f"{total / seconds:,.0f} rows/s")
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
