"""Storage behind a protocol: the engine and the outbox talk to `Store`, never to SQL."""

from bot.store.base import Store, Transaction
from bot.store.sqlite import SQLiteStore, StoreError

__all__ = ["SQLiteStore", "Store", "StoreError", "Transaction"]
