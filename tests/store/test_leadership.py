"""Contract: leader election (`Store.leadership`). What only several processes on one
database show (one leader among them, the takeover when it dies) is in
tests/test_leader.py."""

from __future__ import annotations

import asyncio

from bot.store import Store


async def test_a_lone_process_leads_until_it_leaves(store: Store) -> None:
    async with store.leadership("reminders") as leadership:
        assert leadership.name == "reminders"
        async with asyncio.timeout(30):  # alone: it leads at its first try
            term = await leadership.gained()
        assert leadership.is_leader
        assert await leadership.gained() == term  # leading still: the same term
        ending = asyncio.create_task(leadership.lost(term))
        await asyncio.sleep(0)
        assert not ending.done()
    assert not leadership.is_leader
    async with asyncio.timeout(5):
        await ending  # leaving ends the term
    async with store.leadership("reminders") as again:  # and lets the name go
        async with asyncio.timeout(30):
            await again.gained()
        assert again.is_leader


async def test_names_are_led_each_on_its_own(store: Store) -> None:
    async with store.leadership("reminders") as one, store.leadership("telegram polling") as two:
        async with asyncio.timeout(30):
            await asyncio.gather(one.gained(), two.gained())
        assert one.is_leader and two.is_leader
