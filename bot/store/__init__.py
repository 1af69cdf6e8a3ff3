"""Storage behind a protocol: the engine and the outbox talk to `Store`, never to SQL."""

from bot.store.base import Store, Transaction
from bot.store.sqlite import GroupAborted, SQLiteStore, StoreError

__all__ = ["GroupAborted", "SQLiteStore", "Store", "StoreError", "Transaction"]
