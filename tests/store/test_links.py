"""Contract: `/link` codes and failed tries (`tx.links`)."""

from __future__ import annotations

from datetime import timedelta

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


async def test_failed_tries_are_counted_from_a_time(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        assert await tx.links.failures(ann.id, NOW) == 0
        for minutes in (0, 5, 10):
            await tx.links.add_failure(ann.id, NOW + timedelta(minutes=minutes))
        await tx.links.add_failure(bob.id, NOW)
        assert await tx.links.failures(ann.id, NOW) == 3
        assert await tx.links.failures(ann.id, NOW + timedelta(minutes=5)) == 2
        assert await tx.links.failures(bob.id, NOW) == 1
