"""One SQLite transaction: everything a turn (or a delivery) reads and writes.

Plain writes are held back (`Writes`) and reads are cut to the fewest trips to
aiosqlite's thread: at a few dozen statements a message, trips are the cost.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from bot.model import (
    Address,
    Case,
    CaseState,
    Customer,
    Event,
    EventKind,
    Idea,
    Identity,
    Incident,
    Outbound,
)
from bot.store.sqlite.group import NEW_CASES, NEW_CUSTOMERS, Writes
from bot.store.sqlite.rows import (
    CASE_COLUMNS,
    CUSTOMER_COLUMNS,
    EVENT_COLUMNS,
    address_json,
    address_of,
    case_of,
    customer_of,
    digest,
    dt,
    event_of,
    iso,
    ts,
    utc,
)

# How much of the latest case's timeline a turn reads with the customer: enough for
# what a turn looks back on (the last answer, a repeated question, a rating).
_KEPT_EVENTS = 30
# A customer's unresolved case, else the one resolved last.
_LATEST_CASE = (
    "SELECT id FROM cases WHERE customer_id = {customer} ORDER BY state = 'resolved',"
    " coalesce(resolved_at, opened_at) DESC, id DESC LIMIT 1"
)


# One trip reads what every turn needs: whether the inbound was seen before, whether
# any incident is open, the customer
# behind an identity, their notice settings, the end of their latest case's timeline
# (as JSON, times as text so that they come back exact) and that case. A stranger
# gets a row too (of NULLs but the first).
_TURN_CONTEXT = (
    "SELECT EXISTS (SELECT 1 FROM inbound_seen WHERE channel = ? AND key = ?),"
    " (SELECT count(*) FROM incidents WHERE state = 'open'),"
    f" {CUSTOMER_COLUMNS}, c.muted_until, c.muted_until_write, c.quiet_hours,"
    " (SELECT json_group_array(json_array(e.id, printf('%.6f', e.at), e.kind, e.actor,"
    " e.text, json(e.data))) FROM (SELECT * FROM events WHERE case_id = k.id"
    f" ORDER BY at DESC, id DESC LIMIT {_KEPT_EVENTS}) AS e),"
    f" {', '.join('k.' + column.strip() for column in CASE_COLUMNS.split(','))}"
    " FROM (SELECT 1) LEFT JOIN identities i ON i.channel = ? AND i.workspace = ?"
    " AND i.user_id = ? LEFT JOIN customers c ON c.id = i.customer_id"
    f" LEFT JOIN cases k ON k.id = ({_LATEST_CASE.format(customer='c.id')})"
)


class SQLiteTransaction:
    """The `Transaction` protocol on an open SQLite transaction."""

    def __init__(self, db: aiosqlite.Connection, writes: Writes) -> None:
        self._db = db
        self._writes = writes
        # What `customer_for` read along with the customer, kept until this
        # transaction writes it: a turn reads them all, and each read is a trip.
        self._latest: dict[int, Case | None] = {}
        self._quiet: dict[int, tuple[datetime | None, bool, str]] = {}
        self._no_incidents = False
        # case → its latest events in order, and whether they are all of them
        self._timelines: dict[int, tuple[list[Event], bool]] = {}

    def _forget_memo(self) -> None:
        self._latest.clear()
        self._quiet.clear()
        self._timelines.clear()

    # Each call is one trip to aiosqlite's thread (a cursor and its fetch and close
    # would be three): at a few dozen statements a message, trips are the cost.
    # Anything that goes to SQLite at once sends the held-back writes first.
    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        await self._writes.flush(self._db)
        rows = await self._db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        await self._writes.flush(self._db)
        return list(await self._db.execute_fetchall(sql, params))

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        await self._writes.flush(self._db)
        return await self._db.execute(sql, params)

    async def _new_id(self, table: str) -> int:
        return self._writes.take_id(table) or await self._writes.new_id(self._db, table)

    async def _insert(self, sql: str, params: Sequence[Any]) -> int:
        cursor = await self._exec(sql, params)
        row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    async def first_seen(self, channel: str, key: str, now: datetime) -> bool:
        cursor = await self._exec(
            "INSERT OR IGNORE INTO inbound_seen (channel, key, at) VALUES (?, ?, ?)",
            (channel, digest(key), ts(now)),
        )
        return cursor.rowcount == 1

    # -- customers --------------------------------------------------------------------

    async def arrive(
        self, key: str, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool] | None:
        return await self._customer_for(identity, name, address, now, seen=digest(key))

    async def customer_for(
        self, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool]:
        found = await self._customer_for(identity, name, address, now, seen=None)
        assert found is not None
        return found

    async def _customer_for(
        self, identity: Identity, name: str, address: Address, now: datetime, seen: str | None
    ) -> tuple[Customer, bool] | None:
        key = (identity.channel, identity.workspace, identity.user_id)
        row = await self._one(_TURN_CONTEXT, (identity.channel, seen or "", *key))
        if seen is not None:
            if row[0]:
                return None
            # Held back like the turn's other writes. Not OR IGNORE: one identity's turns
            # run one after another, so a clash means the same event in two groups at
            # once, and the failing group's turns run again and find it seen.
            self._writes.hold(
                "INSERT INTO inbound_seen (channel, key, at) VALUES (?, ?, ?)",
                (identity.channel, seen, ts(now)),
            )
        row = row[1:]
        self._no_incidents = row[0] == 0
        if row[1] is not None:
            customer = customer_of(row[1:])
            self._quiet[customer.id] = (dt(row[5]), bool(row[6]), str(row[7]))
            latest = None if row[9] is None else case_of(row[9:])
            self._latest[customer.id] = latest
            if latest is not None:
                events = sorted(
                    (
                        Event(e[0], latest.id, utc(float(e[1])), EventKind(e[2]), e[3], e[4], e[5])
                        for e in json.loads(row[8])
                    ),
                    key=lambda e: (e.at, e.id),
                )
                self._timelines[latest.id] = (events, len(events) < _KEPT_EVENTS)
            self._writes.hold(
                "UPDATE identities SET address = ?, last_used_at = ? WHERE channel = ?"
                " AND workspace = ? AND user_id = ?",
                (address_json(address), ts(now), *key),
            )
            if name and name != customer.name:
                await self._exec("UPDATE customers SET name = ? WHERE id = ?", (name, customer.id))
                customer = Customer(customer.id, name, customer.created_at, customer.last_seen_at)
            return customer, False
        customer_id = await self._new_id("customers")
        self._writes.hold(
            "INSERT INTO customers (id, name, created_at) VALUES (?, ?, ?)",
            (customer_id, name, ts(now)),
            rank=NEW_CUSTOMERS,
        )
        self._writes.hold(
            "INSERT INTO identities (channel, workspace, user_id, customer_id, address,"
            " last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
            (*key, customer_id, address_json(address), ts(now)),
        )
        self._latest[customer_id] = None
        self._quiet[customer_id] = (None, False, "")
        return Customer(customer_id, name, now, None), True

    async def customer(self, customer_id: int) -> Customer | None:
        row = await self._one(
            f"SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.id = ?", (customer_id,)
        )
        return None if row is None else customer_of(row)

    async def touch_customer(self, customer_id: int, now: datetime) -> None:
        self._writes.hold(
            "UPDATE customers SET last_seen_at = ? WHERE id = ?", (ts(now), customer_id)
        )

    async def address_of(self, customer_id: int) -> Address | None:
        row = await self._one(
            "SELECT address FROM identities WHERE customer_id = ?"
            " ORDER BY last_used_at DESC LIMIT 1",
            (customer_id,),
        )
        return None if row is None else address_of(row[0])

    # -- cases ----------------------------------------------------------------------------

    async def latest_case(self, customer_id: int) -> Case | None:
        if customer_id in self._latest:
            return self._latest[customer_id]
        row = await self._one(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ({_LATEST_CASE.format(customer='?')})",
            (customer_id,),
        )
        return None if row is None else case_of(row)

    async def new_case(self, customer_id: int, now: datetime) -> Case:
        self._latest.pop(customer_id, None)
        case_id = await self._new_id("cases")
        self._writes.hold(
            "INSERT INTO cases (id, customer_id, state, opened_at, updated_at)"
            " VALUES (?, ?, 'bot', ?, ?)",
            (case_id, customer_id, ts(now), ts(now)),
            rank=NEW_CASES,
        )
        self._timelines[case_id] = ([], True)
        return Case(case_id, customer_id, CaseState.BOT, "", now, now)

    async def case(self, case_id: int) -> Case | None:
        row = await self._one(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
        return None if row is None else case_of(row)

    async def update_case(self, case: Case) -> None:
        self._latest.pop(case.customer_id, None)
        self._writes.hold(
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
        row = await self._one(
            "SELECT count(*) FROM cases WHERE state = 'waiting'"
            " AND (handed_over_at < ? OR (handed_over_at = ? AND id <= ?))",
            (ts(case.handed_over_at), ts(case.handed_over_at), case.id),
        )
        return int(row[0])

    async def queue(self) -> list[Case]:
        rows = await self._all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE state IN ('waiting', 'agent')"
            " ORDER BY state = 'agent', handed_over_at, id"
        )
        return [case_of(row) for row in rows]

    async def recent_waits(self, limit: int = 20) -> list[float]:
        rows = await self._all(
            "SELECT claimed_at - handed_over_at FROM cases WHERE claimed_at IS NOT NULL"
            " AND handed_over_at IS NOT NULL AND claimed_at >= handed_over_at"
            " ORDER BY claimed_at DESC LIMIT ?",
            (limit,),
        )
        return [float(row[0]) for row in rows]

    async def overdue(self, waiting_since: datetime, alerted_before: datetime) -> list[Case]:
        rows = await self._all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE state = 'waiting' AND handed_over_at < ?"
            " AND (alerted_at IS NULL OR alerted_at < ?) ORDER BY handed_over_at",
            (ts(waiting_since), ts(alerted_before)),
        )
        return [case_of(row) for row in rows]

    # -- timelines --------------------------------------------------------------------------

    async def append(
        self,
        case_id: int,
        kind: EventKind,
        actor: str,
        text: str,
        now: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        payload = dict(data or {})
        raw = json.dumps(payload, ensure_ascii=False) if payload else "{}"
        event_id = await self._new_id("events")
        self._writes.hold(
            "INSERT INTO events (id, case_id, at, kind, actor, text, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event_id, case_id, ts(now), kind.value, actor, text, raw),
        )
        kept = self._timelines.get(case_id)
        if kept is not None:  # as a read would return it
            at = utc(now.timestamp())
            stored = Event(
                event_id, case_id, at, kind, actor, text, json.loads(raw) if payload else {}
            )
            bisect.insort(kept[0], stored, key=lambda e: (e.at, e.id))
        return Event(event_id, case_id, now, kind, actor, text, payload)

    async def timeline(self, case_id: int, limit: int = 50) -> list[Event]:
        kept = self._timelines.get(case_id)
        if kept is not None and (kept[1] or len(kept[0]) >= limit):
            return kept[0][-limit:]
        rows = await self._all(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ?"
            " ORDER BY at DESC, id DESC LIMIT ?",
            (case_id, limit),
        )
        events = [event_of(row) for row in reversed(rows)]
        self._timelines[case_id] = (events, len(rows) < limit)
        return events[:]

    # -- desk threads --------------------------------------------------------------------------

    async def map_thread(self, address: Address, case_id: int, *, card: bool = False) -> None:
        await self._exec(
            "INSERT INTO desk_threads (channel, chat_id, thread_id, case_id, is_card)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id, thread_id) DO UPDATE SET"
            " is_card = CASE WHEN excluded.case_id = case_id"
            " THEN max(is_card, excluded.is_card) ELSE excluded.is_card END,"
            " case_id = excluded.case_id",
            (address.channel, address.chat_id, address.thread_id, case_id, int(card)),
        )

    async def case_for_thread(self, address: Address) -> int | None:
        row = await self._one(
            "SELECT case_id FROM desk_threads WHERE channel = ? AND chat_id = ? AND thread_id = ?",
            (address.channel, address.chat_id, address.thread_id),
        )
        return None if row is None else int(row[0])

    async def thread_of(self, channel: str, chat_id: str, case_id: int) -> str | None:
        row = await self._one(
            "SELECT thread_id FROM desk_threads WHERE channel = ? AND chat_id = ? AND case_id = ?"
            " AND is_card = 1 ORDER BY rowid DESC LIMIT 1",
            (channel, chat_id, case_id),
        )
        return None if row is None else str(row[0])

    # -- the customer's voice and data ----------------------------------------------------------

    async def add_feedback(
        self, customer_id: int, case_id: int | None, text: str, now: datetime
    ) -> int:
        return await self._insert(
            "INSERT INTO feedback (customer_id, case_id, at, text) VALUES (?, ?, ?, ?)",
            (customer_id, case_id, ts(now), text),
        )

    async def customer_data(self, customer_id: int) -> dict[str, Any]:
        """Everything stored about a customer that they may see (internal notes are
        the support team's own words and are left out)."""
        customer = await self._one(
            "SELECT id, name, created_at, last_seen_at FROM customers WHERE id = ?",
            (customer_id,),
        )
        identities = await self._all(
            "SELECT channel, workspace, user_id, last_used_at FROM identities"
            " WHERE customer_id = ? ORDER BY channel, user_id",
            (customer_id,),
        )
        cases = await self._all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE customer_id = ? ORDER BY id",
            (customer_id,),
        )
        feedback = await self._all(
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
                for i, t, st in await self._all(
                    "SELECT i.id, i.text, i.state FROM ideas i JOIN idea_votes v"
                    " ON v.idea_id = i.id WHERE v.customer_id = ? ORDER BY i.id",
                    (customer_id,),
                )
            ],
            "incidents_followed": [
                {"id": i, "title": t, "state": st}
                for i, t, st in await self._all(
                    "SELECT i.id, i.title, i.state FROM incidents i JOIN incident_subscribers s"
                    " ON s.incident_id = i.id WHERE s.customer_id = ? ORDER BY i.id",
                    (customer_id,),
                )
            ],
        }
        muted_until, until_write, quiet = await self.quiet_of(customer_id)
        result["preferences"] = {
            "notices_muted_until": stamp(ts(muted_until)),
            "notices_muted_until_you_write": until_write,
            "quiet_hours": quiet,
        }
        for row in cases:
            case = case_of(row)
            events = await self._all(
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

    # -- linking identities -----------------------------------------------------------------------

    async def add_link_code(
        self, customer_id: int, code: str, now: datetime, expires: datetime
    ) -> None:
        await self._exec("DELETE FROM link_codes WHERE customer_id = ?", (customer_id,))
        await self._exec(
            "INSERT INTO link_codes (code_digest, customer_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (digest(code), customer_id, ts(now), ts(expires)),
        )

    async def take_link_code(self, code: str, now: datetime) -> int | None:
        """The customer who asked for this code, once: a used or expired code is gone."""
        await self._exec("DELETE FROM link_codes WHERE expires_at < ?", (ts(now),))
        row = await self._one(
            "SELECT customer_id FROM link_codes WHERE code_digest = ?", (digest(code),)
        )
        if row is None:
            return None
        await self._exec("DELETE FROM link_codes WHERE code_digest = ?", (digest(code),))
        return int(row[0])

    async def link_failures(self, customer_id: int, since: datetime) -> int:
        row = await self._one(
            "SELECT count(*) FROM link_failures WHERE customer_id = ? AND at >= ?",
            (customer_id, ts(since)),
        )
        return int(row[0])

    async def add_link_failure(self, customer_id: int, now: datetime) -> None:
        await self._exec(
            "INSERT INTO link_failures (customer_id, at) VALUES (?, ?)", (customer_id, ts(now))
        )

    async def merge_customers(
        self, keep: int, drop: int, now: datetime
    ) -> tuple[int | None, int | None]:
        """Join customer `drop` into `keep`: identities, cases, feedback. If both have
        an open case, `drop`'s history moves into `keep`'s (in time order) and its
        case is closed as merged. Returns (the open case, the case merged into it)."""
        self._forget_memo()
        open_keep = await self._one(
            "SELECT id FROM cases WHERE customer_id = ? AND state <> 'resolved'", (keep,)
        )
        open_drop = await self._one(
            "SELECT id FROM cases WHERE customer_id = ? AND state <> 'resolved'", (drop,)
        )
        merged: int | None = None
        if open_keep is not None and open_drop is not None:
            into, merged = int(open_keep[0]), int(open_drop[0])
            await self._exec("UPDATE events SET case_id = ? WHERE case_id = ?", (into, merged))
            await self._exec(
                "UPDATE cases SET state = 'resolved', resolved_at = ? WHERE id = ?",
                (ts(now), merged),
            )
            await self._exec(
                "UPDATE desk_threads SET case_id = ? WHERE case_id = ?", (into, merged)
            )
        open_case = open_keep or open_drop
        await self._exec(
            "UPDATE OR IGNORE idea_votes SET customer_id = ? WHERE customer_id = ?", (keep, drop)
        )
        await self._exec("DELETE FROM idea_votes WHERE customer_id = ?", (drop,))
        await self._exec("UPDATE ideas SET created_by = ? WHERE created_by = ?", (keep, drop))
        await self._exec(
            "DELETE FROM incident_subscribers WHERE customer_id = ? AND incident_id IN"
            " (SELECT incident_id FROM incident_subscribers WHERE customer_id = ?)",
            (drop, keep),
        )
        await self._exec(
            "UPDATE incident_subscribers SET customer_id = ? WHERE customer_id = ?", (keep, drop)
        )
        for table in ("identities", "cases", "feedback", "outbox"):
            await self._exec(
                f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?",
                (keep, drop),
            )
        await self._exec("DELETE FROM customers WHERE id = ?", (drop,))
        return (None if open_case is None else int(open_case[0])), merged

    # -- incidents ---------------------------------------------------------------------------------

    async def open_incident(
        self, title: str, affected: str, words: Sequence[str], author: str, now: datetime
    ) -> int:
        self._no_incidents = False
        return await self._insert(
            "INSERT INTO incidents (title, affected, words, opened_by, opened_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (title, affected, json.dumps(list(words), ensure_ascii=False), author, ts(now)),
        )

    async def incident(self, incident_id: int) -> Incident | None:
        rows = await self._incidents("WHERE i.id = ?", (incident_id,))
        return rows[0] if rows else None

    async def open_incidents(self) -> list[Incident]:
        if self._no_incidents:
            return []
        return await self._incidents("WHERE i.state = 'open'", ())

    async def _incidents(self, where: str, params: Sequence[Any]) -> list[Incident]:
        rows = await self._all(
            "SELECT i.id, i.title, i.affected, i.words, i.state, i.opened_by, i.opened_at,"
            " i.resolved_at, u.text, u.at FROM incidents i LEFT JOIN incident_updates u"
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
                state=r[4],
                opened_by=r[5],
                opened_at=utc(r[6]),
                resolved_at=dt(r[7]),
                latest=r[8] or "",
                latest_at=dt(r[9]),
            )
            for r in rows
        ]

    async def add_incident_update(
        self, incident_id: int, author: str, text: str, now: datetime, *, resolve: bool = False
    ) -> None:
        self._no_incidents = False
        await self._exec(
            "INSERT INTO incident_updates (incident_id, at, author, text) VALUES (?, ?, ?, ?)",
            (incident_id, ts(now), author, text),
        )
        if resolve:
            await self._exec(
                "UPDATE incidents SET state = 'resolved', resolved_at = ? WHERE id = ?",
                (ts(now), incident_id),
            )

    async def subscribe(self, incident_id: int, customer_id: int, now: datetime) -> bool:
        """True if newly subscribed."""
        cursor = await self._exec(
            "INSERT OR IGNORE INTO incident_subscribers (incident_id, customer_id, at)"
            " VALUES (?, ?, ?)",
            (incident_id, customer_id, ts(now)),
        )
        return cursor.rowcount == 1

    async def subscribers(self, incident_id: int) -> list[int]:
        rows = await self._all(
            "SELECT customer_id FROM incident_subscribers WHERE incident_id = ?"
            " ORDER BY customer_id",
            (incident_id,),
        )
        return [int(r[0]) for r in rows]

    async def subscriptions(self, customer_id: int) -> list[int]:
        rows = await self._all(
            "SELECT incident_id FROM incident_subscribers WHERE customer_id = ?", (customer_id,)
        )
        return [int(r[0]) for r in rows]

    # -- ideas ------------------------------------------------------------------------------

    async def add_idea(self, customer_id: int, text: str, now: datetime) -> int:
        number = await self._insert(
            "INSERT INTO ideas (text, created_by, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (text, customer_id, ts(now), ts(now)),
        )
        await self.vote(number, customer_id, now)
        return number

    async def vote(self, idea_id: int, customer_id: int, now: datetime) -> bool:
        """True if this is a new vote."""
        cursor = await self._exec(
            "INSERT OR IGNORE INTO idea_votes (idea_id, customer_id, at) VALUES (?, ?, ?)",
            (idea_id, customer_id, ts(now)),
        )
        return cursor.rowcount == 1

    async def ideas(self, limit: int = 10, *, include_done: bool = False) -> list[Idea]:
        where = "" if include_done else "WHERE i.state <> 'done'"
        rows = await self._all(
            "SELECT i.id, i.text, i.state, i.note, count(v.customer_id) AS votes FROM ideas i"
            f" LEFT JOIN idea_votes v ON v.idea_id = i.id {where} GROUP BY i.id"
            " ORDER BY votes DESC, i.id LIMIT ?",
            (limit,),
        )
        return [Idea(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def idea(self, idea_id: int) -> Idea | None:
        row = await self._one(
            "SELECT i.id, i.text, i.state, i.note, (SELECT count(*) FROM idea_votes"
            " WHERE idea_id = i.id) FROM ideas i WHERE i.id = ?",
            (idea_id,),
        )
        return None if row is None else Idea(row[0], row[1], row[2], row[3], row[4])

    async def set_idea_state(self, idea_id: int, state: str, note: str, now: datetime) -> None:
        await self._exec(
            "UPDATE ideas SET state = ?, note = ?, updated_at = ? WHERE id = ?",
            (state, note, ts(now), idea_id),
        )

    async def voters(self, idea_id: int) -> list[int]:
        rows = await self._all(
            "SELECT customer_id FROM idea_votes WHERE idea_id = ? ORDER BY customer_id",
            (idea_id,),
        )
        return [int(r[0]) for r in rows]

    async def votes_of(self, customer_id: int) -> list[int]:
        rows = await self._all(
            "SELECT idea_id FROM idea_votes WHERE customer_id = ?", (customer_id,)
        )
        return [int(r[0]) for r in rows]

    # -- quiet ------------------------------------------------------------------------------

    async def set_quiet(
        self,
        customer_id: int,
        *,
        muted_until: datetime | None,
        until_write: bool,
        quiet_hours: str | None = None,
    ) -> None:
        self._quiet.pop(customer_id, None)
        await self._exec(
            "UPDATE customers SET muted_until = ?, muted_until_write = ? WHERE id = ?",
            (ts(muted_until), int(until_write), customer_id),
        )
        if quiet_hours is not None:
            await self._exec(
                "UPDATE customers SET quiet_hours = ? WHERE id = ?", (quiet_hours, customer_id)
            )

    async def quiet_of(self, customer_id: int) -> tuple[datetime | None, bool, str]:
        if customer_id in self._quiet:
            return self._quiet[customer_id]
        row = await self._one(
            "SELECT muted_until, muted_until_write, quiet_hours FROM customers WHERE id = ?",
            (customer_id,),
        )
        if row is None:
            return None, False, ""
        return dt(row[0]), bool(row[1]), str(row[2])

    async def hold(self, message_id: int, until: datetime) -> None:
        """A notice waits (muted, quiet hours); unlike a retry it costs no attempt."""
        await self._exec("UPDATE outbox SET not_before = ? WHERE id = ?", (ts(until), message_id))

    async def release_notices(self, customer_id: int, now: datetime) -> int:
        cursor = await self._exec(
            "UPDATE outbox SET not_before = ? WHERE customer_id = ? AND state = 'pending'"
            " AND cause IN ('incident', 'idea') AND not_before > ?",
            (ts(now), customer_id, ts(now)),
        )
        return cursor.rowcount

    async def drop(self, message_id: int) -> None:
        """Remove a delivered outbox row that must not be kept (it names someone)."""
        await self._exec("DELETE FROM outbox WHERE id = ?", (message_id,))

    async def forget(self, customer_id: int, now: datetime) -> list[int]:
        """Erase a customer's personal data and messages everywhere; keep anonymous
        counts (cases, their states and times, handover reasons, rating scores).
        Returns the ids of their cases."""
        self._forget_memo()
        case_ids = [
            row[0]
            for row in await self._all("SELECT id FROM cases WHERE customer_id = ?", (customer_id,))
        ]
        marks = ",".join("?" * len(case_ids))
        if case_ids:
            await self._exec(
                f"DELETE FROM events WHERE case_id IN ({marks}) AND kind NOT IN"
                " ('rating', 'handover', 'claim', 'state')",
                case_ids,
            )
            await self._exec(
                f"UPDATE events SET text = '', data = json_remove(data, '$.comment')"
                f" WHERE case_id IN ({marks})",
                case_ids,
            )
            await self._exec(
                f"UPDATE events SET data = '{{}}' WHERE case_id IN ({marks}) AND kind <> 'rating'",
                case_ids,
            )
            await self._exec(f"DELETE FROM desk_threads WHERE case_id IN ({marks})", case_ids)
            await self._exec(f"DELETE FROM outbox WHERE case_id IN ({marks})", case_ids)
            await self._exec(
                "UPDATE cases SET subject = '', summary = '', draft_summary = '',"
                " pending_reason = '', unanswered = 0,"
                " state = 'resolved', resolved_at = coalesce(resolved_at, ?)"
                f" WHERE id IN ({marks})",
                [ts(now), *case_ids],
            )
        await self._exec("DELETE FROM outbox WHERE customer_id = ?", (customer_id,))
        await self._exec("DELETE FROM identities WHERE customer_id = ?", (customer_id,))
        await self._exec("DELETE FROM feedback WHERE customer_id = ?", (customer_id,))
        # an idea only they wanted goes; one others voted for stays, without its author
        await self._exec(
            "DELETE FROM ideas WHERE created_by = ? AND NOT EXISTS (SELECT 1 FROM idea_votes"
            " WHERE idea_id = ideas.id AND customer_id <> ?)",
            (customer_id, customer_id),
        )
        await self._exec("DELETE FROM idea_votes WHERE customer_id = ?", (customer_id,))
        await self._exec("DELETE FROM incident_subscribers WHERE customer_id = ?", (customer_id,))
        await self._exec("DELETE FROM link_codes WHERE customer_id = ?", (customer_id,))
        await self._exec("DELETE FROM link_failures WHERE customer_id = ?", (customer_id,))
        await self._exec(
            "UPDATE customers SET name = '', forgotten_at = ?, muted_until = NULL,"
            " muted_until_write = 0, quiet_hours = '' WHERE id = ?",
            (ts(now), customer_id),
        )
        return case_ids

    # -- the outbox -------------------------------------------------------------------------------

    async def enqueue(self, message: Outbound, now: datetime) -> int:
        message_id = await self._new_id("outbox")
        self._writes.hold(
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
                json.dumps(dict(message.meta), ensure_ascii=False) if message.meta else "{}",
                ts(now),
            ),
        )
        return message_id

    async def mark_sent(self, message_id: int, platform_id: str, now: datetime) -> None:
        await self._exec(
            "UPDATE outbox SET state = 'sent', sent_at = ?, platform_id = ?,"
            " attempts = attempts + 1, error = '' WHERE id = ?",
            (ts(now), platform_id, message_id),
        )

    async def mark_retry(self, message_id: int, not_before: datetime, error: str) -> None:
        await self._exec(
            "UPDATE outbox SET attempts = attempts + 1, not_before = ?, error = ? WHERE id = ?",
            (ts(not_before), error[:500], message_id),
        )

    async def mark_failed(self, message_id: int, error: str, now: datetime) -> None:
        await self._exec(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, error = ?,"
            " sent_at = ? WHERE id = ?",
            (error[:500], ts(now), message_id),
        )
