"""Leader election on PostgreSQL: a session advisory lock per name, held on a
connection of its own.

The server lets one session hold the lock: that process leads. Followers try
again every `every` seconds (`[storage] leader_retry_seconds`). The lock goes with
its session, also when the process is killed or its machine dies (once the server
notices the connection is gone), so nobody ever clears it by hand. The leader
watches its connection: the moment it is closed (asyncpg's termination listener:
`pg_terminate_backend`, a server restart, a reset) or a `SELECT 1` on it fails or
takes longer than `every` (a network gone silent), the process stops leading at
once, since the server may already have given the lock to another. Then it
connects again and campaigns as a follower.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from bot.store.leadership import Campaign
from bot.store.postgres.schema import LEADERS
from bot.store.postgres.sql import UNREACHABLE
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The second number of the name's advisory lock (the first is `LEADERS`)."""
    return zlib.crc32(name.encode("utf-8")) - 2**31  # PostgreSQL's int4


class PgLeadership(Campaign):
    """One name's campaign, while `run` runs."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], Any],
        every: float,
        described: Callable[[BaseException], str],
    ) -> None:
        super().__init__(name)
        self._connect = connect
        self._every = every
        self._described = described
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._unreachable = False  # said once, until it can be reached again

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self._step()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._every):
                    await self._wake.wait()

    async def _step(self) -> None:
        try:
            conn = self._conn or await self._open()
            if self.is_leader:
                await conn.fetchval("SELECT 1", timeout=self._every)
            elif await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)",
                LEADERS,
                lock_key(self.name),
                timeout=self._every,
            ):
                self._lead(True)
                log.info("leader for %s: this process now leads", self.name)
        except (*UNREACHABLE, asyncpg.PostgresError) as error:
            self._drop(self._described(error))

    async def _open(self) -> asyncpg.Connection:
        try:
            conn: asyncpg.Connection = await self._connect()
        except (*UNREACHABLE, asyncpg.PostgresError) as error:
            if not self._unreachable:
                self._unreachable = True
                log.warning(
                    "leader for %s: cannot reach the database (%s); trying again every %g s",
                    self.name,
                    self._described(error),
                    self._every,
                )
            raise
        self._unreachable = False
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        return conn

    def _terminated(self, conn: asyncpg.Connection) -> None:
        if conn is self._conn:
            self._drop("its connection to the database was closed")
            self._wake.set()  # connect again now: the server may be fine

    def _drop(self, why: str) -> None:
        """Stop leading at once (if this process did), and let the connection go."""
        if self.is_leader:
            self._lead(False)
            log.info("leader for %s: this process no longer leads (%s)", self.name, why)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._terminated)
            conn.terminate()

    async def close(self) -> None:
        """Stop leading and campaigning: the lock goes with the connection."""
        conn, self._conn = self._conn, None
        if self.is_leader:
            self._lead(False)
            log.info("leader for %s: this process no longer leads (it stops)", self.name)
        if conn is not None:
            conn.remove_termination_listener(self._terminated)
            try:
                async with asyncio.timeout(self._every):
                    await conn.close()
            except (*UNREACHABLE, asyncpg.PostgresError):
                conn.terminate()


@contextlib.asynccontextmanager
async def campaign(
    name: str,
    connect: Callable[[], Any],
    every: float,
    described: Callable[[BaseException], str],
) -> AsyncIterator[PgLeadership]:
    leadership = PgLeadership(name, connect, every, described)
    task = asyncio.create_task(leadership.run())
    try:
        yield leadership
    finally:
        await cancel_and_wait([task])
        await leadership.close()
