"""`tx.inbound` on SQLite: the dedupe log, keeping only digests of platform ids."""

from __future__ import annotations

from datetime import datetime

from bot.store.sqlite.rows import ts
from bot.store.sqlite.session import Repository


class SQLiteInboundLog(Repository):
    """The `InboundLog` protocol (its contract is there)."""

    __slots__ = ()

    async def first_seen(self, channel: str, key: str, now: datetime) -> bool:
        cursor = await self._s.exec(
            "INSERT OR IGNORE INTO inbound_seen (channel, key, at) VALUES (?, ?, ?)",
            (channel, self._s.digest(key), ts(now)),
        )
        return cursor.rowcount == 1
