"""The PostgreSQL store (see `store.py`): several processes, one database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.store.postgres.store import PostgresStore, redacted
from bot.store.protocols import Store

__all__ = ["PostgresStore", "redacted", "sole_sender_on"]


@contextlib.asynccontextmanager
async def sole_sender_on(store: Store) -> AsyncIterator[None]:
    """For `candor run`: on PostgreSQL, the lock that keeps a second `candor run` off
    the database (`PostgresStore.sole_sender`); SQLite's is a file lock taken before
    the store opens (bot/store/sqlite/sender.py)."""
    if isinstance(store, PostgresStore):
        async with store.sole_sender():
            yield
    else:
        yield
