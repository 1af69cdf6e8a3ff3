"""`tx.feedback` on SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import iso, ts
from bot.store.sqlite.session import Repository


class SQLiteFeedbackLog(Repository):
    """The `FeedbackLog` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("feedback",)

    async def add(self, customer_id: int, case_id: int | None, text: str, now: datetime) -> int:
        return await self._s.insert(
            "INSERT INTO feedback (customer_id, case_id, at, text) VALUES (?, ?, ?, ?)",
            (customer_id, case_id, ts(now), text),
        )

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        rows = await self._s.all(
            "SELECT at, text FROM feedback WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        return {"feedback": [{"at": iso(at), "text": text} for at, text in rows]}

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._s.exec("DELETE FROM feedback WHERE customer_id = ?", (customer_id,))

    async def merge(self, merge: Merge) -> None:
        await self._s.exec(
            "UPDATE feedback SET customer_id = ? WHERE customer_id = ?", (merge.keep, merge.drop)
        )
