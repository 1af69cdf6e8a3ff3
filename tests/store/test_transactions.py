"""Contract: transactions commit whole or not at all, survive a reopen, and group
commit (`shared`) stores each member's writes only with the whole group's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.model import Address, EventKind, Identity
from bot.store import GroupAborted, Store, StoreError
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE, Backend


async def test_an_existing_database_keeps_its_data_when_reopened(
    backend: Backend, tmp_path: Path
) -> None:
    store = backend.make(tmp_path)
    await store.open()
    async with store.transaction() as tx:
        customer, new = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(customer.id, NOW)
        await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "hello", NOW)
    await store.close()
    again = backend.make(tmp_path)
    await again.open()
    try:
        found = await again.customer_by_identity(ANN)
        assert found is not None and found.name == "Ann"
        [event] = await again.events_of(case.id)
        assert event.text == "hello" and new
    finally:
        await again.close()


async def test_a_rolled_back_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.inbound.first_seen("test", "k", NOW)
            await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
            raise RuntimeError("crash before commit")
    assert await store.customer_by_identity(ANN) is None
    async with store.transaction() as tx:
        assert await tx.inbound.first_seen("test", "k", NOW)  # the key was not kept either


async def test_a_transaction_reads_its_own_writes(store: Store) -> None:
    async with store.transaction() as tx:
        customer, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(customer.id, NOW)
        await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "first", NOW)
        assert await tx.customers.get(customer.id) == customer
        assert await tx.cases.get(case.id) == case
        assert await tx.cases.latest(customer.id) == case
        assert [e.text for e in await tx.timeline.recent(case.id)] == ["first"]


async def test_a_closing_store_starts_no_new_transaction(backend: Backend, tmp_path: Path) -> None:
    """While close() lets a running group finish, nothing new may begin: a
    transaction started then could commit what a cancelled member still writes."""
    store = backend.make(tmp_path)
    await store.open()
    inside, release = asyncio.Event(), asyncio.Event()

    async def member() -> None:
        async with store.shared() as tx:
            assert await tx.inbound.first_seen("test", "in the group", NOW)
            inside.set()
            await release.wait()

    running = asyncio.create_task(member())
    await inside.wait()
    closing = asyncio.create_task(store.close())
    await asyncio.sleep(0.05)
    with pytest.raises(StoreError, match="closing"):
        async with store.transaction():
            pass
    with pytest.raises(StoreError, match="closing"):
        async with store.shared():
            pass
    release.set()
    await running  # the group it was in still commits
    await closing
    again = backend.make(tmp_path)
    await again.open()
    try:
        async with again.transaction() as tx:
            assert not await tx.inbound.first_seen("test", "in the group", NOW)
    finally:
        await again.close()


async def test_members_of_a_group_commit_together_and_each_sees_its_own_writes(
    store: Store,
) -> None:
    both_in = asyncio.Barrier(2)
    seen: dict[str, list[str]] = {}

    async def member(who: str, identity: Identity, address: Address) -> None:
        async with store.shared() as tx:
            customer, _ = await tx.customers.for_identity(identity, who, address, NOW)
            case = await tx.cases.new(customer.id, NOW)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", f"{who} here", NOW)
            await both_in.wait()  # both inside one group at once
            seen[who] = [e.text for e in await tx.timeline.recent(case.id)]

    await asyncio.gather(member("Ann", ANN, HERE), member("Bob", BOB, THERE))
    assert seen == {"Ann": ["Ann here"], "Bob": ["Bob here"]}
    for identity, text in ((ANN, "Ann here"), (BOB, "Bob here")):
        customer = await store.customer_by_identity(identity)
        assert customer is not None
        [case] = await store.cases_of(customer.id)
        assert [e.text for e in await store.events_of(case.id)] == [text]


async def test_a_failing_member_rolls_the_whole_group_back(store: Store) -> None:
    both_in = asyncio.Barrier(2)

    async def failing() -> None:
        async with store.shared() as tx:
            await tx.inbound.first_seen("test", "a", NOW)
            await both_in.wait()
            raise RuntimeError("a bug in this member's turn")

    async def other() -> None:
        async with store.shared() as tx:
            await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
            assert await tx.inbound.first_seen("test", "b", NOW)
            await both_in.wait()

    results = await asyncio.gather(failing(), other(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert isinstance(results[1], GroupAborted)
    assert await store.customer_by_identity(BOB) is None
    async with store.transaction() as tx:  # nothing of either was kept; the store works on
        assert await tx.inbound.first_seen("test", "a", NOW)
        assert await tx.inbound.first_seen("test", "b", NOW)
