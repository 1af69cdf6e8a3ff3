"""`tx.incidents` on SQLite. Most turns meet no open incident: the turn's one read
says so, and `open_ones` then needs no trip."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from bot.model import Incident, IncidentState
from bot.store.protocols.incidents import WroteAbout
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import dt, ts, utc
from bot.store.sqlite.session import Repository
from bot.text import MAX_MATCHED


class SQLiteIncidents(Repository):
    """The `Incidents` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("incident_subscribers",)

    async def open(
        self,
        title: str,
        affected: str,
        words: Sequence[str],
        author: str,
        now: datetime,
        community: str = "",
    ) -> int:
        self._s.no_incidents = False
        listed = json.dumps(list(words), ensure_ascii=False)
        return await self._s.insert(
            "INSERT INTO incidents (title, affected, words, opened_by, opened_at, community)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (title, affected, listed, author, ts(now), community),
        )

    async def get(self, incident_id: int) -> Incident | None:
        rows = await self._incidents("WHERE i.id = ?", (incident_id,))
        return rows[0] if rows else None

    async def open_ones(self) -> list[Incident]:
        if self._s.no_incidents:
            return []
        return await self._incidents("WHERE i.state = 'open'", ())

    async def _incidents(self, where: str, params: Sequence[Any]) -> list[Incident]:
        rows = await self._s.all(
            "SELECT i.id, i.title, i.affected, i.words, i.state, i.opened_by, i.opened_at,"
            " i.resolved_at, u.text, u.at, i.community FROM incidents i"
            " LEFT JOIN incident_updates u"
            " ON u.id = (SELECT max(id) FROM incident_updates WHERE incident_id = i.id)"
            f" {where} ORDER BY i.id",
            params,
        )
        return [
            Incident(
                id=r[0],
                title=r[1],
                affected=r[2],
                words=tuple(json.loads(r[3])),
                state=IncidentState(r[4]),
                opened_by=r[5],
                opened_at=utc(r[6]),
                resolved_at=dt(r[7]),
                latest=r[8] or "",
                latest_at=dt(r[9]),
                community=r[10],
            )
            for r in rows
        ]

    async def add_update(
        self, incident_id: int, author: str, text: str, now: datetime, *, resolve: bool = False
    ) -> None:
        s = self._s
        s.no_incidents = False
        await s.exec(
            "INSERT INTO incident_updates (incident_id, at, author, text) VALUES (?, ?, ?, ?)",
            (incident_id, ts(now), author, text),
        )
        if resolve:
            await s.exec(
                "UPDATE incidents SET state = 'resolved', resolved_at = ? WHERE id = ?",
                (ts(now), incident_id),
            )

    async def subscribe(self, incident_id: int, customer_id: int, now: datetime) -> bool:
        cursor = await self._s.exec(
            "INSERT OR IGNORE INTO incident_subscribers (incident_id, customer_id, at)"
            " VALUES (?, ?, ?)",
            (incident_id, customer_id, ts(now)),
        )
        return cursor.rowcount == 1

    async def subscribers(self, incident_id: int) -> list[int]:
        rows = await self._s.all(
            "SELECT customer_id FROM incident_subscribers WHERE incident_id = ?"
            " ORDER BY customer_id",
            (incident_id,),
        )
        return [int(r[0]) for r in rows]

    async def subscriptions(self, customer_id: int) -> list[int]:
        rows = await self._s.all(
            "SELECT incident_id FROM incident_subscribers WHERE customer_id = ?", (customer_id,)
        )
        return [int(r[0]) for r in rows]

    async def cases_since(self, since: datetime, limit: int) -> list[WroteAbout]:
        rows = await self._s.all(
            "SELECT c.id, c.customer_id, c.state, substr(e.text, 1, ?) FROM"
            " (SELECT id, customer_id, state FROM cases"
            "  WHERE state <> 'resolved' OR resolved_at >= ? ORDER BY id DESC LIMIT ?) c"
            " LEFT JOIN events e ON e.case_id = c.id AND e.kind IN ('customer', 'edit')"
            " ORDER BY c.id DESC, e.id",
            (MAX_MATCHED, ts(since), limit),
        )
        found: dict[int, tuple[int, str, list[str]]] = {}
        for case_id, customer_id, state, text in rows:
            _, _, words = found.setdefault(case_id, (int(customer_id), str(state), []))
            if text:
                words.append(str(text))
        return [
            WroteAbout(case_id, customer_id, state, tuple(words))
            for case_id, (customer_id, state, words) in found.items()
        ]

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        rows = await self._s.all(
            "SELECT i.id, i.title, i.state FROM incidents i JOIN incident_subscribers s"
            " ON s.incident_id = i.id WHERE s.customer_id = ? ORDER BY i.id",
            (customer_id,),
        )
        return {"incidents_followed": [{"id": i, "title": t, "state": st} for i, t, st in rows]}

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._s.exec("DELETE FROM incident_subscribers WHERE customer_id = ?", (customer_id,))

    async def merge(self, merge: Merge) -> None:
        s = self._s
        await s.exec(
            "DELETE FROM incident_subscribers WHERE customer_id = ? AND incident_id IN"
            " (SELECT incident_id FROM incident_subscribers WHERE customer_id = ?)",
            (merge.drop, merge.keep),
        )
        await s.exec(
            "UPDATE incident_subscribers SET customer_id = ? WHERE customer_id = ?",
            (merge.keep, merge.drop),
        )
