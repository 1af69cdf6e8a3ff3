"""`tx.desk` on SQLite: desk threads mapped to cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.model import Address
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import CASES_OF_CUSTOMER
from bot.store.sqlite.session import Repository


class SQLiteDeskThreads(Repository):
    """The `DeskThreads` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("desk_threads",)

    async def map_thread(
        self, address: Address, case_id: int, *, card: bool = False, card_message: str = ""
    ) -> None:
        await self._s.exec(
            "INSERT INTO desk_threads (channel, chat_id, thread_id, case_id, is_card,"
            " card_message) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, chat_id, thread_id) DO UPDATE SET"
            " is_card = CASE WHEN excluded.case_id = desk_threads.case_id"
            " THEN max(desk_threads.is_card, excluded.is_card) ELSE excluded.is_card END,"
            " card_message = CASE WHEN excluded.case_id = desk_threads.case_id"
            " AND excluded.card_message = ''"
            " THEN desk_threads.card_message ELSE excluded.card_message END,"
            " case_id = excluded.case_id",
            (address.channel, address.chat_id, address.thread_id, case_id, int(card), card_message),
        )

    async def case_for_thread(self, address: Address) -> int | None:
        row = await self._s.one(
            "SELECT case_id FROM desk_threads WHERE channel = ? AND chat_id = ? AND thread_id = ?",
            (address.channel, address.chat_id, address.thread_id),
        )
        return None if row is None else int(row[0])

    async def thread_of(self, channel: str, chat_id: str, case_id: int) -> str | None:
        row = await self._s.one(
            "SELECT thread_id FROM desk_threads WHERE channel = ? AND chat_id = ? AND case_id = ?"
            " AND is_card = 1 ORDER BY rowid DESC LIMIT 1",
            (channel, chat_id, case_id),
        )
        return None if row is None else str(row[0])

    async def card_message_of(self, channel: str, chat_id: str, case_id: int) -> str:
        row = await self._s.one(
            "SELECT card_message FROM desk_threads WHERE channel = ? AND chat_id = ?"
            " AND case_id = ? AND is_card = 1 ORDER BY rowid DESC LIMIT 1",
            (channel, chat_id, case_id),
        )
        return "" if row is None else str(row[0])

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        return {}  # where the team works on their cases: not theirs to see

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._s.exec(
            f"DELETE FROM desk_threads WHERE case_id IN ({CASES_OF_CUSTOMER})", (customer_id,)
        )

    async def merge(self, merge: Merge) -> None:
        if merge.merged is not None:
            await self._s.exec(
                "UPDATE desk_threads SET case_id = ? WHERE case_id = ?",
                (merge.into, merge.merged),
            )
