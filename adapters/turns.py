"""Taking turns at a paced chat, fairly between cases.

Telegram lets a bot post about 20 messages a minute into one group, and the staff
group is one group for every case. python-telegram-bot's AIORateLimiter keeps to
that pace (and stays the one that does), but it serves callers in the order they
come and knows nothing of cases: one customer writing 90 messages put 90 relays
ahead of another customer's new card, 91 s of waiting at 20 a minute.

So in front of it, one message at a time per paced chat is let through, chosen
here: a new card first (an unclaimed case nobody has seen yet), then the lane
(the case) served longest ago, so that cases take turns, round-robin. The outbox
sends each case's desk messages in order and cases concurrently (its lanes), so
every case waiting has its next message here. Neither aiolimiter nor the rate
limiter offers priorities or keyed fairness, hence this small scheduler. When
Telegram answers 429 in the group, the turns after it wait the `retry_after` out:
with cases sent concurrently, each would otherwise meet the 429 in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field

KEEP = 4096  # lanes whose last turn is remembered while others wait


@dataclass(slots=True)
class _Waiter:
    first: bool
    seq: int
    lane: Hashable
    future: asyncio.Future[None] = field(repr=False)


class Turns:
    """Who goes next at one paced chat. Use `async with turns.turn(lane, first=...)`
    around the calls of one message; one message holds the turn at a time."""

    def __init__(self) -> None:
        self._holding = False
        self._waiting: list[_Waiter] = []
        self._served: dict[Hashable, int] = {}  # a lane's last turn, by order
        self._order = itertools.count()
        self._resume_at = 0.0  # loop time when the chat takes messages again (a 429)

    @property
    def waiting(self) -> int:
        """How many messages wait for their turn."""
        return len(self._waiting)

    def hold_off(self, seconds: float) -> None:
        """The chat's budget is spent (a 429): the next turns wait this long, rather
        than every case trying in turn and meeting the 429 again."""
        resume = asyncio.get_running_loop().time() + seconds
        self._resume_at = max(self._resume_at, resume)

    @contextlib.asynccontextmanager
    async def turn(self, lane: Hashable, *, first: bool = False) -> AsyncIterator[Turns]:
        await self._take(lane, first)
        try:
            wait = self._resume_at - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
            yield self
        finally:
            self._pass_on()

    async def _take(self, lane: Hashable, first: bool) -> None:
        if not self._holding:
            self._holding = True
            self._served[lane] = next(self._order)
            return
        waiter = _Waiter(first, next(self._order), lane, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self._pass_on()  # the turn was given to it as it was cancelled: pass it on
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    def _pass_on(self) -> None:
        while self._waiting:
            best = min(
                self._waiting,
                key=lambda w: (not w.first, self._served.get(w.lane, -1), w.seq),
            )
            self._waiting.remove(best)
            if best.future.done():
                continue  # cancelled while waiting
            self._served[best.lane] = next(self._order)
            if len(self._served) > KEEP:
                lanes = {w.lane for w in self._waiting} | {best.lane}
                self._served = {k: v for k, v in self._served.items() if k in lanes}
            best.future.set_result(None)
            return
        self._holding = False
        self._served.clear()  # nobody waits: nothing to be fair about
