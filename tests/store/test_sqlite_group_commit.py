"""Group commit on SQLite, through the engine: customers' turns that run at the same
moment share one transaction. SQLite only (these watch its COMMITs and ROLLBACKs,
its full disk and its held-back writes); what every backend's `shared()` must do
is in test_transactions.py.

What must hold: each `receive` returns only once its own effects are committed; a
turn that fails takes nobody else's message with it (its group is rolled back and
the others run again alone, exactly once); a full disk in the middle of a group
leaves no half-stored turn; and one customer's turns from two channels never
overwrite each other.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable

import pytest

from bot.app import Candor
from bot.dialog import Dialog
from bot.model import Identity, Inbound
from bot.store import SQLiteStore
from tests.conftest import Clock, Customer, RecordingSender

pytestmark = pytest.mark.sqlite_only

Factory = Callable[[str], Customer]


def committed_customers(app: Candor) -> set[str]:
    """Who is in the database as another connection sees it: committed rows only."""
    other = sqlite3.connect(app.config.storage.path)
    try:
        return {row[0] for row in other.execute("SELECT user_id FROM identities")}
    finally:
        other.close()


async def trace_ends(app: Candor) -> list[str]:
    """Every COMMIT and ROLLBACK the store runs from now on."""
    store = app.store
    assert isinstance(store, SQLiteStore)
    ends: list[str] = []
    await store.db.set_trace_callback(
        lambda sql: (
            ends.append(sql.strip().upper())
            if sql.strip().upper() in ("COMMIT", "ROLLBACK")
            else None
        )
    )
    return ends


async def test_concurrent_turns_share_commits_and_each_returns_after_its_own_commit(
    customer_factory: Factory, app: Candor
) -> None:
    people = [customer_factory(f"c{n}") for n in range(40)]
    commits = await trace_ends(app)
    seen_at_return: dict[str, bool] = {}

    async def ask(who: Customer) -> None:
        receipt = await app.engine.receive(who.inbound("how much does it cost?"))
        assert not receipt.duplicate and receipt.case_id is not None
        seen_at_return[who.name] = who.name in committed_customers(app)

    await asyncio.gather(*(ask(p) for p in people))
    assert seen_at_return == {p.name: True for p in people}
    assert commits and set(commits) == {"COMMIT"}
    assert len(commits) < len(people) // 4, commits  # shared, not one each
    for who in people:
        customer = await app.store.customer_by_identity(who.identity)
        assert customer is not None
        [case] = await app.store.cases_of(customer.id)
        texts = [e.text for e in await app.store.events_of(case.id)]
        assert texts.count("how much does it cost?") == 1
        replies = [m for m, _ in await app.store.outbox_rows(case.id)]
        assert any("Plans and prices" in m.text for m in replies)


async def test_a_failing_turn_costs_no_one_else_their_message(
    customer_factory: Factory,
    app: Candor,
    sender: RecordingSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = Dialog.handle

    async def buggy(self: Dialog, tx: object, turn: object) -> object:
        out = await real(self, tx, turn)  # type: ignore[arg-type]
        if turn.inbound.text == "boom":  # type: ignore[attr-defined]
            raise RuntimeError("a bug after the turn wrote its rows")
        return out

    control = customer_factory("control")
    await control.send("how much does it cost?")  # alone: what a clean turn leaves
    [(control_case,)] = [(c.id,) for c in await app.store.cases_of(1)]
    expected_rows = len(await app.store.outbox_rows(control_case))

    monkeypatch.setattr(Dialog, "handle", buggy)
    people = [customer_factory(f"c{n}") for n in range(12)]
    bomber = customer_factory("bomber")
    ends = await trace_ends(app)
    inbounds = [p.inbound("how much does it cost?") for p in people]
    await asyncio.gather(
        *(app.engine.receive(i) for i in inbounds[:6]),
        app.engine.receive(bomber.inbound("boom")),
        *(app.engine.receive(i) for i in inbounds[6:]),
    )
    # they shared a group, which was rolled back; then each ran alone and committed
    assert ends[0] == "ROLLBACK" and ends.count("COMMIT") == len(people) + 1, ends
    for who in people:
        customer = await app.store.customer_by_identity(who.identity)
        assert customer is not None
        [case] = await app.store.cases_of(customer.id)
        texts = [e.text for e in await app.store.events_of(case.id)]
        assert texts.count("how much does it cost?") == 1, texts
        assert len(await app.store.outbox_rows(case.id)) == expected_rows
    # the broken turn's message is kept, with an apology, once
    customer = await app.store.customer_by_identity(bomber.identity)
    assert customer is not None
    [case] = await app.store.cases_of(customer.id)
    events = await app.store.events_of(case.id)
    assert [e.text for e in events].count("boom") == 1
    assert any(e.data.get("error") for e in events)
    [apology] = [m.text for m, _ in await app.store.outbox_rows(case.id)]
    assert "went wrong on my side" in apology
    # and every one of them, redelivered by the platform, is a duplicate
    for inbound in inbounds:
        assert (await app.engine.receive(inbound)).duplicate


async def test_a_full_disk_mid_group_leaves_no_half_stored_turn(
    customer_factory: Factory, app: Candor
) -> None:
    store = app.store
    assert isinstance(store, SQLiteStore)
    await customer_factory("first").send("hello")
    db = store.db
    [(pages,)] = await db.execute_fetchall("PRAGMA page_count")
    await db.execute(f"PRAGMA max_page_count = {pages + 2}")  # room for a little only
    people = [customer_factory(f"c{n}") for n in range(16)]
    inbounds: list[Inbound] = [
        p.inbound("how much does it cost? " + ("and more " * 300 if n % 3 == 0 else ""))
        for n, p in enumerate(people)
    ]
    results = await asyncio.gather(
        *(app.engine.receive(i) for i in inbounds), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert failed and all("full" in str(r) for r in failed), results
    await db.execute("PRAGMA max_page_count = 1073741823")
    [(check,)] = await db.execute_fetchall("PRAGMA integrity_check")
    assert check == "ok"

    async def stored(inbound: Inbound) -> tuple[int, int]:
        """(times the message is on a case, outbox rows for the customer)"""
        customer = await app.store.customer_by_identity(inbound.identity)
        if customer is None:
            return 0, 0
        cases = await app.store.cases_of(customer.id)
        texts = [e.text for c in cases for e in await app.store.events_of(c.id)]
        rows = [r for c in cases for r in await app.store.outbox_rows(c.id)]
        return texts.count(inbound.text.strip()), len(rows)

    [(seen,)] = await db.execute_fetchall("SELECT count(*) FROM inbound_seen")
    states = [await stored(i) for i in inbounds]
    # a message is stored whole (on its case, with its reply, its dedupe key) or not at all
    for (times, rows), result in zip(states, results, strict=True):
        assert (times, rows > 0) in ((1, True), (0, False)), states
        assert (times == 1) == (not isinstance(result, BaseException)), (states, results)
    assert seen == 1 + sum(times for times, _ in states)
    # the platform sends the refused ones again: now every message is there once
    for inbound, result in zip(inbounds, results, strict=True):
        receipt = await app.engine.receive(inbound)
        assert receipt.duplicate is not isinstance(result, BaseException)
    assert [(await stored(i))[0] for i in inbounds] == [1] * len(inbounds)


async def test_one_customers_turns_from_two_channels_do_not_overwrite_each_other(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    elsewhere = customer_factory("ann-elsewhere")
    elsewhere.identity = Identity("test", "other-workspace", "ann-elsewhere")
    [given] = await ann.send("/link")
    code = re.search(r"\*\*([A-Z0-9]{4}-[A-Z0-9]{4})\*\*", given)
    assert code is not None
    await elsewhere.send(f"/link {code.group(1)}")
    for who in (elsewhere, ann):  # both say yes: the one who entered it, then the asker
        [asked] = [m for m in who.sender.sent if m.address.chat_id == who.name and m.buttons][-1:]
        await who.press(asked.buttons[0].payload)
    customer = await app.store.customer_by_identity(ann.identity)
    assert customer == await app.store.customer_by_identity(elsewhere.identity)
    assert customer is not None
    # Two questions the bot cannot answer, at the same moment, from both channels,
    # among other customers' turns: each counts (a lost update would count one).
    others = [customer_factory(f"c{n}") for n in range(8)]
    await asyncio.gather(
        *(o.app.engine.receive(o.inbound("hello")) for o in others[:4]),
        app.engine.receive(ann.inbound("where is the zebra crossing in the moon base")),
        app.engine.receive(elsewhere.inbound("how do quasars taste on a tuesday")),
        *(o.app.engine.receive(o.inbound("hello")) for o in others[4:]),
    )
    [case] = [c for c in await app.store.cases_of(customer.id) if c.state.value != "resolved"]
    texts = [e.text for e in await app.store.events_of(case.id)]
    assert "where is the zebra crossing in the moon base" in texts
    assert "how do quasars taste on a tuesday" in texts
    assert case.unanswered == 2 or case.pending_reason, case


async def test_writes_after_sqlite_rolled_a_group_back_by_itself_are_not_committed(
    app: Candor,
) -> None:
    """SQLite may roll a transaction back on its own (a full disk, an I/O error) while
    other members of the group still have writes queued: those must not be committed
    one by one."""
    from datetime import UTC, datetime

    from bot.store import GroupAborted

    store = app.store
    assert isinstance(store, SQLiteStore)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    rolled_back = asyncio.Event()

    async def failing() -> None:
        async with store.shared() as tx:
            await tx.inbound.first_seen("test", "a", now)
            await store.db.execute("ROLLBACK")  # what SQLite does by itself on SQLITE_FULL
            rolled_back.set()
            raise sqlite3.OperationalError("database or disk is full")

    async def other() -> None:
        async with store.shared() as tx:
            await rolled_back.wait()
            assert await tx.inbound.first_seen("test", "b", now)

    results = await asyncio.gather(failing(), other(), return_exceptions=True)
    assert isinstance(results[0], sqlite3.OperationalError)
    assert isinstance(results[1], GroupAborted)
    other_connection = sqlite3.connect(app.config.storage.path)
    try:
        assert other_connection.execute("SELECT count(*) FROM inbound_seen").fetchone() == (0,)
    finally:
        other_connection.close()
    # and the store goes on working
    async with store.transaction() as tx:
        assert await tx.inbound.first_seen("test", "b", now)


async def test_new_customers_and_new_cases_of_returning_ones_commit_in_one_group(
    customer_factory: Factory, app: Candor, clock: Clock
) -> None:
    """Rows others refer to go first, customers before cases: a returning
    customer's new case held before a new customer's row once failed the foreign
    key and sent the whole group back to run one turn at a time."""
    old = [customer_factory(f"old{n}") for n in range(20)]
    for who in old:
        await app.engine.receive(who.inbound("how much does it cost?"))
    other = sqlite3.connect(app.config.storage.path)
    other.execute("UPDATE cases SET state = 'resolved', resolved_at = opened_at")
    other.commit()
    other.close()
    clock.advance(days=30)  # past the reopening window: they get new cases
    new = [customer_factory(f"new{n}") for n in range(20)]
    ends = await trace_ends(app)
    people = [who for pair in zip(old, new, strict=True) for who in pair]
    await asyncio.gather(*(app.engine.receive(p.inbound("is there a free trial")) for p in people))
    assert ends and set(ends) == {"COMMIT"} and len(ends) < 5, ends
    for who in old:
        customer = await app.store.customer_by_identity(who.identity)
        assert customer is not None
        cases = await app.store.cases_of(customer.id)
        assert [c.state.value for c in cases] == ["resolved", "bot"], cases


async def test_a_read_waits_for_a_flush_under_way_that_carries_its_own_writes(
    app: Candor,
) -> None:
    """Member A starts sending everything held, member B's rows included; B reads
    meanwhile: it must see its own rows, not read between A's statements."""
    from datetime import UTC, datetime, timedelta

    from bot.model import Address, EventKind

    store = app.store
    assert isinstance(store, SQLiteStore)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    async with store.transaction() as tx:
        x, _ = await tx.customers.for_identity(
            Identity("test", "w", "x"), "X", Address("test", "x"), now
        )
        y, _ = await tx.customers.for_identity(
            Identity("test", "w", "y"), "Y", Address("test", "y"), now
        )
        case = await tx.cases.new(x.id, now)
        for n in range(40):
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", f"old {n}", now)
    later = now + timedelta(minutes=5)
    ready, go = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def member_a() -> None:
        async with store.shared() as tx:
            await tx.customers.touch(y.id, later)  # held, and first in the flush
            ready.set()
            await go.wait()
            await tx.customers.get(y.id)  # a read: sends everything held, B's rows too

    async def member_b() -> None:
        async with store.shared() as tx:
            await ready.wait()
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "NEW", later)
            go.set()
            await asyncio.sleep(0)
            await asyncio.sleep(0)  # A's flush is under way
            seen.extend(e.text for e in await tx.timeline.recent(case.id, limit=100))

    await asyncio.gather(member_a(), member_b())
    assert "NEW" in seen
