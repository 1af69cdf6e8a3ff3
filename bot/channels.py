"""The channels of `candor run`, each started on its own.

A platform that cannot be reached at start (its API down, the network not up yet)
must not take the others down: the channel logs one clear line and is started
again in the background, with a back-off, while the others serve. A refused token
is different: waiting does not heal it, and a process that runs on with one
channel silently dead is what nobody notices. So a refusal (`ChannelRefused`)
stops `candor run` with a clear error, whenever it comes, as a wrong config does
at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.logs import described
from bot.platforms import Channel
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class ChannelRefused(RuntimeError):
    """The platform refused the channel's credentials (a wrong or revoked token):
    trying again cannot help. The message says which setting, and names no secret."""


class Channels:
    """Start, keep starting and stop the running channels, by platform name."""

    def __init__(
        self,
        channels: list[tuple[str, Channel]],
        *,
        retry_base: float = 5.0,
        retry_max: float = 300.0,
    ) -> None:
        self._channels = channels
        self.retry_base = retry_base  # seconds before the first new try, doubling
        self.retry_max = retry_max  # up to this
        self.running: set[str] = set()
        self.refused: asyncio.Future[ChannelRefused] | None = None
        self._retries: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Try every channel once, together. A refused one raises `ChannelRefused`
        (after stopping those that did start); one that fails otherwise is started
        again in the background (see `refused` for a refusal then)."""
        self.refused = asyncio.get_running_loop().create_future()
        tried = await asyncio.gather(
            *(self._try(name, channel) for name, channel in self._channels),
            return_exceptions=True,
        )
        for (name, channel), outcome in zip(self._channels, tried, strict=True):
            if isinstance(outcome, ChannelRefused):
                await self.stop()
                raise outcome
            if isinstance(outcome, BaseException):
                delay = self._delay(1)
                log.warning(
                    "%s could not start (%s); trying again in %.1f s, the other channels"
                    " serve meanwhile",
                    name,
                    described(outcome),
                    delay,
                )
                log.debug("%s: the failure in full:", name, exc_info=outcome)
                self._retries.append(asyncio.create_task(self._keep_starting(name, channel)))

    async def stop(self) -> None:
        await cancel_and_wait(self._retries)
        self._retries.clear()
        for name, channel in self._channels:
            if name in self.running:
                self.running.discard(name)
                await channel.stop()

    async def _try(self, name: str, channel: Channel) -> None:
        try:
            await channel.start()
        except BaseException:
            with contextlib.suppress(Exception):  # undo what did start (a bound port)
                await channel.stop()
            raise
        self.running.add(name)

    def _delay(self, failures: int) -> float:
        return float(min(self.retry_max, self.retry_base * 2 ** min(failures - 1, 16)))

    async def _keep_starting(self, name: str, channel: Channel) -> None:
        failures = 1
        while True:
            await asyncio.sleep(self._delay(failures))
            try:
                await self._try(name, channel)
            except ChannelRefused as refusal:
                log.error("%s", refusal)
                if self.refused is not None and not self.refused.done():
                    self.refused.set_result(refusal)
                return
            except Exception as error:
                failures += 1
                log.info(
                    "%s still cannot start (%s, %d tries); trying again in %.1f s",
                    name,
                    described(error),
                    failures,
                    self._delay(failures),
                )
                continue
            log.warning("%s started, after %d tries", name, failures + 1)
            return
