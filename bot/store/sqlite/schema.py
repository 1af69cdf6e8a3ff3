"""Schema migrations: `migrations/NNN_*.sql`, applied in order, each in a transaction
of its own, and recorded in `PRAGMA user_version`. A database from a newer Candor is
refused rather than damaged."""

from __future__ import annotations

import logging
import sqlite3
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.store.errors import StoreError

log = logging.getLogger(__name__)


def migrations(package: str = "bot.store.sqlite") -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration of the backend `package`, in order."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(db: aiosqlite.Connection, path: Path) -> None:
    """Bring the database at `path` (open as `db`) up to the latest schema."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    found = migrations()
    latest = found[-1][0] if found else 0
    if current > latest:
        raise StoreError(
            f"the database {path} has schema version {current}, newer than this"
            f" Candor knows ({latest}); upgrade Candor"
        )
    for version, name, sql in found:
        if version <= current:
            continue
        log.info("applying migration %s", name)
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(sql):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {version}")
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise


def statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows SQL's quoting)."""
    found, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    leftover = [ln for ln in current.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    if leftover:
        raise StoreError("a migration ends in an incomplete statement")
    return found
