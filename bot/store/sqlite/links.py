"""`tx.links` on SQLite: only a digest of each code, and of each identity that tried
a wrong one, is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.model import Identity, PendingLink
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import ts, utc
from bot.store.sqlite.session import Repository


def _who(identity: Identity) -> str:
    """The identity as link_tries names it, before it is keyed (`Session.digest`)."""
    return f"link-try\x1f{identity.channel}\x1f{identity.workspace}\x1f{identity.user_id}"


class SQLiteLinks(Repository):
    """The `Links` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    # (link_tries names an identity's digest, no customer: see the protocol)
    tables: ClassVar[tuple[str, ...]] = ("link_codes", "pending_links")

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

    async def failures(self, identity: Identity, since: datetime) -> int:
        await self._s.exec("DELETE FROM link_tries WHERE at < ?", (ts(since),))
        row = await self._s.one(
            "SELECT count(*) FROM link_tries WHERE who = ? AND at >= ?",
            (self._s.digest(_who(identity)), ts(since)),
        )
        return int(row[0])

    async def add_failure(self, identity: Identity, now: datetime) -> None:
        await self._s.exec(
            "INSERT INTO link_tries (who, at) VALUES (?, ?)",
            (self._s.digest(_who(identity)), ts(now)),
        )

    async def pend(self, asked_by: int, entered_by: int, now: datetime, expires: datetime) -> int:
        return await self._s.insert(
            "INSERT INTO pending_links (asked_by, entered_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (asked_by, entered_by, ts(now), ts(expires)),
        )

    async def pending(self, link_id: int, now: datetime) -> PendingLink | None:
        s = self._s
        await s.exec("DELETE FROM pending_links WHERE expires_at <= ?", (ts(now),))
        row = await s.one(
            "SELECT id, asked_by, entered_by, entered_yes, expires_at FROM pending_links"
            " WHERE id = ?",
            (link_id,),
        )
        if row is None:
            return None
        return PendingLink(int(row[0]), int(row[1]), int(row[2]), bool(row[3]), utc(row[4]))

    async def entered_yes(self, link_id: int, expires: datetime) -> None:
        await self._s.exec(
            "UPDATE pending_links SET entered_yes = 1, expires_at = ? WHERE id = ?",
            (ts(expires), link_id),
        )

    async def drop_pending(self, link_id: int) -> None:
        await self._s.exec("DELETE FROM pending_links WHERE id = ?", (link_id,))

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        return {}  # digests of codes and links waiting for a yes: nothing to show

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._erase(customer_id)

    async def merge(self, merge: Merge) -> None:
        await self._erase(merge.drop)  # the merged customer's codes and links go with them

    async def _erase(self, customer_id: int) -> None:
        s = self._s
        await s.exec("DELETE FROM link_codes WHERE customer_id = ?", (customer_id,))
        await s.exec(
            "DELETE FROM pending_links WHERE asked_by = ? OR entered_by = ?",
            (customer_id, customer_id),
        )
