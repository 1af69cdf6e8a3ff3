"""`tx.links` on SQLite: only a digest of each code is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import ts
from bot.store.sqlite.session import Repository


class SQLiteLinks(Repository):
    """The `Links` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("link_codes", "link_failures")

    async def add_code(self, customer_id: int, code: str, now: datetime, expires: datetime) -> None:
        s = self._s
        await s.exec("DELETE FROM link_codes WHERE customer_id = ?", (customer_id,))
        await s.exec(
            "INSERT INTO link_codes (code_digest, customer_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (s.digest(code), customer_id, ts(now), ts(expires)),
        )

    async def take_code(self, code: str, now: datetime) -> int | None:
        s = self._s
        await s.exec("DELETE FROM link_codes WHERE expires_at < ?", (ts(now),))
        row = await s.one(
            "SELECT customer_id FROM link_codes WHERE code_digest = ?", (s.digest(code),)
        )
        if row is None:
            return None
        await s.exec("DELETE FROM link_codes WHERE code_digest = ?", (s.digest(code),))
        return int(row[0])

    async def failures(self, customer_id: int, since: datetime) -> int:
        row = await self._s.one(
            "SELECT count(*) FROM link_failures WHERE customer_id = ? AND at >= ?",
            (customer_id, ts(since)),
        )
        return int(row[0])

    async def add_failure(self, customer_id: int, now: datetime) -> None:
        await self._s.exec(
            "INSERT INTO link_failures (customer_id, at) VALUES (?, ?)", (customer_id, ts(now))
        )

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        return {}  # digests of codes and counts of tries: nothing to show

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._erase(customer_id)

    async def merge(self, merge: Merge) -> None:
        await self._erase(merge.drop)  # the merged customer's codes and tries go with them

    async def _erase(self, customer_id: int) -> None:
        await self._s.exec("DELETE FROM link_codes WHERE customer_id = ?", (customer_id,))
        await self._s.exec("DELETE FROM link_failures WHERE customer_id = ?", (customer_id,))
