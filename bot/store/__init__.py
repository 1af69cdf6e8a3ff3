"""Storage behind a protocol: the engine and the outbox talk to `Store`, never to SQL."""

import asyncio
from pathlib import Path

from bot.store.errors import GroupAborted, NoDatabase, NotACandorDatabase, StoreError
from bot.store.protocols import Store, Transaction
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite.health import Health, health

__all__ = [
    "GroupAborted",
    "Health",
    "NoDatabase",
    "NotACandorDatabase",
    "SQLiteStore",
    "Store",
    "StoreError",
    "Transaction",
    "database_health",
]


async def database_health(path: Path) -> Health:
    """What `candor doctor` says of the database at `path` (read only, never changed)."""
    return await asyncio.to_thread(health, path)
