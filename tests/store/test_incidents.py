"""Contract: incidents, their updates and subscribers (`tx.incidents`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.model import CaseState, EventKind
from bot.store import Store
from bot.text import MAX_MATCHED
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE, new_customer


async def test_an_incident_from_open_to_resolved_with_its_latest_update(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.incidents.open_ones() == []
        first = await tx.incidents.open("Card payments fail", "checkout", ["card"], "Maria", NOW)
        second = await tx.incidents.open("Slow login", "", ["login", "slow"], "Sam", NOW)
        incident = await tx.incidents.get(first)
        assert incident is not None
        assert (incident.title, incident.affected, incident.words) == (
            "Card payments fail",
            "checkout",
            ("card",),
        )
        assert (incident.state, incident.opened_by, incident.opened_at) == ("open", "Maria", NOW)
        assert (incident.latest, incident.latest_at, incident.resolved_at) == ("", None, None)
        later = NOW + timedelta(minutes=5)
        await tx.incidents.add_update(first, "Maria", "Rolling back", later)
        await tx.incidents.add_update(first, "Sam", "Rolled back", later)
        assert [i.id for i in await tx.incidents.open_ones()] == [first, second]
    done = NOW + timedelta(minutes=30)
    async with store.transaction() as tx:
        updated = await tx.incidents.get(first)
        assert updated is not None and (updated.latest, updated.latest_at) == ("Rolled back", later)
        await tx.incidents.add_update(first, "Maria", "Fixed", done, resolve=True)
        resolved = await tx.incidents.get(first)
        assert resolved is not None and resolved.state == "resolved"
        assert (resolved.resolved_at, resolved.latest) == (done, "Fixed")
        assert [i.id for i in await tx.incidents.open_ones()] == [second]
        assert await tx.incidents.get(second + 1) is None


async def test_an_incident_opened_after_the_turn_read_is_open(store: Store) -> None:
    """A store may learn at the turn's read that no incident is open; an incident
    opened later in the same transaction is open all the same."""
    async with store.transaction() as tx:
        assert await tx.customers.arrive("k", ANN, "Ann", HERE, NOW) is not None
        assert await tx.incidents.open_ones() == []
        number = await tx.incidents.open("Outage", "", ["outage"], "Maria", NOW)
        assert [i.id for i in await tx.incidents.open_ones()] == [number]


async def test_subscribers_are_told_apart_and_counted_once(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        one = await tx.incidents.open("One", "", [], "Maria", NOW)
        two = await tx.incidents.open("Two", "", [], "Maria", NOW)
        assert await tx.incidents.subscribe(one, bob.id, NOW)
        assert await tx.incidents.subscribe(one, ann.id, NOW)
        assert not await tx.incidents.subscribe(one, ann.id, NOW)
        assert await tx.incidents.subscribe(two, ann.id, NOW)
        assert await tx.incidents.subscribers(one) == sorted([ann.id, bob.id])
        assert await tx.incidents.subscribers(two) == [ann.id]
        assert sorted(await tx.incidents.subscriptions(ann.id)) == [one, two]
        assert await tx.incidents.subscriptions(bob.id) == [one]


async def test_the_public_incidents_open_and_lately_resolved_without_names(store: Store) -> None:
    """What the status page reads: the open incidents and those resolved since the
    given moment, the latest opened first, every update newest first, no author."""
    hour = timedelta(hours=1)
    async with store.transaction() as tx:
        old = await tx.incidents.open("Old outage", "", [], "Maria", NOW - 60 * 24 * hour)
        await tx.incidents.add_update(
            old, "Maria", "Fixed long ago", NOW - 59 * 24 * hour, resolve=True
        )
        recent = await tx.incidents.open("Slow login", "login", [], "Sam", NOW - 5 * hour)
        await tx.incidents.add_update(recent, "Sam", "Looking into it", NOW - 4 * hour)
        await tx.incidents.add_update(recent, "Sam", "Fixed", NOW - 3 * hour, resolve=True)
        current = await tx.incidents.open("Card payments fail", "checkout", [], "Maria", NOW - hour)
        await tx.incidents.add_update(current, "Maria", "First", NOW)
        await tx.incidents.add_update(current, "Maria", "Second, same moment", NOW)
        quiet = await tx.incidents.open("Email delays", "", [], "Maria", NOW - hour)
    async with store.reporting() as reports:
        found = await reports.public_incidents(NOW - 30 * 24 * hour)
        later = await reports.public_incidents(NOW - 2 * hour)
    assert [i.id for i in found] == [quiet, current, recent]
    assert [i.id for i in later] == [quiet, current]
    by_id = {i.id: i for i in found}
    assert [(u.text, u.at) for u in by_id[current].updates] == [
        ("Second, same moment", NOW),
        ("First", NOW),
    ]
    assert [u.text for u in by_id[recent].updates] == ["Fixed", "Looking into it"]
    assert by_id[quiet].updates == ()
    assert (by_id[recent].state, by_id[recent].resolved_at) == ("resolved", NOW - 3 * hour)
    assert (by_id[current].title, by_id[current].affected) == ("Card payments fail", "checkout")
    assert by_id[current].opened_at == NOW - hour and by_id[current].resolved_at is None
    assert not any(hasattr(i, "opened_by") or hasattr(i, "author") for i in found)


async def test_cases_since_gives_open_and_recently_resolved_cases_with_the_customer_words(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        old = await tx.cases.new(await new_customer(tx, "old"), NOW - timedelta(days=9))
        await tx.timeline.append(old.id, EventKind.CUSTOMER, "old", "sepa fails", NOW)
        await tx.cases.update(
            replace(old, state=CaseState.RESOLVED, resolved_at=NOW - timedelta(days=8))
        )
        recent = await tx.cases.new(await new_customer(tx, "recent"), NOW - timedelta(days=2))
        await tx.timeline.append(recent.id, EventKind.CUSTOMER, "recent", "SEPA is down", NOW)
        await tx.timeline.append(recent.id, EventKind.ANSWER, "bot", "Payments article", NOW)
        await tx.timeline.append(recent.id, EventKind.EDIT, "recent", "SEPA is down!", NOW)
        await tx.cases.update(
            replace(recent, state=CaseState.RESOLVED, resolved_at=NOW - timedelta(hours=3))
        )
        open_ = await tx.cases.new(await new_customer(tx, "open"), NOW)
        await tx.timeline.append(open_.id, EventKind.CUSTOMER, "open", "x" * 5000, NOW)
        silent = await tx.cases.new(await new_customer(tx, "silent"), NOW)
    async with store.transaction() as tx:
        found = await tx.incidents.cases_since(NOW - timedelta(hours=72), 10)
        assert [(c.case_id, c.state) for c in found] == [
            (silent.id, "bot"),
            (open_.id, "bot"),
            (recent.id, "resolved"),
        ]
        assert found[0].words == () and found[1].words == ("x" * MAX_MATCHED,)
        assert found[2].words == ("SEPA is down", "SEPA is down!")
        assert found[2].customer_id == recent.customer_id
        newest = await tx.incidents.cases_since(NOW - timedelta(hours=72), 2)
        assert [c.case_id for c in newest] == [silent.id, open_.id]  # the limit: newest first
        everything = await tx.incidents.cases_since(NOW - timedelta(days=30), 10)
        assert old.id in [c.case_id for c in everything]


async def test_an_incident_keeps_its_community_place(store: Store) -> None:
    async with store.transaction() as tx:
        plain = await tx.incidents.open("Outage", "", ["outage"], "Maria", NOW)
        shared = await tx.incidents.open(
            "SEPA", "", ["sepa"], "Maria", NOW, community="https://t.me/northwind_sepa"
        )
    async with store.transaction() as tx:
        assert [(i.id, i.community) for i in await tx.incidents.open_ones()] == [
            (plain, ""),
            (shared, "https://t.me/northwind_sepa"),
        ]
