"""`store.reporting()` on SQLite: plain selects, in one read transaction.

A read-only store reads a database at whatever schema version it has (it cannot
migrate it): these reads use only columns that every version has, and a table a
version does not have yet (feedback before 003, ideas before 006) reads as empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiosqlite

from bot.model import Event, Idea, IdeaState, IncidentState
from bot.store.protocols.reports import CaseTimes, IncidentUpdate, PublicIncident, Undelivered
from bot.store.sqlite.rows import CASE_STATES, EVENT_KINDS, address_of, dt, utc


def _data(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _channel(reply_to: str, identity: str | None) -> str:
    """The channel of a case: where its answers go, else where its customer wrote."""
    if reply_to:
        try:
            return address_of(reply_to).channel
        except (TypeError, ValueError):
            pass
    return identity or ""


class SQLiteReports:
    """The `Reports` protocol (its contract is there) on a connection inside a read
    transaction."""

    def __init__(
        self, db: aiosqlite.Connection, tables: set[str], digest: Callable[[str], str]
    ) -> None:
        self._db = db
        self._tables = tables
        self._digest = digest  # the store's keyed digest (the web tokens are kept as it)

    @staticmethod
    def _period(since: datetime | None, until: datetime) -> tuple[float, float]:
        return float("-inf") if since is None else since.timestamp(), until.timestamp()

    async def cases_opened(self, since: datetime | None, until: datetime) -> list[CaseTimes]:
        # where the case was answered (009's reply_to) and the customer's language
        # (016): read where the database has them (017's tables come after both)
        recent = "web_links" in self._tables
        reply_to, language = ("c.reply_to", "u.language") if recent else ("''", "''")
        rows = await self._db.execute_fetchall(
            f"SELECT c.id, c.state, c.opened_at, c.resolved_at, {reply_to},"
            " (SELECT i.channel FROM identities AS i WHERE i.customer_id = c.customer_id"
            f" ORDER BY i.last_used_at DESC, i.channel LIMIT 1), {language}"
            " FROM cases AS c JOIN customers AS u ON u.id = c.customer_id"
            " WHERE c.opened_at >= ? AND c.opened_at <= ? ORDER BY c.id",
            self._period(since, until),
        )
        return [
            CaseTimes(
                r[0], CASE_STATES[r[1]], utc(r[2]), dt(r[3]), _channel(r[4], r[5]), r[6] or ""
            )
            for r in rows
        ]

    async def events_of_cases_opened(self, since: datetime | None, until: datetime) -> list[Event]:
        rows = await self._db.execute_fetchall(
            "SELECT e.id, e.case_id, e.at, e.kind, e.actor, e.text, e.data FROM events AS e"
            " JOIN cases AS c ON c.id = e.case_id"
            " WHERE c.opened_at >= ? AND c.opened_at <= ? ORDER BY e.case_id, e.id",
            self._period(since, until),
        )
        return [
            Event(r[0], r[1], utc(r[2]), EVENT_KINDS[r[3]], r[4], r[5], _data(r[6])) for r in rows
        ]

    async def feedback_count(self, since: datetime | None, until: datetime) -> int:
        if "feedback" not in self._tables:
            return 0
        rows = await self._db.execute_fetchall(
            "SELECT count(*) FROM feedback WHERE at >= ? AND at <= ?", self._period(since, until)
        )
        return int(next(iter(rows))[0])

    async def top_ideas(
        self, limit: int, since: datetime | None = None, until: datetime | None = None
    ) -> list[Idea]:
        if not {"ideas", "idea_votes"} <= self._tables:
            return []
        start = float("-inf") if since is None else since.timestamp()
        end = float("inf") if until is None else until.timestamp()
        rows = await self._db.execute_fetchall(
            "SELECT i.id, i.text, i.state, i.note, count(DISTINCT v.customer_id) AS votes"
            " FROM ideas AS i LEFT JOIN idea_votes AS v"
            " ON v.idea_id = i.id AND v.at >= ? AND v.at <= ?"
            " GROUP BY i.id HAVING votes > 0 OR (i.created_at >= ? AND i.created_at <= ?)"
            " ORDER BY votes DESC, i.text LIMIT ?",
            (start, end, start, end, limit),
        )
        return [Idea(int(r[0]), str(r[1]), IdeaState(r[2]), str(r[3]), int(r[4])) for r in rows]

    async def undelivered_replies(
        self, since: datetime | None, until: datetime
    ) -> list[Undelivered]:
        start, end = self._period(since, until)
        rows = await self._db.execute_fetchall(
            "SELECT case_id, state, created_at, attempts, error FROM outbox"
            " WHERE cause IN ('reply', 'case_update') AND ((state = 'pending' AND attempts > 0)"
            " OR (state = 'failed' AND created_at >= ? AND created_at <= ?)) ORDER BY id",
            (start, end),
        )
        return [Undelivered(r[0], str(r[1]), utc(r[2]), int(r[3]), str(r[4])) for r in rows]

    async def public_incidents(self, resolved_since: datetime) -> list[PublicIncident]:
        if not {"incidents", "incident_updates"} <= self._tables:
            return []
        shown = "state = 'open' OR resolved_at >= ?"
        since = (resolved_since.timestamp(),)
        rows = await self._db.execute_fetchall(
            "SELECT id, title, affected, state, opened_at, resolved_at FROM incidents"
            f" WHERE {shown} ORDER BY opened_at DESC, id DESC",
            since,
        )
        updates: dict[int, list[IncidentUpdate]] = {}
        for r in await self._db.execute_fetchall(
            "SELECT incident_id, at, text FROM incident_updates WHERE incident_id IN"
            f" (SELECT id FROM incidents WHERE {shown}) ORDER BY at DESC, id DESC",
            since,
        ):
            updates.setdefault(int(r[0]), []).append(IncidentUpdate(utc(r[1]), str(r[2])))
        return [
            PublicIncident(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                IncidentState(r[3]),
                utc(r[4]),
                dt(r[5]),
                tuple(updates.get(int(r[0]), ())),
            )
            for r in rows
        ]

    async def _web(self, table: str, kind: str, token: str, now: datetime) -> str | None:
        if table not in self._tables:
            return None
        rows = await self._db.execute_fetchall(
            f"SELECT agent FROM {table} WHERE digest = ? AND expires_at >= ?",
            (self._digest(f"{kind}\x1f{token}"), now.timestamp()),
        )
        row = next(iter(rows), None)
        return None if row is None else str(row[0])

    async def web_session(self, token: str, now: datetime) -> str | None:
        return await self._web("web_sessions", "web-session", token, now)

    async def web_link(self, token: str, now: datetime) -> bool:
        return await self._web("web_links", "web-link", token, now) is not None
