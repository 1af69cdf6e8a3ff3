"""What every backend's `Leadership` shares: the state, its terms and the waiting
for a change; and the leadership of a database one process writes (SQLite), which
that process always has."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Campaign:
    """A `Leadership` whose backend calls `_lead(True)` when it gains and
    `_lead(False)` when it loses."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._leader = False
        self._term = 0
        self._changed = asyncio.Event()

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_leader(self) -> bool:
        return self._leader

    def _lead(self, leader: bool) -> None:
        if leader == self._leader:
            return
        if leader:
            self._term += 1
        self._leader = leader
        # everyone waiting now is woken, whatever happens next (a loss and a new gain
        # before they run: their term is over all the same)
        self._changed.set()
        self._changed = asyncio.Event()

    async def gained(self) -> int:
        while not self._leader:
            await self._changed.wait()
        return self._term

    async def lost(self, term: int) -> None:
        while self._leader and self._term == term:
            await self._changed.wait()


@contextlib.asynccontextmanager
async def always(name: str) -> AsyncIterator[Campaign]:
    """The leadership of a database that one process writes: it leads from the
    start to the end of the block."""
    campaign = Campaign(name)
    campaign._lead(True)
    try:
        yield campaign
    finally:
        campaign._lead(False)
