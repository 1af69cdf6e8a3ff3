"""`tx.cases` on SQLite: cases and the queue. The one-open-case rule is the unique
index `cases_one_open`; new cases and updates are held back (`Writes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.model import Case, CaseState
from bot.store.protocols.personal import Merge
from bot.store.sqlite.group import NEW_CASES
from bot.store.sqlite.rows import CASE_COLUMNS, CASES_OF_CUSTOMER, address_json, case_of, ts, utc
from bot.store.sqlite.session import Repository, Session
from bot.store.sqlite.timeline import SQLiteTimeline
from bot.store.sqlite.turn import LATEST_CASE


class SQLiteCases(Repository):
    """The `Cases` protocol (its contract is there)."""

    __slots__ = ("_timeline",)
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("cases",)

    def __init__(self, session: Session, timeline: SQLiteTimeline) -> None:
        super().__init__(session)
        self._timeline = timeline  # cases are exported with their timelines

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

    async def ids_of(self, customer_id: int) -> list[int]:
        return [
            int(row[0])
            for row in await self._s.all(CASES_OF_CUSTOMER + " ORDER BY id", (customer_id,))
        ]

    async def update(self, case: Case) -> None:
        s = self._s
        s.latest.pop(case.customer_id, None)
        if case.state is CaseState.RESOLVED:
            s.resolved.add(case.customer_id)
        s.writes.hold(
            "UPDATE cases SET state = ?, subject = ?, updated_at = ?, handover_reason = ?,"
            " handed_over_at = ?, agent = ?, claimed_at = ?, resolved_at = ?, summary = ?,"
            " draft_summary = ?, pending_reason = ?, unanswered = ?, alerted_at = ?,"
            " conversation = ?, conversation_until = ?, conversation_note = ?, reply_to = ?"
            " WHERE id = ?",
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
                case.conversation.value,
                ts(case.conversation_until),
                case.conversation_note,
                "" if case.reply_to is None else address_json(case.reply_to),
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

    async def recent_claims(self, since: datetime) -> list[tuple[datetime, datetime, str]]:
        rows = await self._s.all(
            "SELECT handed_over_at, claimed_at, agent FROM cases WHERE claimed_at >= ?"
            " AND handed_over_at IS NOT NULL AND claimed_at >= handed_over_at"
            " ORDER BY claimed_at DESC, id DESC",
            (ts(since),),
        )
        return [(utc(row[0]), utc(row[1]), str(row[2])) for row in rows]

    async def came_back_unanswered(self, back_before: datetime) -> list[tuple[Case, datetime]]:
        rows = await self._s.all(
            f"SELECT {CASE_COLUMNS}, back FROM (SELECT *, (SELECT max(at) FROM events b"
            " WHERE b.case_id = cases.id AND b.kind = 'state' AND b.text LIKE 'back with %')"
            " AS back FROM cases WHERE state = 'agent') AS k"
            " WHERE back IS NOT NULL AND back < ? AND (alerted_at IS NULL OR alerted_at < back)"
            " AND NOT EXISTS (SELECT 1 FROM events r WHERE r.case_id = k.id"
            " AND r.kind = 'agent' AND r.at >= back) ORDER BY back, id",
            (ts(back_before),),
        )
        return [(case_of(row[:-1]), utc(row[-1])) for row in rows]

    async def overdue(self, waiting_since: datetime, alerted_before: datetime) -> list[Case]:
        rows = await self._s.all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE state = 'waiting' AND handed_over_at < ?"
            " AND (alerted_at IS NULL OR alerted_at < ?) ORDER BY handed_over_at",
            (ts(waiting_since), ts(alerted_before)),
        )
        return [case_of(row) for row in rows]

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        rows = await self._s.all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE customer_id = ? ORDER BY id",
            (customer_id,),
        )
        cases = []
        for row in rows:
            case = case_of(row)
            events = await self._timeline.seen_by_customer(case.id)
            cases.append(
                {
                    "id": case.id,
                    "state": case.state.value,
                    "subject": case.subject,
                    "opened": case.opened_at.isoformat(),
                    "resolved": case.resolved_at.isoformat() if case.resolved_at else None,
                    "handover_reason": case.handover_reason,
                    "agent": case.agent,
                    "summary_you_confirmed": case.summary,
                    # what the bot is waiting for from you, and your words it holds
                    "summary_not_yet_sent": case.draft_summary or None,
                    "waiting_for_you": case.conversation.value or None,
                    "your_message_waiting": case.conversation_note or None,
                    "events": [
                        {
                            "at": e.at.isoformat(),
                            "kind": e.kind.value,
                            "by": e.actor,
                            "text": e.text,
                            "data": e.data,
                        }
                        for e in events
                    ],
                }
            )
        return {"cases": cases}

    async def forget(self, customer_id: int, now: datetime) -> None:
        await self._s.exec(
            "UPDATE cases SET subject = '', summary = '', draft_summary = '',"
            " pending_reason = '', unanswered = 0, conversation = '',"
            " conversation_until = NULL, conversation_note = '', reply_to = '',"
            " state = 'resolved', resolved_at = coalesce(resolved_at, ?)"
            " WHERE customer_id = ?",
            (ts(now), customer_id),
        )

    async def merge(self, merge: Merge) -> None:
        s = self._s
        if merge.merged is not None:
            await s.exec(
                "UPDATE cases SET state = 'resolved', resolved_at = ? WHERE id = ?",
                (ts(merge.now), merge.merged),
            )
        await s.exec(
            "UPDATE cases SET customer_id = ? WHERE customer_id = ?", (merge.keep, merge.drop)
        )
