"""`tx.notices` on SQLite: the settings are columns of `customers`; a held notice is
an outbox row due later."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import CASES_OF_CUSTOMER, dt, iso, ts
from bot.store.sqlite.session import Repository


class SQLiteNotices(Repository):
    """The `Notices` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    # its notice columns, and which of their cases were offered a community place
    tables: ClassVar[tuple[str, ...]] = ("customers", "community_offers")

    async def set_quiet(
        self,
        customer_id: int,
        *,
        muted_until: datetime | None,
        until_write: bool,
        quiet_hours: str | None = None,
    ) -> None:
        s = self._s
        s.quiet.pop(customer_id, None)
        await s.exec(
            "UPDATE customers SET muted_until = ?, muted_until_write = ? WHERE id = ?",
            (ts(muted_until), int(until_write), customer_id),
        )
        if quiet_hours is not None:
            await s.exec(
                "UPDATE customers SET quiet_hours = ? WHERE id = ?", (quiet_hours, customer_id)
            )

    async def quiet_of(self, customer_id: int) -> tuple[datetime | None, bool, str]:
        s = self._s
        if customer_id in s.quiet:
            return s.quiet[customer_id]
        row = await s.one(
            "SELECT muted_until, muted_until_write, quiet_hours FROM customers WHERE id = ?",
            (customer_id,),
        )
        if row is None:
            return None, False, ""
        return dt(row[0]), bool(row[1]), str(row[2])

    async def hold(self, message_id: int, until: datetime) -> None:
        await self._s.exec("UPDATE outbox SET not_before = ? WHERE id = ?", (ts(until), message_id))

    async def community_off(self, customer_id: int) -> bool:
        row = await self._s.one("SELECT community_off FROM customers WHERE id = ?", (customer_id,))
        return row is not None and bool(row[0])

    async def set_community_off(self, customer_id: int, off: bool) -> None:
        await self._s.exec(
            "UPDATE customers SET community_off = ? WHERE id = ?", (int(off), customer_id)
        )

    async def offer_community(self, case_id: int, now: datetime) -> bool:
        cursor = await self._s.exec(
            "INSERT OR IGNORE INTO community_offers (case_id, at) VALUES (?, ?)",
            (case_id, ts(now)),
        )
        return cursor.rowcount == 1

    async def release(self, customer_id: int, now: datetime) -> int:
        cursor = await self._s.exec(
            "UPDATE outbox SET not_before = ? WHERE customer_id = ? AND state = 'pending'"
            " AND cause IN ('incident', 'idea') AND not_before > ?",
            (ts(now), customer_id, ts(now)),
        )
        return cursor.rowcount

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        muted_until, until_write, quiet = await self.quiet_of(customer_id)
        return {
            "preferences": {
                "notices_muted_until": iso(ts(muted_until)),
                "notices_muted_until_you_write": until_write,
                "quiet_hours": quiet,
                "community_places_offered": not await self.community_off(customer_id),
            }
        }

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._s.exec(
            "UPDATE customers SET muted_until = NULL, muted_until_write = 0, quiet_hours = '',"
            " community_off = 0 WHERE id = ?",
            (customer_id,),
        )
        await self._s.exec(
            f"DELETE FROM community_offers WHERE case_id IN ({CASES_OF_CUSTOMER})", (customer_id,)
        )

    async def merge(self, merge: Merge) -> None:
        # the kept customer's settings stay, but a "no" to community places is a
        # choice never lost to a join (the merged one's row goes, last of all)
        await self._s.exec(
            "UPDATE customers SET community_off = 1 WHERE id = ? AND EXISTS"
            " (SELECT 1 FROM customers d WHERE d.id = ? AND d.community_off <> 0)",
            (merge.keep, merge.drop),
        )
        if merge.into is not None and merge.merged is not None:  # one case now: one offer
            await self._s.exec(
                "INSERT OR IGNORE INTO community_offers (case_id, at)"
                " SELECT ?, at FROM community_offers WHERE case_id = ?",
                (merge.into, merge.merged),
            )
