"""One SQLite transaction: a repository per aggregate, on one shared session.

The repositories of one transaction share its session (`session.py`): the
connection, the held-back writes and the memo the turn's one read fills. Plain
writes are held back (`Writes`) and reads are cut to the fewest trips to
aiosqlite's thread: at a few dozen statements a message, trips are the cost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from bot.store.sqlite.cases import SQLiteCases
from bot.store.sqlite.customers import SQLiteCustomers
from bot.store.sqlite.desk import SQLiteDeskThreads
from bot.store.sqlite.feedback import SQLiteFeedbackLog
from bot.store.sqlite.group import Writes
from bot.store.sqlite.ideas import SQLiteIdeas
from bot.store.sqlite.inbound import SQLiteInboundLog
from bot.store.sqlite.incidents import SQLiteIncidents
from bot.store.sqlite.links import SQLiteLinks
from bot.store.sqlite.notices import SQLiteNotices
from bot.store.sqlite.outbox import SQLiteOutboxRows
from bot.store.sqlite.rows import CASE_COLUMNS, EVENT_COLUMNS, case_of, event_of, iso, ts
from bot.store.sqlite.session import Session
from bot.store.sqlite.timeline import SQLiteTimeline


class SQLiteTransaction:
    """The `Transaction` protocol on an open SQLite transaction."""

    __slots__ = (
        "_s",
        "cases",
        "customers",
        "desk",
        "feedback",
        "ideas",
        "inbound",
        "incidents",
        "links",
        "notices",
        "outbox",
        "timeline",
    )

    def __init__(self, db: aiosqlite.Connection, writes: Writes) -> None:
        self._s = session = Session(db, writes)
        self.inbound = SQLiteInboundLog(session)
        self.customers = SQLiteCustomers(session)
        self.cases = SQLiteCases(session)
        self.timeline = SQLiteTimeline(session)
        self.feedback = SQLiteFeedbackLog(session)
        self.links = SQLiteLinks(session)
        self.incidents = SQLiteIncidents(session)
        self.ideas = SQLiteIdeas(session)
        self.notices = SQLiteNotices(session)
        self.outbox = SQLiteOutboxRows(session)
        self.desk = SQLiteDeskThreads(session)

    async def export_customer(self, customer_id: int) -> dict[str, Any]:
        """Everything stored about a customer that they may see (internal notes are
        the support team's own words and are left out)."""
        s = self._s
        customer = await s.one(
            "SELECT id, name, created_at, last_seen_at FROM customers WHERE id = ?",
            (customer_id,),
        )
        identities = await s.all(
            "SELECT channel, workspace, user_id, last_used_at FROM identities"
            " WHERE customer_id = ? ORDER BY channel, user_id",
            (customer_id,),
        )
        cases = await s.all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE customer_id = ? ORDER BY id",
            (customer_id,),
        )
        feedback = await s.all(
            "SELECT at, text FROM feedback WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        stamp = iso
        result: dict[str, Any] = {
            "customer": {
                "id": customer[0],
                "name": customer[1],
                "first_seen": stamp(customer[2]),
                "last_seen": stamp(customer[3]),
            }
            if customer
            else None,
            "identities": [
                {"channel": c, "workspace": w, "user_id": u, "last_used": stamp(t)}
                for c, w, u, t in identities
            ],
            "cases": [],
            "feedback": [{"at": stamp(at), "text": text} for at, text in feedback],
            "ideas_voted_for": [
                {"id": i, "text": t, "state": st}
                for i, t, st in await s.all(
                    "SELECT i.id, i.text, i.state FROM ideas i JOIN idea_votes v"
                    " ON v.idea_id = i.id WHERE v.customer_id = ? ORDER BY i.id",
                    (customer_id,),
                )
            ],
            "incidents_followed": [
                {"id": i, "title": t, "state": st}
                for i, t, st in await s.all(
                    "SELECT i.id, i.title, i.state FROM incidents i JOIN incident_subscribers s"
                    " ON s.incident_id = i.id WHERE s.customer_id = ? ORDER BY i.id",
                    (customer_id,),
                )
            ],
        }
        muted_until, until_write, quiet = await self.notices.quiet_of(customer_id)
        result["preferences"] = {
            "notices_muted_until": stamp(ts(muted_until)),
            "notices_muted_until_you_write": until_write,
            "quiet_hours": quiet,
        }
        for row in cases:
            case = case_of(row)
            events = await s.all(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ? AND kind <> 'note'"
                " ORDER BY at, id",
                (case.id,),
            )
            result["cases"].append(
                {
                    "id": case.id,
                    "state": case.state.value,
                    "subject": case.subject,
                    "opened": case.opened_at.isoformat(),
                    "resolved": case.resolved_at.isoformat() if case.resolved_at else None,
                    "handover_reason": case.handover_reason,
                    "agent": case.agent,
                    "summary_you_confirmed": case.summary,
                    "events": [
                        {
                            "at": e.at.isoformat(),
                            "kind": e.kind.value,
                            "by": e.actor,
                            "text": e.text,
                            "data": e.data,
                        }
                        for e in map(event_of, events)
                    ],
                }
            )
        return result

    async def merge_customers(
        self, keep: int, drop: int, now: datetime
    ) -> tuple[int | None, int | None]:
        """Join customer `drop` into `keep`: identities, cases, feedback. If both have
        an open case, `drop`'s history moves into `keep`'s (in time order) and its
        case is closed as merged. Returns (the open case, the case merged into it)."""
        s = self._s
        s.forget_memo()
        open_keep = await s.one(
            "SELECT id FROM cases WHERE customer_id = ? AND state <> 'resolved'", (keep,)
        )
        open_drop = await s.one(
            "SELECT id FROM cases WHERE customer_id = ? AND state <> 'resolved'", (drop,)
        )
        merged: int | None = None
        if open_keep is not None and open_drop is not None:
            into, merged = int(open_keep[0]), int(open_drop[0])
            await s.exec("UPDATE events SET case_id = ? WHERE case_id = ?", (into, merged))
            await s.exec(
                "UPDATE cases SET state = 'resolved', resolved_at = ? WHERE id = ?",
                (ts(now), merged),
            )
            await s.exec("UPDATE desk_threads SET case_id = ? WHERE case_id = ?", (into, merged))
        open_case = open_keep or open_drop
        await s.exec(
            "UPDATE OR IGNORE idea_votes SET customer_id = ? WHERE customer_id = ?", (keep, drop)
        )
        await s.exec("DELETE FROM idea_votes WHERE customer_id = ?", (drop,))
        await s.exec("UPDATE ideas SET created_by = ? WHERE created_by = ?", (keep, drop))
        await s.exec(
            "DELETE FROM incident_subscribers WHERE customer_id = ? AND incident_id IN"
            " (SELECT incident_id FROM incident_subscribers WHERE customer_id = ?)",
            (drop, keep),
        )
        await s.exec(
            "UPDATE incident_subscribers SET customer_id = ? WHERE customer_id = ?", (keep, drop)
        )
        for table in ("identities", "cases", "feedback", "outbox"):
            await s.exec(
                f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?",
                (keep, drop),
            )
        await s.exec("DELETE FROM customers WHERE id = ?", (drop,))
        return (None if open_case is None else int(open_case[0])), merged

    async def forget_customer(self, customer_id: int, now: datetime) -> list[int]:
        """Erase a customer's personal data and messages everywhere; keep anonymous
        counts (cases, their states and times, handover reasons, rating scores).
        Returns the ids of their cases."""
        s = self._s
        s.forget_memo()
        case_ids = [
            row[0]
            for row in await s.all("SELECT id FROM cases WHERE customer_id = ?", (customer_id,))
        ]
        marks = ",".join("?" * len(case_ids))
        if case_ids:
            await s.exec(
                f"DELETE FROM events WHERE case_id IN ({marks}) AND kind NOT IN"
                " ('rating', 'handover', 'claim', 'state')",
                case_ids,
            )
            await s.exec(
                f"UPDATE events SET text = '', data = json_remove(data, '$.comment')"
                f" WHERE case_id IN ({marks})",
                case_ids,
            )
            await s.exec(
                f"UPDATE events SET data = '{{}}' WHERE case_id IN ({marks}) AND kind <> 'rating'",
                case_ids,
            )
            await s.exec(f"DELETE FROM desk_threads WHERE case_id IN ({marks})", case_ids)
            await s.exec(f"DELETE FROM outbox WHERE case_id IN ({marks})", case_ids)
            await s.exec(
                "UPDATE cases SET subject = '', summary = '', draft_summary = '',"
                " pending_reason = '', unanswered = 0,"
                " state = 'resolved', resolved_at = coalesce(resolved_at, ?)"
                f" WHERE id IN ({marks})",
                [ts(now), *case_ids],
            )
        await s.exec("DELETE FROM outbox WHERE customer_id = ?", (customer_id,))
        await s.exec("DELETE FROM identities WHERE customer_id = ?", (customer_id,))
        await s.exec("DELETE FROM feedback WHERE customer_id = ?", (customer_id,))
        # an idea only they wanted goes; one others voted for stays, without its author
        await s.exec(
            "DELETE FROM ideas WHERE created_by = ? AND NOT EXISTS (SELECT 1 FROM idea_votes"
            " WHERE idea_id = ideas.id AND customer_id <> ?)",
            (customer_id, customer_id),
        )
        await s.exec("DELETE FROM idea_votes WHERE customer_id = ?", (customer_id,))
        await s.exec("DELETE FROM incident_subscribers WHERE customer_id = ?", (customer_id,))
        await s.exec("DELETE FROM link_codes WHERE customer_id = ?", (customer_id,))
        await s.exec("DELETE FROM link_failures WHERE customer_id = ?", (customer_id,))
        await s.exec(
            "UPDATE customers SET name = '', forgotten_at = ?, muted_until = NULL,"
            " muted_until_write = 0, quiet_hours = '' WHERE id = ?",
            (ts(now), customer_id),
        )
        return case_ids
