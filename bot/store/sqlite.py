"""The embedded store: one SQLite file through one long-lived aiosqlite connection.

WAL, foreign keys on, migrations from `migrations/NNN_*.sql` applied in order and
recorded in `PRAGMA user_version`. Every access takes one lock: a read never sees
another coroutine's uncommitted transaction on the shared connection. The lock is
held by one transaction of one's own (`transaction()`) or by one group of turns
that commit together (`shared()`, group commit): the cost of a message is mostly
trips to aiosqlite's thread, and a group lets one turn's trip overlap another's
Python, with one COMMIT for all.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.model import (
    Address,
    Button,
    Case,
    CaseState,
    Cause,
    Conversation,
    Customer,
    Delivery,
    Event,
    EventKind,
    Idea,
    Identity,
    Incident,
    Outbound,
)
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database cannot be used (unreadable, newer than this code, disk full…)."""


class GroupAborted(Exception):
    """The group commit a caller joined was rolled back, because another member or the
    commit failed: nothing of the caller's was stored, and it may run again alone."""


class _Group:
    """One transaction shared by the turns that joined it, committed when all are done."""

    def __init__(self) -> None:
        self.members = 0  # turns inside, or waiting for the BEGIN
        self.joined = 0
        self.open = True  # new turns may still join
        self.failed = False  # a member raised: roll everything back
        self.writes = _Writes()  # the members' held-back writes
        self.begun = asyncio.Event()
        self.idle = asyncio.Event()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a member cancelled while waiting must not leave an exception nobody read
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())

    def finish(self, error: BaseException | None) -> None:
        self.open = False
        self.begun.set()
        if not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _iso(value: float | None) -> str | None:
    return None if value is None else _at(value).isoformat()


def _at(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("bot.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def digest(key: str) -> str:
    """What the dedupe log keeps of a platform's event id."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def address_json(address: Address) -> str:
    return json.dumps([address.channel, address.chat_id, address.thread_id])


def _address(raw: str) -> Address:
    channel, chat_id, thread_id = json.loads(raw)
    return Address(channel, chat_id, thread_id)


_CASE_COLUMNS = (
    "id, customer_id, state, subject, opened_at, updated_at, handover_reason, handed_over_at,"
    " agent, claimed_at, resolved_at, summary, draft_summary, pending_reason, unanswered,"
    " alerted_at, conversation, conversation_until, conversation_note"
)
_OUTBOX_COLUMNS = "id, address, customer_id, case_id, cause, text, buttons, meta, attempts"
_EVENT_COLUMNS = "id, case_id, at, kind, actor, text, data"
_CUSTOMER_COLUMNS = "c.id, c.name, c.created_at, c.last_seen_at"
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
    f" {_CUSTOMER_COLUMNS}, c.muted_until, c.muted_until_write, c.quiet_hours,"
    " (SELECT json_group_array(json_array(e.id, printf('%.6f', e.at), e.kind, e.actor,"
    " e.text, json(e.data))) FROM (SELECT * FROM events WHERE case_id = k.id"
    f" ORDER BY at DESC, id DESC LIMIT {_KEPT_EVENTS}) AS e),"
    f" {', '.join('k.' + column.strip() for column in _CASE_COLUMNS.split(','))}"
    " FROM (SELECT 1) LEFT JOIN identities i ON i.channel = ? AND i.workspace = ?"
    " AND i.user_id = ? LEFT JOIN customers c ON c.id = i.customer_id"
    f" LEFT JOIN cases k ON k.id = ({_LATEST_CASE.format(customer='c.id')})"
)


def _case(row: Sequence[Any]) -> Case:
    return Case(
        id=row[0],
        customer_id=row[1],
        state=CaseState(row[2]),
        subject=row[3],
        opened_at=_at(row[4]),
        updated_at=_at(row[5]),
        handover_reason=row[6],
        handed_over_at=_dt(row[7]),
        agent=row[8],
        claimed_at=_dt(row[9]),
        resolved_at=_dt(row[10]),
        summary=row[11],
        draft_summary=row[12],
        pending_reason=row[13],
        unanswered=row[14],
        alerted_at=_dt(row[15]),
        conversation=Conversation(row[16]),
        conversation_until=_dt(row[17]),
        conversation_note=row[18],
    )


def _event(row: Sequence[Any]) -> Event:
    return Event(row[0], row[1], _at(row[2]), EventKind(row[3]), row[4], row[5], json.loads(row[6]))


def _outbound(row: Sequence[Any]) -> Outbound:
    return Outbound(
        id=row[0],
        address=_address(row[1]),
        customer_id=row[2],
        case_id=row[3],
        cause=Cause(row[4]),
        text=row[5],
        buttons=tuple(Button(label, payload) for label, payload in json.loads(row[6])),
        delivery=Delivery.from_json(json.loads(row[7])),
        attempts=row[8],
    )


def _customer(row: Sequence[Any]) -> Customer:
    return Customer(id=row[0], name=row[1], created_at=_at(row[2]), last_seen_at=_dt(row[3]))


# The tables whose new rows are held back, numbered by `_Writes`.
_NUMBERED = ("customers", "cases", "events", "outbox")
# The order held-back statements go in: new customers, new cases, the rest.
NEW_CUSTOMERS, NEW_CASES, OTHER_ROWS = 0, 1, 2


class _Writes:
    """Writes that nothing reads before the commit, held back and sent together.

    A transaction (or a whole group of turns) hands its plain writes here: new
    customers, cases, events and outbox rows, case updates, last-seen times. They
    go to SQLite just before anything else does (a read sees every earlier write)
    and before the COMMIT, one `executemany` per statement: for a group, a few
    trips in all instead of several per turn. New customers go first, then new
    cases, since other rows refer to them; then the other statements in the order
    each first came, and the rows of one statement in theirs. So only writes that
    no other held-back write depends on in another way may be held back: a new case
    is only ever opened for a customer with no open one (which the one-open-case
    index would otherwise refuse, before the held update that closed it). Should a
    statement be refused all the same, the group is rolled back and its turns run
    again alone, where the refusal is that turn's own.

    New rows need their ids at once (turns refer to them), so ids are handed out
    here: the transaction holds SQLite's write lock from BEGIN, so no other
    connection can take the next ids meanwhile.
    """

    def __init__(self) -> None:
        # by rank (new customers, then new cases, which other rows refer to, then the
        # rest): statement → rows, statements in the order each first came
        self._held: tuple[dict[str, list[Sequence[Any]]], ...] = ({}, {}, {})
        self._next: dict[str, int] = {}
        self._lock = asyncio.Lock()

    def hold(self, sql: str, params: Sequence[Any], *, rank: int = OTHER_ROWS) -> None:
        self._held[rank].setdefault(sql, []).append(params)

    async def flush(self, db: aiosqlite.Connection) -> None:
        """Send what is held; returns once that, and any flush already under way
        (which may carry the caller's own rows), is written."""
        if not any(self._held) and not self._lock.locked():
            return
        async with self._lock:
            await self._flush(db)

    async def _flush(self, db: aiosqlite.Connection) -> None:
        held, self._held = self._held, ({}, {}, {})
        for statements in held:
            for sql, rows in statements.items():
                if len(rows) == 1:
                    await db.execute(sql, rows[0])
                else:
                    await db.executemany(sql, rows)

    def take_id(self, table: str) -> int:
        """The table's next id, or 0 if `new_id` must first find where ids stand."""
        new = self._next.get(table, 0)
        if new:
            self._next[table] = new + 1
        return new

    async def know_ids(self, db: aiosqlite.Connection) -> None:
        """Find where ids stand at once (a group's members would all ask together)."""
        rows = await db.execute_fetchall(
            "SELECT " + ", ".join(f"(SELECT max(id) FROM {table})" for table in _NUMBERED)
        )
        for table, highest in zip(_NUMBERED, next(iter(rows)), strict=True):
            self._next[table] = int(highest or 0) + 1

    async def new_id(self, db: aiosqlite.Connection, table: str) -> int:
        if table not in self._next:
            async with self._lock:
                if table not in self._next:
                    await self._flush(db)
                    rows = await db.execute_fetchall(f"SELECT max(id) FROM {table}")
                    self._next[table] = int(next(iter(rows))[0] or 0) + 1
        new = self._next[table]
        self._next[table] = new + 1
        return new


class SQLiteTransaction:
    """The `Transaction` protocol on an open SQLite transaction."""

    def __init__(self, db: aiosqlite.Connection, writes: _Writes) -> None:
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
            (channel, digest(key), _ts(now)),
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
                (identity.channel, seen, _ts(now)),
            )
        row = row[1:]
        self._no_incidents = row[0] == 0
        if row[1] is not None:
            customer = _customer(row[1:])
            self._quiet[customer.id] = (_dt(row[5]), bool(row[6]), str(row[7]))
            latest = None if row[9] is None else _case(row[9:])
            self._latest[customer.id] = latest
            if latest is not None:
                events = sorted(
                    (
                        Event(e[0], latest.id, _at(float(e[1])), EventKind(e[2]), e[3], e[4], e[5])
                        for e in json.loads(row[8])
                    ),
                    key=lambda e: (e.at, e.id),
                )
                self._timelines[latest.id] = (events, len(events) < _KEPT_EVENTS)
            self._writes.hold(
                "UPDATE identities SET address = ?, last_used_at = ? WHERE channel = ?"
                " AND workspace = ? AND user_id = ?",
                (address_json(address), _ts(now), *key),
            )
            if name and name != customer.name:
                await self._exec("UPDATE customers SET name = ? WHERE id = ?", (name, customer.id))
                customer = Customer(customer.id, name, customer.created_at, customer.last_seen_at)
            return customer, False
        customer_id = await self._new_id("customers")
        self._writes.hold(
            "INSERT INTO customers (id, name, created_at) VALUES (?, ?, ?)",
            (customer_id, name, _ts(now)),
            rank=NEW_CUSTOMERS,
        )
        self._writes.hold(
            "INSERT INTO identities (channel, workspace, user_id, customer_id, address,"
            " last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
            (*key, customer_id, address_json(address), _ts(now)),
        )
        self._latest[customer_id] = None
        self._quiet[customer_id] = (None, False, "")
        return Customer(customer_id, name, now, None), True

    async def customer(self, customer_id: int) -> Customer | None:
        row = await self._one(
            f"SELECT {_CUSTOMER_COLUMNS} FROM customers c WHERE c.id = ?", (customer_id,)
        )
        return None if row is None else _customer(row)

    async def touch_customer(self, customer_id: int, now: datetime) -> None:
        self._writes.hold(
            "UPDATE customers SET last_seen_at = ? WHERE id = ?", (_ts(now), customer_id)
        )

    async def address_of(self, customer_id: int) -> Address | None:
        row = await self._one(
            "SELECT address FROM identities WHERE customer_id = ?"
            " ORDER BY last_used_at DESC LIMIT 1",
            (customer_id,),
        )
        return None if row is None else _address(row[0])

    # -- cases ----------------------------------------------------------------------------

    async def latest_case(self, customer_id: int) -> Case | None:
        if customer_id in self._latest:
            return self._latest[customer_id]
        row = await self._one(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ({_LATEST_CASE.format(customer='?')})",
            (customer_id,),
        )
        return None if row is None else _case(row)

    async def new_case(self, customer_id: int, now: datetime) -> Case:
        self._latest.pop(customer_id, None)
        case_id = await self._new_id("cases")
        self._writes.hold(
            "INSERT INTO cases (id, customer_id, state, opened_at, updated_at)"
            " VALUES (?, ?, 'bot', ?, ?)",
            (case_id, customer_id, _ts(now), _ts(now)),
            rank=NEW_CASES,
        )
        self._timelines[case_id] = ([], True)
        return Case(case_id, customer_id, CaseState.BOT, "", now, now)

    async def case(self, case_id: int) -> Case | None:
        row = await self._one(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
        return None if row is None else _case(row)

    async def update_case(self, case: Case) -> None:
        self._latest.pop(case.customer_id, None)
        self._writes.hold(
            "UPDATE cases SET state = ?, subject = ?, updated_at = ?, handover_reason = ?,"
            " handed_over_at = ?, agent = ?, claimed_at = ?, resolved_at = ?, summary = ?,"
            " draft_summary = ?, pending_reason = ?, unanswered = ?, alerted_at = ?,"
            " conversation = ?, conversation_until = ?, conversation_note = ? WHERE id = ?",
            (
                case.state.value,
                case.subject,
                _ts(case.updated_at),
                case.handover_reason,
                _ts(case.handed_over_at),
                case.agent,
                _ts(case.claimed_at),
                _ts(case.resolved_at),
                case.summary,
                case.draft_summary,
                case.pending_reason,
                case.unanswered,
                _ts(case.alerted_at),
                case.conversation.value,
                _ts(case.conversation_until),
                case.conversation_note,
                case.id,
            ),
        )

    async def queue_position(self, case: Case) -> int:
        if case.state is not CaseState.WAITING or case.handed_over_at is None:
            return 0
        row = await self._one(
            "SELECT count(*) FROM cases WHERE state = 'waiting'"
            " AND (handed_over_at < ? OR (handed_over_at = ? AND id <= ?))",
            (_ts(case.handed_over_at), _ts(case.handed_over_at), case.id),
        )
        return int(row[0])

    async def queue(self) -> list[Case]:
        rows = await self._all(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE state IN ('waiting', 'agent')"
            " ORDER BY state = 'agent', handed_over_at, id"
        )
        return [_case(row) for row in rows]

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
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE state = 'waiting' AND handed_over_at < ?"
            " AND (alerted_at IS NULL OR alerted_at < ?) ORDER BY handed_over_at",
            (_ts(waiting_since), _ts(alerted_before)),
        )
        return [_case(row) for row in rows]

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
            (event_id, case_id, _ts(now), kind.value, actor, text, raw),
        )
        kept = self._timelines.get(case_id)
        if kept is not None:  # as a read would return it
            at = _at(now.timestamp())
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
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE case_id = ?"
            " ORDER BY at DESC, id DESC LIMIT ?",
            (case_id, limit),
        )
        events = [_event(row) for row in reversed(rows)]
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
            (customer_id, case_id, _ts(now), text),
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
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE customer_id = ? ORDER BY id",
            (customer_id,),
        )
        feedback = await self._all(
            "SELECT at, text FROM feedback WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        stamp = _iso
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
            "notices_muted_until": stamp(_ts(muted_until)),
            "notices_muted_until_you_write": until_write,
            "quiet_hours": quiet,
        }
        for row in cases:
            case = _case(row)
            events = await self._all(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE case_id = ? AND kind <> 'note'"
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
                        for e in map(_event, events)
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
            (digest(code), customer_id, _ts(now), _ts(expires)),
        )

    async def take_link_code(self, code: str, now: datetime) -> int | None:
        """The customer who asked for this code, once: a used or expired code is gone."""
        await self._exec("DELETE FROM link_codes WHERE expires_at < ?", (_ts(now),))
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
            (customer_id, _ts(since)),
        )
        return int(row[0])

    async def add_link_failure(self, customer_id: int, now: datetime) -> None:
        await self._exec(
            "INSERT INTO link_failures (customer_id, at) VALUES (?, ?)", (customer_id, _ts(now))
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
                (_ts(now), merged),
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
            (title, affected, json.dumps(list(words), ensure_ascii=False), author, _ts(now)),
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
                opened_at=_at(r[6]),
                resolved_at=_dt(r[7]),
                latest=r[8] or "",
                latest_at=_dt(r[9]),
            )
            for r in rows
        ]

    async def add_incident_update(
        self, incident_id: int, author: str, text: str, now: datetime, *, resolve: bool = False
    ) -> None:
        self._no_incidents = False
        await self._exec(
            "INSERT INTO incident_updates (incident_id, at, author, text) VALUES (?, ?, ?, ?)",
            (incident_id, _ts(now), author, text),
        )
        if resolve:
            await self._exec(
                "UPDATE incidents SET state = 'resolved', resolved_at = ? WHERE id = ?",
                (_ts(now), incident_id),
            )

    async def subscribe(self, incident_id: int, customer_id: int, now: datetime) -> bool:
        """True if newly subscribed."""
        cursor = await self._exec(
            "INSERT OR IGNORE INTO incident_subscribers (incident_id, customer_id, at)"
            " VALUES (?, ?, ?)",
            (incident_id, customer_id, _ts(now)),
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
            (text, customer_id, _ts(now), _ts(now)),
        )
        await self.vote(number, customer_id, now)
        return number

    async def vote(self, idea_id: int, customer_id: int, now: datetime) -> bool:
        """True if this is a new vote."""
        cursor = await self._exec(
            "INSERT OR IGNORE INTO idea_votes (idea_id, customer_id, at) VALUES (?, ?, ?)",
            (idea_id, customer_id, _ts(now)),
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
            (state, note, _ts(now), idea_id),
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
            (_ts(muted_until), int(until_write), customer_id),
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
        return _dt(row[0]), bool(row[1]), str(row[2])

    async def hold(self, message_id: int, until: datetime) -> None:
        """A notice waits (muted, quiet hours); unlike a retry it costs no attempt."""
        await self._exec("UPDATE outbox SET not_before = ? WHERE id = ?", (_ts(until), message_id))

    async def release_notices(self, customer_id: int, now: datetime) -> int:
        cursor = await self._exec(
            "UPDATE outbox SET not_before = ? WHERE customer_id = ? AND state = 'pending'"
            " AND cause IN ('incident', 'idea') AND not_before > ?",
            (_ts(now), customer_id, _ts(now)),
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
                " pending_reason = '', unanswered = 0, conversation = '',"
                " conversation_until = NULL, conversation_note = '',"
                " state = 'resolved', resolved_at = coalesce(resolved_at, ?)"
                f" WHERE id IN ({marks})",
                [_ts(now), *case_ids],
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
            (_ts(now), customer_id),
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
                json.dumps(stored, ensure_ascii=False)
                if (stored := message.delivery.to_json())
                else "{}",
                _ts(now),
            ),
        )
        return message_id

    async def mark_sent(self, message_id: int, platform_id: str, now: datetime) -> None:
        await self._exec(
            "UPDATE outbox SET state = 'sent', sent_at = ?, platform_id = ?,"
            " attempts = attempts + 1, error = '' WHERE id = ?",
            (_ts(now), platform_id, message_id),
        )

    async def mark_retry(self, message_id: int, not_before: datetime, error: str) -> None:
        await self._exec(
            "UPDATE outbox SET attempts = attempts + 1, not_before = ?, error = ? WHERE id = ?",
            (_ts(not_before), error[:500], message_id),
        )

    async def mark_failed(self, message_id: int, error: str, now: datetime) -> None:
        await self._exec(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, error = ?,"
            " sent_at = ? WHERE id = ?",
            (error[:500], _ts(now), message_id),
        )


class SQLiteStore:
    """The `Store` protocol on one SQLite file."""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_ms: int = 10_000,
        group_window: float = 0.0,
        group_limit: int = 256,
        checkpoint_seconds: float = 1.0,
        checkpoint_pages: int = 4000,
    ) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        # Group commit: how long after its BEGIN a group still takes new members, and
        # how many at most. 0: whoever arrived while the group before it committed,
        # which adapts the size to the load by itself; later arrivals make the next
        # group, which begins as soon as this one is committed. (At 2,000 msg/s the
        # p99 latency was 37-45 ms with 0, 49-56 ms with 2 ms, 77-102 ms with 5 ms.)
        self._group_window = group_window
        self._group_limit = group_limit
        self._group: _Group | None = None  # the group a new turn joins
        self._leaders: set[asyncio.Task[None]] = set()
        self._checkpoint_seconds = checkpoint_seconds
        self._checkpoint_pages = checkpoint_pages
        self._closing = False
        self._checkpointer: asyncio.Task[None] | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    def _usable(self) -> aiosqlite.Connection:
        if self._closing:
            raise StoreError("the store is closing")
        return self.db

    async def open(self) -> None:
        self._closing = False
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Transactions are explicit (BEGIN IMMEDIATE … COMMIT). The "DEFERRED" level
            # is a safety net: should SQLite roll a transaction back by itself (a full
            # disk) while a group's other members still have writes queued, those writes
            # open a new transaction, which the group rolls back, instead of each
            # committing on its own.
            self._db = await aiosqlite.connect(self.path, isolation_level="DEFERRED")
            await self._db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            await self._db.create_function("candor_digest", 1, digest, deterministic=True)
            await self._migrate()
            if str(self.path) != ":memory:" and self._checkpoint_seconds > 0:
                # Copying the WAL back into the database (and its fsync) took 10-15 ms
                # inside every thousandth page's COMMIT, with every turn waiting. A
                # second connection does it now, beside the writer (PASSIVE: never
                # blocking it).
                await self._db.execute("PRAGMA wal_autocheckpoint = 0")
                self._checkpointer = asyncio.create_task(self._checkpoints())
        except sqlite3.DatabaseError as error:
            await self.close()
            raise StoreError(f"cannot open the database {self.path}: {error}") from error
        except StoreError:
            await self.close()
            raise

    async def _migrate(self) -> None:
        db = self.db
        async with db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        migrations = _migrations()
        latest = migrations[-1][0] if migrations else 0
        if current > latest:
            raise StoreError(
                f"the database {self.path} has schema version {current}, newer than this"
                f" Candor knows ({latest}); upgrade Candor"
            )
        for version, name, sql in migrations:
            if version <= current:
                continue
            log.info("applying migration %s", name)
            await db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(sql):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {version}")
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise

    async def _checkpoints(self) -> None:
        """Copy the WAL back into the database, beside the writer. A PASSIVE
        checkpoint never blocks it, and when the bot is not busy the next write finds
        the WAL all copied and starts it over. Under steady load it never does, and
        the WAL would grow for as long as the load lasts; so once it is past
        `checkpoint_pages`, a RESTART follows between two of our transactions: it
        copies the little the PASSIVE one left (one fsync, about 10 ms here, while
        turns wait) and the next write starts the WAL from the beginning."""
        async with aiosqlite.connect(self.path) as other:
            await other.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            while True:
                await asyncio.sleep(self._checkpoint_seconds)
                try:
                    rows = await other.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
                    _, frames, _ = next(iter(rows))
                    if frames > self._checkpoint_pages:
                        async with self._lock:  # between two of our transactions
                            await other.execute("PRAGMA wal_checkpoint(RESTART)")
                except sqlite3.Error as error:  # tried again next time
                    log.warning("checkpointing the database's WAL failed: %s", error)

    async def close(self) -> None:
        # No new transactions: one started now could commit what a member of a group
        # cancelled below still writes.
        self._closing = True
        if self._leaders:  # let running groups commit, but not for ever
            await asyncio.wait(list(self._leaders), timeout=5)
            await cancel_and_wait(list(self._leaders))
        if self._checkpointer is not None:
            await cancel_and_wait([self._checkpointer])
            self._checkpointer = None
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    def _busy(self, error: sqlite3.OperationalError) -> StoreError:
        return StoreError(
            f"the database {self.path} is busy: another process has held it for"
            f" over {self._busy_timeout_ms / 1000:g} s ({error}); nothing was stored"
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteTransaction]:
        self._usable()
        async with self._lock:
            db = self._usable()
            await self._begin(db)
            try:
                writes = _Writes()
                yield SQLiteTransaction(db, writes)
                await writes.flush(db)
                await db.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk, an I/O error): then a
                # ROLLBACK would fail and hide the real error
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[SQLiteTransaction]:
        """A transaction shared with whoever else is running a turn now (group commit).

        Members run concurrently on the one connection and are committed together when
        the last finishes: one COMMIT for many turns, and while one turn waits for the
        database the others use the event loop. Leaving the block waits for that
        commit. If any member fails, the whole group is rolled back and every other
        member gets `GroupAborted` on leaving (nothing of theirs was stored): run the
        turn again alone, in `transaction()`. Members must not change the same rows
        at the same time; the engine keeps one customer's turns apart.
        """
        self._usable()
        group = self._group
        if group is None or not group.open:
            group = self._group = _Group()
            leader = asyncio.create_task(self._lead(group))
            self._leaders.add(leader)
            leader.add_done_callback(self._leaders.discard)
        group.members += 1
        group.joined += 1
        group.idle.clear()
        if group.joined >= self._group_limit:
            self._close(group)
        inside = False
        try:
            await group.begun.wait()
            if group.done.done():  # the BEGIN failed
                group.done.result()
            inside = True
            yield SQLiteTransaction(self.db, group.writes)
        except BaseException:
            group.failed = group.failed or inside
            raise
        finally:
            group.members -= 1
            if group.members == 0:
                group.idle.set()
        await asyncio.shield(group.done)

    def _close(self, group: _Group) -> None:
        group.open = False
        if self._group is group:
            self._group = None

    async def _lead(self, group: _Group) -> None:
        """Run one group's transaction: BEGIN, let the members in, COMMIT when all are done."""
        error: BaseException | None = GroupAborted("the group did not run")
        try:
            async with self._lock:
                db = self._usable()
                try:
                    await self._begin(db)
                except StoreError as busy:
                    error = busy
                    return
                try:
                    await group.writes.know_ids(db)
                    closing = asyncio.get_running_loop().call_later(
                        self._group_window, self._close, group
                    )
                    group.begun.set()
                    try:
                        while group.members:
                            await group.idle.wait()
                    finally:
                        closing.cancel()
                    self._close(group)
                    if group.failed:
                        raise GroupAborted("a member of the group failed")
                    await group.writes.flush(db)
                    await db.execute("COMMIT")
                    error = None
                except BaseException as failure:
                    error = (
                        failure
                        if isinstance(failure, GroupAborted)
                        else GroupAborted(f"the group's transaction failed: {failure!r}")
                    )
                    if db.in_transaction:
                        await db.execute("ROLLBACK")
                    if not isinstance(failure, Exception):
                        raise
        except Exception as failure:  # the store was closed, the connection broke
            error = GroupAborted(f"the group could not run: {failure!r}")
        finally:
            self._close(group)
            group.finish(error)

    async def _begin(self, db: aiosqlite.Connection) -> None:
        if db.in_transaction:  # left behind by a group cancelled mid-way (see open())
            log.warning("rolling back a transaction left open")
            await db.execute("ROLLBACK")
        try:
            await db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise self._busy(error) from error

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._lock:
            return list(await self.db.execute_fetchall(sql, params))

    async def pending(
        self,
        channel: str,
        chat_id: str | None = None,
        limit: int = 200,
        after: int = 0,
        now: datetime | None = None,
    ) -> list[tuple[Outbound, datetime]]:
        sql = f"SELECT {_OUTBOX_COLUMNS}, not_before FROM outbox WHERE state = 'pending'"
        sql += " AND channel = ? AND id > ?"
        params: list[Any] = [channel, after]
        if now is not None:
            sql += " AND NOT (cause IN (?, ?) AND not_before > ?)"
            params += [Cause.INCIDENT.value, Cause.IDEA.value, _ts(now)]
        if chat_id is not None:
            sql += " AND json_extract(address, '$[1]') = ?"
            params.append(chat_id)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [(_outbound(row), _at(row[9])) for row in await self._all(sql, params)]

    async def customer_by_identity(self, identity: Identity) -> Customer | None:
        rows = await self._all(
            f"SELECT {_CUSTOMER_COLUMNS} FROM identities i JOIN customers c ON c.id = i.customer_id"
            " WHERE i.channel = ? AND i.workspace = ? AND i.user_id = ?",
            (identity.channel, identity.workspace, identity.user_id),
        )
        return _customer(rows[0]) if rows else None

    async def cases_of(self, customer_id: int) -> list[Case]:
        rows = await self._all(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        return [_case(row) for row in rows]

    async def events_of(self, case_id: int) -> list[Event]:
        rows = await self._all(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE case_id = ? ORDER BY at, id", (case_id,)
        )
        return [_event(row) for row in rows]

    async def outbox_rows(self, case_id: int | None = None) -> list[tuple[Outbound, str]]:
        sql = f"SELECT {_OUTBOX_COLUMNS}, state FROM outbox"
        params: tuple[Any, ...] = ()
        if case_id is not None:
            sql += " WHERE case_id = ?"
            params = (case_id,)
        rows = await self._all(sql + " ORDER BY id", params)
        return [(_outbound(row), row[9]) for row in rows]


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows SQL's quoting)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    leftover = [ln for ln in current.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    if leftover:
        raise StoreError("a migration ends in an incomplete statement")
    return statements
