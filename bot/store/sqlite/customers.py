"""`tx.customers` on SQLite: customers and their identities."""

from __future__ import annotations

from datetime import datetime

from bot.model import Address, Customer, Identity
from bot.store.sqlite.rows import CUSTOMER_COLUMNS, address_of, customer_of, digest, ts
from bot.store.sqlite.session import Repository
from bot.store.sqlite.turn import read_turn


class SQLiteCustomers(Repository):
    """The `Customers` protocol (its contract is there)."""

    __slots__ = ()

    async def arrive(
        self, key: str, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool] | None:
        return await read_turn(self._s, identity, name, address, now, seen=digest(key))

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

    async def address_of(self, customer_id: int) -> Address | None:
        row = await self._s.one(
            "SELECT address FROM identities WHERE customer_id = ?"
            " ORDER BY last_used_at DESC LIMIT 1",
            (customer_id,),
        )
        return None if row is None else address_of(row[0])
