"""`tx.feedback` on SQLite."""

from __future__ import annotations

from datetime import datetime

from bot.store.sqlite.rows import ts
from bot.store.sqlite.session import Repository


class SQLiteFeedbackLog(Repository):
    """The `FeedbackLog` protocol (its contract is there)."""

    __slots__ = ()

    async def add(self, customer_id: int, case_id: int | None, text: str, now: datetime) -> int:
        return await self._s.insert(
            "INSERT INTO feedback (customer_id, case_id, at, text) VALUES (?, ?, ?, ?)",
            (customer_id, case_id, ts(now), text),
        )
