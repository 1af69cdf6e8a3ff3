"""`tx.customers` on SQLite: customers and their identities."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.model import Address, Customer, Identity
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import CUSTOMER_COLUMNS, address_of, customer_of, iso, ts
from bot.store.sqlite.session import Repository
from bot.store.sqlite.turn import read_turn


class SQLiteCustomers(Repository):
    """The `Customers` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("customers", "identities")

    async def arrive(
        self, key: str, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool] | None:
        return await read_turn(self._s, identity, name, address, now, seen=self._s.digest(key))

    async def for_identity(
        self, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool]:
        found = await read_turn(self._s, identity, name, address, now, seen=None)
        assert found is not None
        return found

    async def get(self, customer_id: int) -> Customer | None:
        row = await self._s.one(
            f"SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.id = ?", (customer_id,)
        )
        return None if row is None else customer_of(row)

    async def touch(self, customer_id: int, now: datetime) -> None:
        self._s.writes.hold(
            "UPDATE customers SET last_seen_at = ? WHERE id = ?", (ts(now), customer_id)
        )

    async def set_language(self, customer_id: int, language: str, chosen: bool) -> None:
        self._s.writes.hold(
            "UPDATE customers SET language = ?, language_chosen = ? WHERE id = ?",
            (language, int(chosen), customer_id),
        )

    async def address_of(self, customer_id: int) -> Address | None:
        row = await self._s.one(
            "SELECT address FROM identities WHERE customer_id = ?"
            " ORDER BY last_used_at DESC LIMIT 1",
            (customer_id,),
        )
        return None if row is None else address_of(row[0])

    async def reached_as(self, customer_id: int) -> tuple[Address, str] | None:
        row = await self._s.one(
            "SELECT address, user_id FROM identities WHERE customer_id = ?"
            " ORDER BY last_used_at DESC LIMIT 1",
            (customer_id,),
        )
        return None if row is None else (address_of(row[0]), str(row[1]))

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        s = self._s
        customer = await s.one(
            "SELECT id, name, created_at, last_seen_at, language, language_chosen"
            " FROM customers WHERE id = ?",
            (customer_id,),
        )
        identities = await s.all(
            "SELECT channel, workspace, user_id, last_used_at FROM identities"
            " WHERE customer_id = ? ORDER BY channel, user_id",
            (customer_id,),
        )
        return {
            "customer": {
                "id": customer[0],
                "name": customer[1],
                "first_seen": iso(customer[2]),
                "last_seen": iso(customer[3]),
                "language": customer[4],
                "language_chosen": bool(customer[5]),
            }
            if customer
            else None,
            "identities": [
                {"channel": c, "workspace": w, "user_id": u, "last_used": iso(t)}
                for c, w, u, t in identities
            ],
        }

    async def forget(self, customer_id: int, now: datetime) -> None:
        s = self._s
        await s.exec("DELETE FROM identities WHERE customer_id = ?", (customer_id,))
        await s.exec(
            "UPDATE customers SET name = '', language = '', language_chosen = 0, forgotten_at = ?"
            " WHERE id = ?",
            (ts(now), customer_id),
        )

    async def merge(self, merge: Merge) -> None:
        s = self._s
        # the language comes along when the one kept has none, or the one dropped chose
        # theirs (/language) and the one kept did not: a choice is never lost to a join
        await s.exec(
            "UPDATE customers SET"
            " language = (SELECT d.language FROM customers d WHERE d.id = ?),"
            " language_chosen = (SELECT d.language_chosen FROM customers d WHERE d.id = ?)"
            " WHERE id = ? AND EXISTS (SELECT 1 FROM customers d WHERE d.id = ?"
            " AND d.language <> '' AND (customers.language = ''"
            " OR (d.language_chosen <> 0 AND customers.language_chosen = 0)))",
            (merge.drop, merge.drop, merge.keep, merge.drop),
        )
        await s.exec(
            "UPDATE identities SET customer_id = ? WHERE customer_id = ?",
            (merge.keep, merge.drop),
        )
        await s.exec("DELETE FROM customers WHERE id = ?", (merge.drop,))
