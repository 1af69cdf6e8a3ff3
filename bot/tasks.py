"""Stopping background tasks reliably.

On Python 3.11, `asyncio.wait_for` (used inside libraries, such as the rate
limiter python-telegram-bot relies on) can swallow a cancellation that arrives
just as the awaited future completes; a loop that was told to stop then runs on,
and a plain `await task` after `task.cancel()` waits forever. So: cancel, wait a
little, and cancel again until the tasks are done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object]], *, seconds: float = 10) -> None:
    pending = {task for task in tasks if not task.done()}
    deadline = asyncio.get_running_loop().time() + seconds
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
        if pending and asyncio.get_running_loop().time() > deadline:
            log.error("%d background tasks would not stop; leaving them", len(pending))
            return
