"""Storage behind a protocol: the engine and the outbox talk to `Store`, never to SQL."""

from bot.store.errors import GroupAborted, StoreError
from bot.store.protocols import Store, Transaction
from bot.store.sqlite import SQLiteStore

__all__ = ["GroupAborted", "SQLiteStore", "Store", "StoreError", "Transaction"]
