"""`candor db migrate`: bring the configured database's schema up to date, and say
what was done (start does the same, without saying)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from bot.store.errors import StoreError
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite.schema import migrations

if TYPE_CHECKING:
    from bot.config import Config, StorageSettings


async def migrate(config: Config) -> str:
    """One line: which migrations were applied to which database (secrets left out)."""
    storage = config.storage
    if storage.url:
        store = PostgresStore(storage.url)
        applied, version = await store.migrate()
        where = f"the PostgreSQL database at storage.url {store.where}"
    else:
        before = _sqlite_version(storage)
        sqlite = SQLiteStore(storage.path)
        await sqlite.open()
        await sqlite.close()
        version = _sqlite_version(storage)
        applied = [name for number, name, _ in migrations() if before < number <= version]
        where = f"the SQLite database {storage.path}"
    if not applied:
        return f"{where} is up to date (schema version {version}); nothing to do"
    return (
        f"{where}: applied {len(applied)} migration{'s' if len(applied) != 1 else ''}"
        f" ({', '.join(applied)}); schema version {version}"
    )


def _sqlite_version(storage: StorageSettings) -> int:
    path = storage.path
    if not path.is_file():
        return 0
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return int(db.execute("PRAGMA user_version").fetchone()[0])
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        raise StoreError(f"cannot open the database {path}: {error}") from error
