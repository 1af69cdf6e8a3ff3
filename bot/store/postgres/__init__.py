"""The PostgreSQL store (see `store.py`): several processes, one database."""

from bot.store.postgres.store import PostgresStore, redacted

__all__ = ["PostgresStore", "redacted"]
