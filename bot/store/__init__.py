"""Storage behind a protocol: the engine and the outbox talk to `Store`, never to SQL."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.store.errors import Busy, GroupAborted, NoDatabase, NotACandorDatabase, StoreError
from bot.store.postgres import PostgresStore
from bot.store.protocols import Leadership, Store, Transaction
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite.health import Health, health

if TYPE_CHECKING:
    from bot.config import Config

__all__ = [
    "Busy",
    "GroupAborted",
    "Health",
    "Leadership",
    "NoDatabase",
    "NotACandorDatabase",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StoreError",
    "Transaction",
    "database_health",
    "open_store",
]


async def database_health(config: Config) -> Health:
    """What `candor doctor` says of the configured database (read only, never changed):
    PostgreSQL at `[storage] url`, else the SQLite file at `[storage] path`."""
    if config.storage.url:
        from bot.store.postgres.health import health as postgres_health

        return await postgres_health(config.storage.url)
    return await asyncio.to_thread(health, config.storage.path)


def open_store(config: Config, *, read_only: bool = False) -> Store:
    """The store the config names: PostgreSQL at `[storage] url`, else the SQLite
    file at `[storage] path`."""
    storage = config.storage
    if storage.url:
        return PostgresStore(
            storage.url,
            read_only=read_only,
            leader_retry=storage.leader_retry_seconds,
            lock_wait=storage.lock_wait_seconds,
        )
    return SQLiteStore(
        storage.path,
        read_only=read_only,
        busy_timeout_ms=int(storage.busy_timeout_seconds * 1000),
    )
