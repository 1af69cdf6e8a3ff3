"""The work run once for the whole deployment (the waiting-case reminders, the
Telegram poller): it runs while this process leads its name (`Store.leadership`),
is started again at every new term, and is stopped the moment the term ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bot.store import Leadership
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Work = Callable[[], Coroutine[Any, Any, None]]


async def while_leading(leadership: Leadership, work: Work, *, retry: float = 5.0) -> None:
    """Run `work` for as long as this process leads; never returns (cancel it). Work
    that ends by itself while the term lasts (it should not: it is a loop that
    survives its failures) is logged and started again after `retry` seconds."""
    while True:
        term = await leadership.gained()
        working = asyncio.create_task(work())
        ending = asyncio.create_task(leadership.lost(term))
        try:
            await asyncio.wait({working, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not working.done():  # the term is over (or we are cancelled): stop now
                await cancel_and_wait([working])
            await cancel_and_wait([ending])
        if working.cancelled() or not working.done():
            continue
        error = working.exception()
        if error is not None:
            log.error("the work of %s failed", leadership.name, exc_info=error)
        else:
            log.error("the work of %s ended by itself", leadership.name)
        await asyncio.sleep(retry)


async def lead(leadership: Callable[[], Any], work: Work) -> None:
    """Campaign (`leadership()`: a `Store.leadership(name)` block) and run `work`
    while leading, until cancelled."""
    async with leadership() as campaign:
        await while_leading(campaign, work)
