"""Contract: a case's timeline (`tx.timeline`) in time order, whole, with its data."""

from __future__ import annotations

from datetime import timedelta

from bot.model import EventKind
from bot.store import Store
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE


async def test_events_come_back_in_time_order_then_in_the_order_appended(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        later = NOW + timedelta(seconds=10)
        await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "b", later)
        await tx.timeline.append(case.id, EventKind.ANSWER, "bot", "c", later)
        await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "a", NOW)
        assert [e.text for e in await tx.timeline.recent(case.id)] == ["a", "b", "c"]
    async with store.transaction() as tx:
        events = await tx.timeline.recent(case.id)
        assert [e.text for e in events] == ["a", "b", "c"]
        assert [e.at for e in events] == [NOW, later, later]
    assert [e.text for e in await store.events_of(case.id)] == ["a", "b", "c"]


async def test_an_event_reads_back_as_appended(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        at = NOW + timedelta(microseconds=654321)
        data = {"article": "pricing-plans", "score": 0.87, "options": ["a", "b"], "é": "ü"}
        event = await tx.timeline.append(case.id, EventKind.ANSWER, "bot", "Plans…", at, data)
        plain = await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "ok", at)
        assert (event.case_id, event.kind, event.actor, event.text) == (
            case.id,
            EventKind.ANSWER,
            "bot",
            "Plans…",
        )
        assert event.id != plain.id and plain.data == {}
        assert await tx.timeline.recent(case.id) == [event, plain]
    async with store.transaction() as tx:
        assert await tx.timeline.recent(case.id) == [event, plain]
    assert await store.events_of(case.id) == [event, plain]


async def test_recent_is_the_last_events_oldest_first(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        for n in range(60):
            at = NOW + timedelta(seconds=n)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", str(n), at)
    async with store.transaction() as tx:
        assert [e.text for e in await tx.timeline.recent(case.id, limit=5)] == [
            "55",
            "56",
            "57",
            "58",
            "59",
        ]
        assert [e.text for e in await tx.timeline.recent(case.id)] == [
            str(n) for n in range(10, 60)
        ]
        assert len(await tx.timeline.recent(case.id, limit=100)) == 60


async def test_the_turn_read_and_this_transaction_s_appends_make_one_timeline(
    store: Store,
) -> None:
    """What the turn's read brought along (a store may keep a part of the timeline)
    and the events appended since read back as one timeline, at every length."""
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        for n in range(45):
            at = NOW + timedelta(seconds=n)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", str(n), at)
    async with store.transaction() as tx:
        arrived = await tx.customers.arrive("turn-1", ANN, "Ann", HERE, NOW)
        assert arrived is not None
        at = NOW + timedelta(seconds=45)
        await tx.timeline.append(case.id, EventKind.ANSWER, "bot", "45", at)
        earlier = NOW + timedelta(seconds=5, milliseconds=500)  # between 5 and 6
        await tx.timeline.append(case.id, EventKind.NOTE, "Maria", "5.5", earlier)
        expected = [str(n) for n in range(6)] + ["5.5"] + [str(n) for n in range(6, 46)]
        for limit in (1, 10, 29, 30, 31, 40, 47, 100):
            got = [e.text for e in await tx.timeline.recent(case.id, limit=limit)]
            assert got == expected[-limit:], limit
    assert [e.text for e in await store.events_of(case.id)] == expected


async def test_whole_is_every_event_oldest_first_with_this_transactions(store: Store) -> None:
    """What a handover summary is made of: all of a case, not its last `limit`."""
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        other = await tx.cases.new(bob.id, NOW)
        await tx.timeline.append(other.id, EventKind.CUSTOMER, "customer", "other", NOW)
        for n in range(150):
            at = NOW + timedelta(seconds=n)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", str(n), at)
    async with store.transaction() as tx:
        assert len(await tx.timeline.recent(case.id, limit=100)) == 100
        await tx.timeline.append(case.id, EventKind.ANSWER, "bot", "new", NOW + timedelta(hours=1))
        whole = await tx.timeline.whole(case.id)
        assert [e.text for e in whole] == [str(n) for n in range(150)] + ["new"]
        assert [e.text for e in await tx.timeline.whole(other.id)] == ["other"]
    async with store.transaction() as tx:
        assert len(await tx.timeline.whole(case.id)) == 151


async def test_agents_active_since_are_the_agents_with_their_latest_event(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        minute = timedelta(minutes=1)
        await tx.timeline.append(case.id, EventKind.CLAIM, "Maria", "claimed", NOW - 9 * minute)
        await tx.timeline.append(case.id, EventKind.AGENT, "Maria", "hi", NOW + minute)
        await tx.timeline.append(case.id, EventKind.NOTE, "Maria", "note", NOW + 2 * minute)
        await tx.timeline.append(case.id, EventKind.CLAIM, "Sam", "claimed", NOW - minute)
        await tx.timeline.append(case.id, EventKind.NOTE, "Lee", "note", NOW)
        for actor in ("customer", "bot", "system"):
            await tx.timeline.append(case.id, EventKind.STATE, actor, "x", NOW + 3 * minute)
    async with store.transaction() as tx:
        active = await tx.timeline.agents_active_since(NOW)
        assert active == {"Maria": NOW + 2 * minute, "Lee": NOW}  # Sam acted before NOW
        assert await tx.timeline.agents_active_since(NOW + 10 * minute) == {}
