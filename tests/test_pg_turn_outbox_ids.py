"""A turn's first outbox message takes its id from the turn's read on PostgreSQL
(bot/store/postgres/sql.py, session.py: one trip a message fewer). What must not
change with it: an address's messages go in the order they were enqueued, within a
turn and across processes (the id is taken after the customer's lock), and an id a
turn did not use is only a gap. Each "process" is a `PostgresStore` of its own."""

from __future__ import annotations

import asyncio

import pytest

from bot.model import Address, Cause, EventKind, Outbound
from bot.store import PostgresStore
from tests.store.conftest import ANN, HERE, NOW
from tests.test_postgres import until_a_lock_is_waited_for

pytestmark = pytest.mark.postgres


def reply(text: str) -> Outbound:
    return Outbound(HERE, text, Cause.REPLY)


async def pending_texts(store: PostgresStore, address: Address = HERE) -> list[str]:
    return [m.text for m, _ in await store.pending(address.channel, address.chat_id)]


async def test_a_turns_messages_keep_their_order(url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        for round_ in range(3):
            async with store.transaction() as tx:
                arrived = await tx.customers.arrive(f"k{round_}", ANN, "Ann", HERE, NOW)
                assert arrived is not None
                for n in range(3):
                    await tx.outbox.enqueue(reply(f"r{round_}.{n}"), NOW)
        assert await pending_texts(store) == [f"r{r}.{n}" for r in range(3) for n in range(3)]
        ids = [m.id for m, _ in await store.pending(HERE.channel)]
        assert ids == sorted(ids) and len(set(ids)) == 9
    finally:
        await store.close()


async def test_one_customers_turns_on_two_processes_go_out_in_turn_order(url: str) -> None:
    """The first process's turn has read (and taken its id) and holds the customer's
    lock while the second's turn waits for it; the first enqueues only then, after
    the second began. The second's reply still goes after the first's."""
    one, two = PostgresStore(url), PostgresStore(url)
    await one.open()
    await two.open()
    first_read, second_started = asyncio.Event(), asyncio.Event()

    async def turn(store: PostgresStore, text: str, hold: bool) -> None:
        async with store.transaction() as tx:
            arrived = await tx.customers.arrive(f"key-{text}", ANN, "Ann", HERE, NOW)
            assert arrived is not None
            customer, _ = arrived
            case = await tx.cases.latest(customer.id)
            if case is None or not case.is_open:
                case = await tx.cases.new(customer.id, NOW)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", text, NOW)
            if hold:
                first_read.set()
                await second_started.wait()
                await until_a_lock_is_waited_for(store)
            await tx.outbox.enqueue(reply(f"{text} reply"), NOW)
            await tx.outbox.enqueue(reply(f"{text} more"), NOW)

    async def second() -> None:
        await first_read.wait()
        second_started.set()
        await turn(two, "second", hold=False)

    try:
        await asyncio.gather(turn(one, "first", hold=True), second())
        expected = ["first reply", "first more", "second reply", "second more"]
        assert await pending_texts(one) == expected
        assert await pending_texts(two) == expected
    finally:
        await one.close()
        await two.close()


async def test_an_id_a_turn_did_not_use_is_a_gap_and_nothing_else(url: str) -> None:
    """A redelivered event's turn reads (taking an id) and enqueues nothing; a turn
    that only reads likewise. What is enqueued after, by turns and outside them,
    keeps its order."""
    store = PostgresStore(url)
    await store.open()
    try:
        async with store.transaction() as tx:
            assert await tx.customers.arrive("seen", ANN, "Ann", HERE, NOW) is not None
            await tx.outbox.enqueue(reply("one"), NOW)
        async with store.transaction() as tx:  # the same event again: seen, nothing sent
            assert await tx.customers.arrive("seen", ANN, "Ann", HERE, NOW) is None
        async with store.transaction() as tx:  # a turn that sends nothing
            assert await tx.customers.arrive("quiet", ANN, "Ann", HERE, NOW) is not None
        async with store.transaction() as tx:  # no turn: an id from the sequence
            await tx.outbox.enqueue(reply("two"), NOW)
        async with store.transaction() as tx:
            assert await tx.customers.arrive("last", ANN, "Ann", HERE, NOW) is not None
            await tx.outbox.enqueue(reply("three"), NOW)
        assert await pending_texts(store) == ["one", "two", "three"]
    finally:
        await store.close()
