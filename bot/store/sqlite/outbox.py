"""`tx.outbox` on SQLite: new messages are held back (`Writes`) with the turn's
other rows; what the dispatcher records of a delivery goes at once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from bot.model import Outbound
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import CASES_OF_CUSTOMER, address_json, ts
from bot.store.sqlite.session import Repository


class SQLiteOutboxRows(Repository):
    """The `OutboxRows` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("outbox",)

    async def enqueue(self, message: Outbound, now: datetime) -> int:
        s = self._s
        message_id = await s.new_id("outbox")
        s.writes.hold(
            "INSERT INTO outbox (id, channel, address, customer_id, case_id, cause, text,"
            " buttons, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message_id,
                message.address.channel,
                address_json(message.address),
                message.customer_id,
                message.case_id,
                message.cause.value,
                message.text,
                json.dumps([[b.label, b.payload] for b in message.buttons], ensure_ascii=False)
                if message.buttons
                else "[]",
                json.dumps(stored, ensure_ascii=False)
                if (stored := message.delivery.to_json())
                else "{}",
                ts(now),
            ),
        )
        return message_id

    # Each only while the row is pending: a message erased meanwhile (`/forget`), or
    # recorded already (by the process that took its chat over), is left as it is.
    async def mark_sent(self, message_id: int, platform_id: str, now: datetime) -> bool:
        cursor = await self._s.exec(
            "UPDATE outbox SET state = 'sent', sent_at = ?, platform_id = ?,"
            " attempts = attempts + 1, error = '', progress = '{}'"
            " WHERE id = ? AND state = 'pending'",
            (ts(now), platform_id, message_id),
        )
        return cursor.rowcount > 0

    async def mark_retry(self, message_id: int, not_before: datetime, error: str) -> bool:
        cursor = await self._s.exec(
            "UPDATE outbox SET attempts = attempts + 1, not_before = ?, error = ?"
            " WHERE id = ? AND state = 'pending'",
            (ts(not_before), error[:500], message_id),
        )
        return cursor.rowcount > 0

    async def mark_failed(self, message_id: int, error: str, now: datetime) -> bool:
        cursor = await self._s.exec(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, error = ?,"
            " sent_at = ?, progress = '{}' WHERE id = ? AND state = 'pending'",
            (error[:500], ts(now), message_id),
        )
        return cursor.rowcount > 0

    async def coalesce(
        self, keep_id: int, text: str, merged_ids: Sequence[int], now: datetime
    ) -> None:
        await self._s.exec(
            "UPDATE outbox SET text = ? WHERE id = ? AND state = 'pending'", (text, keep_id)
        )
        for merged in merged_ids:
            await self._s.exec(
                "UPDATE outbox SET state = 'sent', sent_at = ?, platform_id = '', error = ?"
                " WHERE id = ? AND state = 'pending'",
                (ts(now), f"sent within message {keep_id}", merged),
            )

    async def progress(self, message_id: int, data: Mapping[str, Any]) -> None:
        await self._s.exec(
            "UPDATE outbox SET progress = ? WHERE id = ? AND state = 'pending'",
            (json.dumps(dict(data), ensure_ascii=False), message_id),
        )

    async def owned(self, process: str, channel: str, chat_id: str) -> bool:
        return True  # one process sends (sender.py): it owns every address

    async def drop(self, message_id: int) -> None:
        await self._s.exec("DELETE FROM outbox WHERE id = ?", (message_id,))

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        return {}  # what was said to them is on their cases' timelines

    async def forget(self, customer_id: int, now: datetime) -> None:
        s = self._s
        await s.exec(f"DELETE FROM outbox WHERE case_id IN ({CASES_OF_CUSTOMER})", (customer_id,))
        await s.exec("DELETE FROM outbox WHERE customer_id = ?", (customer_id,))

    async def merge(self, merge: Merge) -> None:
        await self._s.exec(
            "UPDATE outbox SET customer_id = ? WHERE customer_id = ?", (merge.keep, merge.drop)
        )
