"""The turn's one read: one query for what every turn needs.

Whether the inbound was seen before, whether any incident is open, the customer
behind an identity, their notice settings, the end of their latest case's timeline
(as JSON, times as text so that they come back exact) and that case: one trip to
aiosqlite's thread instead of six. What came along is kept in the session's memo
for the repositories that would otherwise read it again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from bot.model import Address, Customer, Event, Identity
from bot.store.sqlite.group import NEW_CUSTOMERS
from bot.store.sqlite.rows import (
    CASE_COLUMNS,
    CUSTOMER_COLUMNS,
    EVENT_KINDS,
    address_json,
    case_of,
    customer_of,
    dt,
    ts,
    utc,
)
from bot.store.sqlite.session import Session

# How much of the latest case's timeline a turn reads with the customer: enough for
# what a turn looks back on (the last answer, a repeated question, a rating).
KEPT_EVENTS = 30
# A customer's unresolved case, else the one resolved last.
LATEST_CASE = (
    "SELECT id FROM cases WHERE customer_id = {customer} ORDER BY state = 'resolved',"
    " coalesce(resolved_at, opened_at) DESC, id DESC LIMIT 1"
)

# A stranger gets a row too (of NULLs but the first two).
TURN_CONTEXT = (
    "SELECT EXISTS (SELECT 1 FROM inbound_seen WHERE channel = ? AND key = ?),"
    " (SELECT count(*) FROM incidents WHERE state = 'open'),"
    f" {CUSTOMER_COLUMNS}, c.muted_until, c.muted_until_write, c.quiet_hours,"
    " (SELECT json_group_array(json_array(e.id, printf('%.6f', e.at), e.kind, e.actor,"
    " e.text, json(e.data))) FROM (SELECT * FROM events WHERE case_id = k.id"
    f" ORDER BY at DESC, id DESC LIMIT {KEPT_EVENTS}) AS e),"
    f" {', '.join('k.' + column.strip() for column in CASE_COLUMNS.split(','))}"
    " FROM (SELECT 1) LEFT JOIN identities i ON i.channel = ? AND i.workspace = ?"
    " AND i.user_id = ? LEFT JOIN customers c ON c.id = i.customer_id"
    f" LEFT JOIN cases k ON k.id = ({LATEST_CASE.format(customer='c.id')})"
)


async def read_turn(
    s: Session, identity: Identity, name: str, address: Address, now: datetime, seen: str | None
) -> tuple[Customer, bool] | None:
    """The customer behind `identity` (created if new: second value True), with what
    their turn reads next kept in the memo. With `seen` (the digest of the inbound's
    dedupe key), None if that key was seen before, else the key is recorded."""
    key = (identity.channel, identity.workspace, identity.user_id)
    row = await s.one(TURN_CONTEXT, (identity.channel, seen or "", *key))
    if seen is not None:
        if row[0]:
            return None
        # Held back like the turn's other writes. Not OR IGNORE: one identity's turns
        # run one after another, so a clash means the same event in two groups at
        # once, and the failing group's turns run again and find it seen.
        s.writes.hold(
            "INSERT INTO inbound_seen (channel, key, at) VALUES (?, ?, ?)",
            (identity.channel, seen, ts(now)),
        )
    row = row[1:]
    s.no_incidents = row[0] == 0
    if row[1] is not None:
        customer = customer_of(row[1:])
        s.quiet[customer.id] = (dt(row[7]), bool(row[8]), str(row[9]))
        latest = None if row[11] is None else case_of(row[11:])
        s.latest[customer.id] = latest
        if latest is not None:
            events = sorted(
                (
                    Event(e[0], latest.id, utc(float(e[1])), EVENT_KINDS[e[2]], e[3], e[4], e[5])
                    for e in json.loads(row[10])
                ),
                key=lambda e: (e.at, e.id),
            )
            s.timelines[latest.id] = (events, len(events) < KEPT_EVENTS)
        s.writes.hold(
            "UPDATE identities SET address = ?, last_used_at = ? WHERE channel = ?"
            " AND workspace = ? AND user_id = ?",
            (address_json(address), ts(now), *key),
        )
        if name and name != customer.name:
            await s.exec("UPDATE customers SET name = ? WHERE id = ?", (name, customer.id))
            customer = replace(customer, name=name)
        return customer, False
    customer_id = await s.new_id("customers")
    s.writes.hold(
        "INSERT INTO customers (id, name, created_at) VALUES (?, ?, ?)",
        (customer_id, name, ts(now)),
        rank=NEW_CUSTOMERS,
    )
    s.writes.hold(
        "INSERT INTO identities (channel, workspace, user_id, customer_id, address,"
        " last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
        (*key, customer_id, address_json(address), ts(now)),
    )
    s.latest[customer_id] = None
    s.quiet[customer_id] = (None, False, "")
    return Customer(customer_id, name, now, None), True
