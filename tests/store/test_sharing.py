"""Contract: the outbox shared between processes (`OutboxSharing`, and
`tx.outbox.owned`). What every backend does for one process; what only several
processes on one PostgreSQL show is in tests/test_shared_outbox.py."""

from __future__ import annotations

import asyncio

from bot.store import Store

ANN, BOB = ("test", "ann"), ("test", "bob")


async def test_a_process_joins_and_is_counted_live(store: Store) -> None:
    assert await store.join("p1", 30) == 1
    assert await store.join("p1", 30) == 1  # again: renewed, not counted twice


async def test_a_process_owns_what_it_claims_until_it_releases_it(store: Store) -> None:
    await store.join("p1", 30)
    assert await store.claim("p1", [ANN, BOB], 30) == {ANN, BOB}
    assert await store.claim("p1", [ANN], 30) == {ANN}  # renewed
    assert await store.claim("p1", [], 30) == set()
    async with store.transaction() as tx:
        assert await tx.outbox.owned("p1", *ANN)
    await store.release("p1", [ANN])
    await store.release("p1")  # everything, and the heartbeat
    assert await store.claim("p1", [ANN], 30) == {ANN}  # free again


async def test_watching_says_when_it_listens_and_stops_when_cancelled(store: Store) -> None:
    listening = asyncio.Event()
    watch = asyncio.create_task(store.watch(lambda chat: None, listening.set))
    async with asyncio.timeout(30):
        await listening.wait()
    watch.cancel()
    await asyncio.gather(watch, return_exceptions=True)
    assert watch.done()


async def test_a_claim_takes_at_most_its_limit_the_first_wanted_first(store: Store) -> None:
    """(Where one process sends, it owns every chat: all of them, none taken.)"""
    await store.join("p1", 30)
    got = await store.claim("p1", [ANN, BOB], 30, limit=1)
    assert ANN in got and got <= {ANN, BOB} and not got.taken
    assert await store.claim("p1", [ANN, BOB], 30, limit=0) >= {ANN}  # its own: renewed
    assert await store.claim("p1", [BOB, ANN], 30) == {ANN, BOB}


async def test_a_chat_released_for_later_is_still_the_processs_until_claimed(
    store: Store,
) -> None:
    """Released with a spacing still to pass: its record of a send made before
    counts (the fence), and it may claim the chat back."""
    await store.join("p1", 30)
    assert await store.claim("p1", [ANN, BOB], 30) == {ANN, BOB}
    await store.release("p1", [ANN], 30)
    await store.release("p1", [BOB], 0)
    async with store.transaction() as tx:
        assert await tx.outbox.owned("p1", *ANN)
    got = await store.claim("p1", [ANN], 30)
    assert got == {ANN} and not got.taken
    await store.release("p1", None, 30)  # everything, and the heartbeat
    assert await store.claim("p1", [ANN, BOB], 30) == {ANN, BOB}
