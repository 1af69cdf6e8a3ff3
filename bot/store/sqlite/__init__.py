"""The embedded SQLite store (see `store.py`): the default, one file, one writer."""

from bot.store.sqlite.store import SQLiteStore
from bot.store.sqlite.transaction import SQLiteTransaction

__all__ = ["SQLiteStore", "SQLiteTransaction"]
