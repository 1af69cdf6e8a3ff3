"""Storage behind a protocol: the engine and the outbox talk to `Store`, never to SQL."""

from bot.store.errors import GroupAborted, NoDatabase, NotACandorDatabase, StoreError
from bot.store.protocols import Store, Transaction
from bot.store.sqlite import SQLiteStore

__all__ = [
    "GroupAborted",
    "NoDatabase",
    "NotACandorDatabase",
    "SQLiteStore",
    "Store",
    "StoreError",
    "Transaction",
]
