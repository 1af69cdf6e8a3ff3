"""Contract: customers and their identities (`tx.customers`)."""

from __future__ import annotations

from datetime import timedelta

from bot.model import Address, Identity
from bot.store import Store
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE


async def test_an_identity_is_one_customer_created_once(store: Store) -> None:
    async with store.transaction() as tx:
        ann, new = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        assert new and ann.name == "Ann" and ann.created_at == NOW and ann.last_seen_at is None
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        assert bob.id != ann.id
    async with store.transaction() as tx:
        again, new = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        assert (again, new) == (ann, False)
        assert await tx.customers.get(ann.id) == ann
        assert await tx.customers.get(ann.id + bob.id + 1) is None
    assert await store.customer_by_identity(ANN) == ann
    assert await store.customer_by_identity(Identity("test", "other", "ann")) is None


async def test_a_new_name_replaces_the_old_and_no_name_keeps_it(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        renamed, _ = await tx.customers.for_identity(ANN, "Ann Smith", HERE, NOW)
        assert renamed.name == "Ann Smith" and renamed.id == ann.id
        kept, _ = await tx.customers.for_identity(ANN, "", HERE, NOW)
        assert kept.name == "Ann Smith"
    assert (await store.customer_by_identity(ANN)) == kept


async def test_touch_records_when_the_customer_was_last_seen(store: Store) -> None:
    later = NOW + timedelta(minutes=5)
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        await tx.customers.touch(ann.id, later)
        touched = await tx.customers.get(ann.id)
        assert touched is not None and touched.last_seen_at == later
    found = await store.customer_by_identity(ANN)
    assert found is not None and found.last_seen_at == later


async def test_replies_follow_the_customer_to_where_they_wrote_last(store: Store) -> None:
    on_slack = Identity("slack", "T1", "U1")
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        other, _ = await tx.customers.for_identity(
            on_slack, "Ann", Address("slack", "D1"), NOW + timedelta(seconds=1)
        )
        assert await tx.customers.address_of(ann.id) == HERE
        await tx.merge_customers(ann.id, other.id, NOW + timedelta(seconds=2))
        # the identity used last is Slack's
        assert await tx.customers.address_of(ann.id) == Address("slack", "D1")
        moved = Address("test", "ann", "thread-2")
        await tx.customers.for_identity(ANN, "Ann", moved, NOW + timedelta(seconds=3))
        assert await tx.customers.address_of(ann.id) == moved
        assert await tx.customers.address_of(other.id) is None  # merged away: no identity
