"""Every terminal desk sees every desk message, once each.

Several `candor desk` may run on one database (one per agent). The outbox sends a
desk message once, through whichever of them takes it; that records it as sent
(and its case's thread), and prints nothing. What each terminal shows comes from
here instead: every message to the terminal desk, sent or still to be, that this
agent's terminal has not shown yet (`tx.desk.unseen`), in order; each recorded as
shown (`tx.desk.saw`) once it is on the screen. So a desk that was down shows, when
it starts again, what came meanwhile, and nothing it showed before. A desk killed
between showing a message and recording it shows that one message again: never
one lost. An agent's terminal desk is the viewer (one per agent); the first time it
runs it starts with what no desk has sent yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.console.platform import TERMINAL_DESK
from bot.model import Outbound
from bot.store import Store

log = logging.getLogger(__name__)


class DeskFeed:
    """One agent's terminal desk: shows it what it has not shown yet."""

    def __init__(
        self, store: Store, show: Callable[[Outbound], Awaitable[None]], agent: str
    ) -> None:
        self._store = store
        self._show = show  # DeskSender.show
        self.viewer = f"{TERMINAL_DESK.chat_id}:{agent}"
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._store.transaction() as tx:
            await tx.desk.watch(self.viewer, TERMINAL_DESK)

    async def pump(self) -> int:
        """Show what is not shown yet; returns how many were shown."""
        shown = 0
        async with self._lock:  # (the loop's calls and the poller's: one at a time)
            while True:
                async with self._store.transaction() as tx:
                    messages = await tx.desk.unseen(self.viewer, TERMINAL_DESK)
                if not messages:
                    return shown
                for message in messages:
                    await self._one(message)
                    shown += 1

    async def _one(self, message: Outbound) -> None:
        await self._show(message)
        async with self._store.transaction() as tx:
            await tx.desk.saw(self.viewer, [message.id])

    async def run(self, poll_seconds: float) -> None:
        """Show what other desks' processes sent too, every `poll_seconds`."""
        while True:
            try:
                await self.pump()
            except Exception:  # (the database out of reach: the next poll tries again)
                log.warning("the terminal desk could not read its messages", exc_info=True)
            await asyncio.sleep(poll_seconds)
