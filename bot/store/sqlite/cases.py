"""`tx.cases` on SQLite: cases and the queue. The one-open-case rule is the unique
index `cases_one_open`; new cases and updates are held back (`Writes`)."""

from __future__ import annotations

from datetime import datetime

from bot.model import Case, CaseState
from bot.store.sqlite.group import NEW_CASES
from bot.store.sqlite.rows import CASE_COLUMNS, case_of, ts
from bot.store.sqlite.session import Repository
from bot.store.sqlite.turn import LATEST_CASE


class SQLiteCases(Repository):
    """The `Cases` protocol (its contract is there)."""

    __slots__ = ()

    async def latest(self, customer_id: int) -> Case | None:
        s = self._s
        if customer_id in s.latest:
            return s.latest[customer_id]
        row = await s.one(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ({LATEST_CASE.format(customer='?')})",
            (customer_id,),
        )
        return None if row is None else case_of(row)

    async def new(self, customer_id: int, now: datetime) -> Case:
        s = self._s
        s.latest.pop(customer_id, None)
        if customer_id in s.resolved:
            # New cases go before held updates (other rows refer to them), so the
            # update that resolved their case goes now, or the index refuses this one.
            s.resolved.discard(customer_id)
            await s.writes.flush(s.db)
        case_id = await s.new_id("cases")
        s.writes.hold(
            "INSERT INTO cases (id, customer_id, state, opened_at, updated_at)"
            " VALUES (?, ?, 'bot', ?, ?)",
            (case_id, customer_id, ts(now), ts(now)),
            rank=NEW_CASES,
        )
        s.timelines[case_id] = ([], True)
        return Case(case_id, customer_id, CaseState.BOT, "", now, now)

    async def get(self, case_id: int) -> Case | None:
        row = await self._s.one(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
        return None if row is None else case_of(row)

    async def update(self, case: Case) -> None:
        s = self._s
        s.latest.pop(case.customer_id, None)
        if case.state is CaseState.RESOLVED:
            s.resolved.add(case.customer_id)
        s.writes.hold(
            "UPDATE cases SET state = ?, subject = ?, updated_at = ?, handover_reason = ?,"
            " handed_over_at = ?, agent = ?, claimed_at = ?, resolved_at = ?, summary = ?,"
            " draft_summary = ?, pending_reason = ?, unanswered = ?, alerted_at = ? WHERE id = ?",
            (
                case.state.value,
                case.subject,
                ts(case.updated_at),
                case.handover_reason,
                ts(case.handed_over_at),
                case.agent,
                ts(case.claimed_at),
                ts(case.resolved_at),
                case.summary,
                case.draft_summary,
                case.pending_reason,
                case.unanswered,
                ts(case.alerted_at),
                case.id,
            ),
        )

    async def queue_position(self, case: Case) -> int:
        if case.state is not CaseState.WAITING or case.handed_over_at is None:
            return 0
        row = await self._s.one(
            "SELECT count(*) FROM cases WHERE state = 'waiting'"
            " AND (handed_over_at < ? OR (handed_over_at = ? AND id <= ?))",
            (ts(case.handed_over_at), ts(case.handed_over_at), case.id),
        )
        return int(row[0])

    async def queue(self) -> list[Case]:
        rows = await self._s.all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE state IN ('waiting', 'agent')"
            " ORDER BY state = 'agent', handed_over_at, id"
        )
        return [case_of(row) for row in rows]

    async def recent_waits(self, limit: int = 20) -> list[float]:
        rows = await self._s.all(
            "SELECT claimed_at - handed_over_at FROM cases WHERE claimed_at IS NOT NULL"
            " AND handed_over_at IS NOT NULL AND claimed_at >= handed_over_at"
            " ORDER BY claimed_at DESC LIMIT ?",
            (limit,),
        )
        return [float(row[0]) for row in rows]

    async def overdue(self, waiting_since: datetime, alerted_before: datetime) -> list[Case]:
        rows = await self._s.all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE state = 'waiting' AND handed_over_at < ?"
            " AND (alerted_at IS NULL OR alerted_at < ?) ORDER BY handed_over_at",
            (ts(waiting_since), ts(alerted_before)),
        )
        return [case_of(row) for row in rows]
