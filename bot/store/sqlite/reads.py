"""The store's reads outside any transaction of the caller's: for the outbox's
dispatcher, tools, reports and tests."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.model import Case, Cause, Customer, Event, Identity, Outbound
from bot.store.protocols.outbox import Sendable
from bot.store.sqlite.rows import (
    CASE_COLUMNS,
    CUSTOMER_COLUMNS,
    EVENT_COLUMNS,
    OUTBOX_COLUMNS,
    Unreadable,
    case_of,
    customer_of,
    event_of,
    outbound_of,
    ts,
    utc,
    with_progress,
)

log = logging.getLogger(__name__)


# `pending`'s rows the outbox has in hand already; and those of the chats another
# process owns while its lease holds (PostgreSQL: `outbox_owners`, migration 015)
SKIP_IDS = " AND id NOT IN (SELECT value FROM json_each(?))"
NOT_OTHERS = (
    " AND NOT EXISTS (SELECT 1 FROM outbox_owners o WHERE o.channel = outbox.channel"
    " AND o.chat_id = candor_json_item(outbox.address, 1) AND o.owner <> ?"
    " AND o.lease_until >= now())"
)
# `sendable`'s: the row's state and whether the owner (its parameter) owns its chat
SENDABLE = "SELECT state, 1 FROM outbox WHERE id = ?"
SENDABLE_OWNED = (
    "SELECT state, EXISTS (SELECT 1 FROM outbox_owners o WHERE o.channel = outbox.channel"
    " AND o.chat_id = candor_json_item(outbox.address, 1) AND o.owner = ?)"
    " FROM outbox WHERE id = ?"
)


class StoreReads:
    """The reads of the `Store` protocol, on whatever `_all` runs a query with."""

    _others_own = False  # whether other processes may own chats (`NOT_OTHERS`)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def pending(
        self,
        channel: str,
        chat_id: str | None = None,
        limit: int = 200,
        after: int = 0,
        now: datetime | None = None,
        *,
        skip: Collection[int] = (),
        owner: str | None = None,
    ) -> list[tuple[Outbound, datetime]]:
        sql = f"SELECT {OUTBOX_COLUMNS}, not_before, progress FROM outbox"
        sql += " WHERE state = 'pending'"
        sql += " AND channel = ? AND id > ?"
        params: list[Any] = [channel, after]
        if now is not None:
            sql += " AND NOT (cause IN (?, ?) AND not_before > ?)"
            params += [Cause.INCIDENT.value, Cause.IDEA.value, ts(now)]
        if chat_id is not None:
            # (json_valid: a damaged row must not fail the query for every other row)
            sql += " AND json_valid(address) AND json_extract(address, '$[1]') = ?"
            params.append(chat_id)
        if skip:  # (one parameter, however many: a JSON array)
            sql += SKIP_IDS
            params.append(json.dumps(sorted(skip)))
        if owner is not None and self._others_own:
            sql += NOT_OTHERS
            params.append(owner)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        found, unreadable = [], []
        for row in await self._all(sql, params):
            try:
                found.append((with_progress(outbound_of(row), row[10]), utc(row[9])))
            except Unreadable as error:
                unreadable.append((int(row[0]), str(error)))
        if unreadable:
            await self._refuse(unreadable, now)
        return found

    async def sendable(self, message_id: int, owner: str | None = None) -> Sendable:
        if owner is not None and self._others_own:
            rows = await self._all(SENDABLE_OWNED, (owner, message_id))
        else:
            rows = await self._all(SENDABLE, (message_id,))
        if not rows or rows[0][0] != "pending":
            return Sendable.GONE
        return Sendable.YES if rows[0][1] else Sendable.ANOTHERS

    async def _refuse(self, rows: list[tuple[int, str]], now: datetime | None) -> None:
        """Pending outbox rows this Candor cannot read: logged, and marked failed with
        why (never sent as they stand; a read-only store only logs them)."""
        for _, reason in rows:
            log.error("%s; marked failed, not sent", reason)
        if not self._read_only:
            why = [(message_id, f"this Candor cannot read it: {r}") for message_id, r in rows]
            await self._mark_failed(why, now or datetime.now(UTC))

    _read_only = False

    async def _mark_failed(self, rows: list[tuple[int, str]], now: datetime) -> None:
        raise NotImplementedError

    async def customer_by_identity(self, identity: Identity) -> Customer | None:
        rows = await self._all(
            f"SELECT {CUSTOMER_COLUMNS} FROM identities i JOIN customers c ON c.id = i.customer_id"
            " WHERE i.channel = ? AND i.workspace = ? AND i.user_id = ?",
            (identity.channel, identity.workspace, identity.user_id),
        )
        return customer_of(rows[0]) if rows else None

    async def cases_of(self, customer_id: int) -> list[Case]:
        rows = await self._all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        return [case_of(row) for row in rows]

    async def events_of(self, case_id: int) -> list[Event]:
        rows = await self._all(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE case_id = ? ORDER BY at, id", (case_id,)
        )
        return [event_of(row) for row in rows]

    async def outbox_rows(self, case_id: int | None = None) -> list[tuple[Outbound, str]]:
        sql = f"SELECT {OUTBOX_COLUMNS}, state FROM outbox"
        params: tuple[Any, ...] = ()
        if case_id is not None:
            sql += " WHERE case_id = ?"
            params = (case_id,)
        found = []
        for row in await self._all(sql + " ORDER BY id", params):
            try:
                found.append((outbound_of(row), row[9]))
            except Unreadable:
                continue  # `pending` has marked it failed, with why
        return found
