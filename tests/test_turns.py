"""`adapters.turns`: who sends next into a paced chat shared by every case (issue 14,
finding 8). No clock: the order is decided when the holder lets go."""

from __future__ import annotations

import asyncio

from adapters.turns import Turns


async def until_waiting(turns: Turns, count: int) -> None:
    """Let the tasks run until `count` of them wait for a turn (no clock: each step
    of the loop lets every ready task run once)."""
    for _ in range(100):
        if turns.waiting >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{turns.waiting} waiting, not {count}")


async def test_cards_go_first_then_the_cases_take_turns() -> None:
    turns = Turns()
    order: list[str] = []
    let_go = asyncio.Event()

    async def holder() -> None:
        async with turns.turn("ann"):
            order.append("ann-0")
            await let_go.wait()

    async def lane(name: str, count: int, *, card_first: bool = False) -> None:
        for n in range(count):
            async with turns.turn(name, first=card_first and n == 0):
                order.append(f"{name}-{n + 1 if name == 'ann' else n}")

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    ann = asyncio.create_task(lane("ann", 5))  # Ann's lane: her next messages
    cem = asyncio.create_task(lane("cem", 2))
    for _ in range(3):
        await asyncio.sleep(0)
    bob = asyncio.create_task(lane("bob", 2, card_first=True))  # a new case's card, last to come
    await until_waiting(turns, 3)
    let_go.set()
    await asyncio.gather(first, ann, cem, bob)
    assert order[0] == "ann-0"
    assert order[1] == "bob-0"  # the new card, though it came last
    # then round-robin: nobody waits behind another case's whole queue
    assert order[2:8] == ["cem-0", "ann-1", "bob-1", "cem-1", "ann-2", "ann-3"]
    assert order[8:] == ["ann-4", "ann-5"]


async def test_a_waiter_cancelled_gives_up_its_place_and_others_go_on() -> None:
    turns = Turns()
    order: list[str] = []
    let_go = asyncio.Event()

    async def holder() -> None:
        async with turns.turn("a"):
            await let_go.wait()

    async def one(name: str) -> None:
        async with turns.turn(name):
            order.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    gone = asyncio.create_task(one("b"))
    stays = asyncio.create_task(one("c"))
    await until_waiting(turns, 2)
    gone.cancel()
    let_go.set()
    await asyncio.gather(first, stays)
    assert order == ["c"]
    assert gone.cancelled()
    async with turns.turn("d"):  # free again
        order.append("d")
    assert order == ["c", "d"] and turns.waiting == 0
