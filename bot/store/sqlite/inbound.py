"""`tx.inbound` on SQLite: the dedupe log, keeping only digests of platform ids, and
the events that could not be read, kept whole."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import iso, ts
from bot.store.sqlite.session import Repository

# The identities of a customer, for the unreadable events they sent.
THEIRS = "(channel, user_id) IN (SELECT channel, user_id FROM identities WHERE customer_id = ?)"


class SQLiteInboundLog(Repository):
    """The `InboundLog` protocol (its contract is there)."""

    __slots__ = ()
    tables: ClassVar[tuple[str, ...]] = ("inbound_unparsed",)

    async def first_seen(self, channel: str, key: str, now: datetime) -> bool:
        cursor = await self._s.exec(
            "INSERT OR IGNORE INTO inbound_seen (channel, key, at) VALUES (?, ?, ?)",
            (channel, self._s.digest(key), ts(now)),
        )
        return cursor.rowcount == 1

    async def keep_unparsed(
        self, channel: str, key: str, user_id: str, raw: str, reason: str, now: datetime
    ) -> bool:
        cursor = await self._s.exec(
            "INSERT OR IGNORE INTO inbound_unparsed (channel, key, user_id, raw, reason, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (channel, key, user_id, raw, reason[:500], ts(now)),
        )
        return cursor.rowcount == 1

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        rows = await self._s.all(
            f"SELECT channel, at, raw FROM inbound_unparsed WHERE {THEIRS} ORDER BY at, key",
            (customer_id,),
        )
        if not rows:
            return {}
        return {
            "unreadable_messages": [
                {"channel": row[0], "at": iso(row[1]), "raw": row[2]} for row in rows
            ]
        }

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._s.exec(f"DELETE FROM inbound_unparsed WHERE {THEIRS}", (customer_id,))

    async def merge(self, merge: Merge) -> None:
        return None  # they follow the identity, which the merge moves
