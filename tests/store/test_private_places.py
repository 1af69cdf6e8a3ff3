"""Contract: whether a place is private is kept wherever an address is (an identity's
last address, an outbox message, where a case's words were said), and where a
case's words were said is erased with the customer."""

from __future__ import annotations

from dataclasses import replace

from bot.model import Address, Cause, Delivery, Outbound
from bot.store import Store
from tests.store.conftest import ANN, NOW

DM = Address("test", "ann", private=True)
ROOM = Address("test", "room", "17")


async def test_a_private_place_is_kept_private_everywhere_it_is_stored(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", DM, NOW)
        case = await tx.cases.new(ann.id, NOW)
        await tx.cases.update(replace(case, reply_to=DM))
        delivery = Delivery(private=True, private_to="ann")
        await tx.outbox.enqueue(Outbound(ROOM, "4242", Cause.REPLY, ann.id, case.id), NOW)
        await tx.outbox.enqueue(
            Outbound(DM, "4242", Cause.REPLY, ann.id, case.id, delivery=delivery), NOW
        )
    async with store.transaction() as tx:
        where = await tx.customers.address_of(ann.id)
        assert where == DM and where.private
        got = await tx.cases.get(case.id)
        assert got is not None and got.reply_to == DM and got.reply_to.private
    [(shared, _), (private, _)] = await store.pending("test")
    assert not shared.address.private
    assert private.address.private and private.delivery == delivery
    async with store.transaction() as tx:
        await tx.cases.update(replace(case, reply_to=ROOM))
    async with store.transaction() as tx:
        got = await tx.cases.get(case.id)
        assert got is not None and got.reply_to == ROOM and not got.reply_to.private


async def test_where_a_case_s_words_were_said_is_erased_with_the_customer(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", DM, NOW)
        case = await tx.cases.new(ann.id, NOW)
        await tx.cases.update(replace(case, reply_to=DM))
        await tx.forget_customer(ann.id, NOW)
    async with store.transaction() as tx:
        got = await tx.cases.get(case.id)
        assert got is not None and got.reply_to is None
