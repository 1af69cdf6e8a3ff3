"""`tx.desk` on SQLite: desk threads mapped to cases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from bot.model import Address, Outbound
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import CASES_OF_CUSTOMER, OUTBOX_COLUMNS, Unreadable, outbound_of
from bot.store.sqlite.session import Repository

# the outbox's rows to one desk address (as `StoreReads.pending` picks its chat)
_AT_DESK = (
    " FROM outbox WHERE channel = ? AND json_valid(address) AND json_extract(address, '$[1]') = ?"
)
SETTLED = 60.0  # seconds: a desk message this much older than the last shown is committed


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

    # -- every terminal desk sees every desk message -------------------------------------

    async def watch(self, viewer: str, desk: Address) -> None:
        s = self._s
        if await s.one("SELECT 1 FROM desk_viewers WHERE viewer = ?", (viewer,)) is not None:
            return
        where = (desk.channel, desk.chat_id)
        first = await s.one("SELECT min(id)" + _AT_DESK + " AND state = 'pending'", where)
        if first is None or first[0] is None:
            first = await s.one("SELECT max(id) + 1" + _AT_DESK, where)
        floor = int(first[0]) - 1 if first is not None and first[0] is not None else 0
        await s.exec(
            "INSERT OR IGNORE INTO desk_viewers (viewer, floor) VALUES (?, ?)", (viewer, floor)
        )

    async def unseen(self, viewer: str, desk: Address, limit: int = 100) -> list[Outbound]:
        rows = await self._s.all(
            f"SELECT {OUTBOX_COLUMNS}" + _AT_DESK + " AND state IN ('pending', 'sent')"
            " AND id > (SELECT floor FROM desk_viewers WHERE viewer = ?)"
            " AND NOT EXISTS (SELECT 1 FROM desk_seen s"
            " WHERE s.viewer = ? AND s.outbox_id = outbox.id)"
            " ORDER BY id LIMIT ?",
            (desk.channel, desk.chat_id, viewer, viewer, limit),
        )
        found = []
        for row in rows:
            try:
                found.append(outbound_of(row))
            except Unreadable:  # (the outbox marks it failed, and says why, when it meets it)
                continue
        return found

    async def saw(self, viewer: str, message_ids: Sequence[int]) -> None:
        for message_id in message_ids:
            await self._s.exec(
                "INSERT OR IGNORE INTO desk_seen (viewer, outbox_id)"
                " SELECT ?, id FROM outbox WHERE id = ?",
                (viewer, message_id),
            )
        if message_ids:
            await self._raise_floor(viewer, message_ids[-1])

    async def _raise_floor(self, viewer: str, last: int) -> None:
        """The viewer's floor up to the last message of its desk that is shown with all
        before it, and made `SETTLED` seconds before `last` was (on PostgreSQL a row
        with a smaller id may still be committed a moment later): the rows below it
        need no mark of their own, and `unseen` reads from it."""
        s = self._s
        row = await s.one(
            "SELECT v.floor, o.channel, o.address, o.created_at FROM desk_viewers v, outbox o"
            " WHERE v.viewer = ? AND o.id = ?",
            (viewer, last),
        )
        if row is None:
            return
        floor, channel, address, at = int(row[0]), row[1], row[2], float(row[3])
        chat = json.loads(address)[1]
        gap = await s.one(
            "SELECT min(id)" + _AT_DESK + " AND id > ? AND state IN ('pending', 'sent')"
            " AND NOT EXISTS (SELECT 1 FROM desk_seen s"
            " WHERE s.viewer = ? AND s.outbox_id = outbox.id)",
            (channel, chat, floor, viewer),
        )
        below = int(gap[0]) if gap is not None and gap[0] is not None else last + 1
        top = await s.one(
            "SELECT max(id)" + _AT_DESK + " AND id > ? AND id < ? AND created_at <= ?",
            (channel, chat, floor, below, at - SETTLED),
        )
        if top is None or top[0] is None:
            return
        await s.exec("UPDATE desk_viewers SET floor = ? WHERE viewer = ?", (int(top[0]), viewer))
        await s.exec(
            "DELETE FROM desk_seen WHERE viewer = ? AND outbox_id <= ?", (viewer, int(top[0]))
        )

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
