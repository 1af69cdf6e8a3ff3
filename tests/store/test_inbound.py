"""Contract: the dedupe log (`tx.inbound`, and `tx.customers.arrive` with it)."""

from __future__ import annotations

from bot.model import Address, Identity
from bot.store import Store
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE


async def test_dedupe_keys_are_per_channel(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.inbound.first_seen("telegram", "1", NOW)
        assert not await tx.inbound.first_seen("telegram", "1", NOW)
        assert await tx.inbound.first_seen("slack", "1", NOW)


async def test_a_key_stays_seen_in_later_transactions(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.inbound.first_seen("telegram", "update-7", NOW)
    async with store.transaction() as tx:
        assert not await tx.inbound.first_seen("telegram", "update-7", NOW)


async def test_arrive_is_first_seen_and_for_identity_in_one(store: Store) -> None:
    async with store.transaction() as tx:
        arrived = await tx.customers.arrive("k1", ANN, "Ann", HERE, NOW)
        assert arrived is not None
        ann, new = arrived
        assert new and ann.name == "Ann"
        assert await tx.customers.arrive("k1", ANN, "Ann", HERE, NOW) is None
    async with store.transaction() as tx:
        assert await tx.customers.arrive("k1", ANN, "Ann", HERE, NOW) is None  # still seen
        # the same key on the same channel is the same event, whoever it seems to be from
        assert await tx.customers.arrive("k1", BOB, "Bob", THERE, NOW) is None
        assert not await tx.inbound.first_seen("test", "k1", NOW)  # one log for both
        again = await tx.customers.arrive("k2", ANN, "Ann", HERE, NOW)
        assert again == (ann, False)
    assert await store.customer_by_identity(BOB) is None  # a repeat changed nothing
    elsewhere = Identity("slack", "T1", "ann")
    async with store.transaction() as tx:  # the same key on another channel is another event
        assert await tx.customers.arrive("k1", elsewhere, "Ann", Address("slack", "D1"), NOW)


async def test_a_key_seen_by_first_seen_is_seen_by_arrive(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.inbound.first_seen("test", "k9", NOW)
        assert await tx.customers.arrive("k9", ANN, "Ann", HERE, NOW) is None
    assert await store.customer_by_identity(ANN) is None
