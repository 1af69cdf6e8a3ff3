"""Contract: `/link` codes and failed tries (`tx.links`)."""

from __future__ import annotations

from datetime import timedelta

from bot.model import PendingLink
from bot.store import Store
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE


async def test_a_code_is_taken_once_and_only_while_valid(store: Store) -> None:
    expires = NOW + timedelta(minutes=10)
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        await tx.links.add_code(ann.id, "ABCD-1234", NOW, expires)
        await tx.links.add_code(bob.id, "BOBS-CODE", NOW, NOW + timedelta(minutes=1))
        assert await tx.links.take_code("WXYZ-0000", NOW) is None
    async with store.transaction() as tx:
        assert await tx.links.take_code("ABCD-1234", NOW + timedelta(minutes=9)) == ann.id
        assert await tx.links.take_code("ABCD-1234", NOW + timedelta(minutes=9)) is None
        assert await tx.links.take_code("BOBS-CODE", NOW + timedelta(minutes=2)) is None  # expired


async def test_a_new_code_replaces_the_customer_s_earlier_one(store: Store) -> None:
    expires = NOW + timedelta(minutes=10)
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        await tx.links.add_code(ann.id, "OLD0-CODE", NOW, expires)
        await tx.links.add_code(ann.id, "NEW0-CODE", NOW, expires)
        assert await tx.links.take_code("OLD0-CODE", NOW) is None
        assert await tx.links.take_code("NEW0-CODE", NOW) == ann.id


async def test_failed_tries_are_counted_per_identity_from_a_time(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.links.failures(ANN, NOW) == 0
        for minutes in (0, 5, 10):
            await tx.links.add_failure(ANN, NOW + timedelta(minutes=minutes))
        await tx.links.add_failure(BOB, NOW)
        assert await tx.links.failures(ANN, NOW) == 3
        assert await tx.links.failures(ANN, NOW + timedelta(minutes=5)) == 2
        assert await tx.links.failures(BOB, NOW) == 0  # before that time: no longer kept


async def test_failed_tries_outlast_forgetting_the_customer(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        await tx.links.add_failure(ANN, NOW)
        await tx.forget_customer(ann.id, NOW)
    async with store.transaction() as tx:
        await tx.customers.for_identity(ANN, "Ann", HERE, NOW)  # back, as someone new
        assert await tx.links.failures(ANN, NOW) == 1


async def test_a_pending_link_waits_for_both_and_lapses(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        first = await tx.links.pend(ann.id, bob.id, NOW, NOW + timedelta(minutes=30))
        second = await tx.links.pend(ann.id, bob.id, NOW, NOW + timedelta(minutes=30))
        assert first != second
        found = await tx.links.pending(first, NOW)
        assert found == PendingLink(first, ann.id, bob.id, False, NOW + timedelta(minutes=30))
        await tx.links.entered_yes(first, NOW + timedelta(minutes=40))
    async with store.transaction() as tx:
        found = await tx.links.pending(first, NOW + timedelta(minutes=35))
        assert found is not None and found.entered_yes
        assert await tx.links.pending(second, NOW + timedelta(minutes=35)) is None  # lapsed
        await tx.links.drop_pending(first)
        assert await tx.links.pending(first, NOW) is None
        assert await tx.links.pending(first + 99, NOW) is None


async def test_forgetting_either_side_drops_its_pending_links(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        asked = await tx.links.pend(ann.id, bob.id, NOW, NOW + timedelta(minutes=30))
        entered = await tx.links.pend(bob.id, ann.id, NOW, NOW + timedelta(minutes=30))
        await tx.forget_customer(bob.id, NOW)
        assert await tx.links.pending(asked, NOW) is None
        assert await tx.links.pending(entered, NOW) is None
