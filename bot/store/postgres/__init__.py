"""The PostgreSQL store (see `store.py`): several processes, one database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.store.postgres.store import PostgresStore, redacted
from bot.store.protocols import Store

__all__ = ["PostgresStore", "redacted", "running_on"]


@contextlib.asynccontextmanager
async def running_on(store: Store) -> AsyncIterator[None]:
    """For `candor run`: on PostgreSQL, the shared lock that says Candor runs on the
    database (`PostgresStore.running`; several `candor run` may hold it at once).
    SQLite's is a file lock taken before the store opens, one `candor run` per file
    (bot/store/sqlite/sender.py)."""
    if isinstance(store, PostgresStore):
        async with store.running():
            yield
    else:
        yield
