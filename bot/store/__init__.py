"""Storage behind a protocol: the engine and the outbox talk to `Store`, never to SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.store.errors import GroupAborted, NoDatabase, NotACandorDatabase, StoreError
from bot.store.protocols import Store, Transaction

if TYPE_CHECKING:
    from bot.config import Config
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SQLiteStore

__all__ = [
    "GroupAborted",
    "NoDatabase",
    "NotACandorDatabase",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StoreError",
    "Transaction",
    "open_store",
]


def open_store(config: Config, *, read_only: bool = False) -> Store:
    """The store the config names: PostgreSQL at `[storage] url`, else the SQLite
    file at `[storage] path`."""
    storage = config.storage
    if storage.url:
        return PostgresStore(storage.url, read_only=read_only)
    return SQLiteStore(
        storage.path,
        read_only=read_only,
        busy_timeout_ms=int(storage.busy_timeout_seconds * 1000),
    )
