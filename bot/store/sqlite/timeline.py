"""`tx.timeline` on SQLite: a case's events. New events are held back (`Writes`) and
added to the memo as a read would return them, so a turn reads its timeline once."""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from bot.model import Event, EventKind
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import CASES_OF_CUSTOMER, EVENT_COLUMNS, event_of, ts, utc
from bot.store.sqlite.session import Repository


class SQLiteTimeline(Repository):
    """The `Timeline` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("events",)

    async def append(
        self,
        case_id: int,
        kind: EventKind,
        actor: str,
        text: str,
        now: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        s = self._s
        payload = dict(data or {})
        raw = json.dumps(payload, ensure_ascii=False) if payload else "{}"
        event_id = await s.new_id("events")
        s.writes.hold(
            "INSERT INTO events (id, case_id, at, kind, actor, text, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event_id, case_id, ts(now), kind.value, actor, text, raw),
        )
        kept = s.timelines.get(case_id)
        if kept is not None:  # as a read would return it
            at = utc(now.timestamp())
            stored = Event(
                event_id, case_id, at, kind, actor, text, json.loads(raw) if payload else {}
            )
            bisect.insort(kept[0], stored, key=lambda e: (e.at, e.id))
        return Event(event_id, case_id, now, kind, actor, text, payload)

    async def recent(self, case_id: int, limit: int = 50) -> list[Event]:
        s = self._s
        kept = s.timelines.get(case_id)
        if kept is not None and (kept[1] or len(kept[0]) >= limit):
            return kept[0][-limit:]
        rows = await s.all(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ?"
            " ORDER BY at DESC, id DESC LIMIT ?",
            (case_id, limit),
        )
        events = [event_of(row) for row in reversed(rows)]
        s.timelines[case_id] = (events, len(rows) < limit)
        return events[:]

    async def whole(self, case_id: int) -> list[Event]:
        s = self._s
        kept = s.timelines.get(case_id)
        if kept is not None and kept[1]:  # the memo holds all of it
            return kept[0][:]
        rows = await s.all(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ? ORDER BY at, id", (case_id,)
        )
        events = [event_of(row) for row in rows]
        s.timelines[case_id] = (events, True)
        return events[:]

    async def agents_active_since(self, since: datetime) -> dict[str, datetime]:
        rows = await self._s.all(
            "SELECT actor, max(at) FROM events WHERE at >= ?"
            " AND actor NOT IN ('customer', 'bot', 'system') GROUP BY actor",
            (ts(since),),
        )
        return {str(row[0]): utc(row[1]) for row in rows}

    # -- personal data --------------------------------------------------------------------

    async def seen_by_customer(self, case_id: int) -> list[Event]:
        """The case's whole timeline but the team's internal notes, oldest first."""
        rows = await self._s.all(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ? AND kind <> 'note'"
            " ORDER BY at, id",
            (case_id,),
        )
        return [event_of(row) for row in rows]

    async def export(self, customer_id: int) -> dict[str, Any]:
        return {}  # each case's events are exported with the case (SQLiteCases.export)

    async def forget(self, customer_id: int, now: datetime) -> None:
        s = self._s
        await s.exec(
            f"DELETE FROM events WHERE case_id IN ({CASES_OF_CUSTOMER}) AND kind NOT IN"
            " ('rating', 'handover', 'claim', 'state')",
            (customer_id,),
        )
        await s.exec(
            "UPDATE events SET text = '', data = json_remove(data, '$.comment')"
            f" WHERE case_id IN ({CASES_OF_CUSTOMER})",
            (customer_id,),
        )
        await s.exec(
            f"UPDATE events SET data = '{{}}' WHERE case_id IN ({CASES_OF_CUSTOMER})"
            " AND kind <> 'rating'",
            (customer_id,),
        )

    async def merge(self, merge: Merge) -> None:
        if merge.merged is not None:
            await self._s.exec(
                "UPDATE events SET case_id = ? WHERE case_id = ?", (merge.into, merge.merged)
            )
