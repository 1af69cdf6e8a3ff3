"""Contract: notice settings and held notices (`tx.notices`)."""

from __future__ import annotations

from datetime import timedelta

from bot.model import Cause, Outbound
from bot.store import Store
from tests.store.conftest import ANN, HERE, NOW, new_customer


async def test_settings_default_to_nothing_and_are_kept(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.notices.quiet_of(12345) == (None, False, "")
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        assert await tx.notices.quiet_of(ann.id) == (None, False, "")
        until = NOW + timedelta(hours=8)
        await tx.notices.set_quiet(ann.id, muted_until=until, until_write=False)
        assert await tx.notices.quiet_of(ann.id) == (until, False, "")
        await tx.notices.set_quiet(
            ann.id, muted_until=None, until_write=True, quiet_hours="22:00-07:00"
        )
        assert await tx.notices.quiet_of(ann.id) == (None, True, "22:00-07:00")
    async with store.transaction() as tx:
        arrived = await tx.customers.arrive("k", ANN, "Ann", HERE, NOW)  # the turn's read
        assert arrived is not None
        assert await tx.notices.quiet_of(ann.id) == (None, True, "22:00-07:00")
        await tx.notices.set_quiet(ann.id, muted_until=None, until_write=False)  # hours stay
        assert await tx.notices.quiet_of(ann.id) == (None, False, "22:00-07:00")
        await tx.notices.set_quiet(ann.id, muted_until=None, until_write=False, quiet_hours="")
        assert await tx.notices.quiet_of(ann.id) == (None, False, "")


async def test_held_notices_wait_and_are_released_replies_never_wait(store: Store) -> None:
    later = NOW + timedelta(hours=9)
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        notice = Outbound(HERE, "incident update", Cause.INCIDENT, customer_id=ann.id)
        held = await tx.outbox.enqueue(notice, NOW)
        await tx.notices.hold(held, later)
        idea = await tx.outbox.enqueue(Outbound(HERE, "idea", Cause.IDEA, ann.id), NOW)
        await tx.notices.hold(idea, later)
        reply = await tx.outbox.enqueue(Outbound(HERE, "reply", Cause.REPLY, ann.id), NOW)
        await tx.outbox.mark_retry(reply, later, "429")
    due = [(m.text, at) for m, at in await store.pending("test", now=NOW)]
    assert due == [("reply", later)]  # held notices never hold anything up; a retry is listed
    everything = {m.text: (m.attempts, at) for m, at in await store.pending("test")}
    assert everything == {"incident update": (0, later), "idea": (0, later), "reply": (1, later)}
    async with store.transaction() as tx:
        assert await tx.notices.release(ann.id, NOW) == 2
        assert await tx.notices.release(ann.id, NOW) == 0
    due = [(m.text, at) for m, at in await store.pending("test", now=NOW)]
    assert due == [("incident update", NOW), ("idea", NOW), ("reply", later)]


async def test_community_places_are_offered_once_per_case_and_can_be_turned_off(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        ann = await new_customer(tx, "ann")
        case = await tx.cases.new(ann, NOW)
        assert not await tx.notices.community_off(ann)
        assert not await tx.notices.community_off(ann + 99)  # nobody
        await tx.notices.set_community_off(ann, True)
        assert await tx.notices.offer_community(case.id, NOW)
        assert not await tx.notices.offer_community(case.id, NOW)
    async with store.transaction() as tx:
        assert await tx.notices.community_off(ann)
        assert not await tx.notices.offer_community(case.id, NOW)
        await tx.notices.set_community_off(ann, False)
        assert not await tx.notices.community_off(ann)
        other = await tx.cases.new(await new_customer(tx, "bob"), NOW)
        assert await tx.notices.offer_community(other.id, NOW)
