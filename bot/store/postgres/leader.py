"""Leader election on PostgreSQL: a session advisory lock per name, held on a
connection of its own.

The server lets one session hold the lock: that process leads. The others wait in
the lock's queue (`pg_advisory_lock` under a `lock_timeout` of `every` seconds,
`[storage] leader_retry_seconds`, asked again the moment it runs out, so that a
follower whose connection died finds out), and the server hands the lock to the
first of them the moment the leader's session ends: when its process is killed
(the system closes its socket), or, for a machine or network gone silent, once the
server's TCP keepalives (set on the session: about four times `every`) give up on
it. Nobody ever clears the lock by hand.

The leader watches its connection: the moment it is closed (asyncpg's termination
listener: `pg_terminate_backend`, a server restart, a reset) or a `SELECT 1` on it,
every `every` seconds, fails or takes longer than `every` (a network gone silent),
the process stops leading at once: the server may give the lock to another from
then on. (A silent network: the leader stops within two `every`, before the
server gives up on it.) Then it connects again and waits in the queue.
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
from bot.store.outage import Outage
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
        outage: Outage | None = None,
    ) -> None:
        super().__init__(name)
        self._connect = connect
        self._every = every
        self._described = described
        self._outage = outage  # the store's: an outage is said once, by the store
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._unreachable = False  # said once, until it can be reached again

    async def run(self) -> None:
        while True:
            self._wake.clear()
            if await self._step():
                continue  # waited its turn in the lock's queue: again at once
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._every):
                    await self._wake.wait()

    async def _step(self) -> bool:
        """Check the lead, or wait for it up to `every` seconds; True if the wait
        ran out on a connection that works."""
        try:
            conn = self._conn or await self._open()
            if self.is_leader:
                await conn.fetchval("SELECT 1", timeout=self._every)
                return False
            await conn.execute(
                "SELECT pg_advisory_lock($1, $2)",
                LEADERS,
                lock_key(self.name),
                timeout=2 * self._every + 5,  # the server's lock_timeout ends it first
            )
        except asyncpg.exceptions.LockNotAvailableError:
            return True  # another leads
        except (*UNREACHABLE, asyncpg.PostgresError) as error:
            self._drop(self._described(error))
            return False
        self._lead(True)
        log.info("leader for %s: this process now leads", self.name)
        return False

    async def _open(self) -> asyncpg.Connection:
        try:
            conn: asyncpg.Connection = await self._connect()
        except (*UNREACHABLE, asyncpg.PostgresError) as error:
            if self._outage is not None:
                self._outage.failed(error)
            elif not self._unreachable:
                self._unreachable = True
                log.warning(
                    "leader for %s: cannot reach the database (%s); trying again every %g s",
                    self.name,
                    self._described(error),
                    self._every,
                )
            raise
        self._unreachable = False
        if self._outage is not None:
            self._outage.worked()
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
    outage: Outage | None = None,
) -> AsyncIterator[PgLeadership]:
    leadership = PgLeadership(name, connect, every, described, outage)
    task = asyncio.create_task(leadership.run())
    try:
        yield leadership
    finally:
        await cancel_and_wait([task])
        await leadership.close()
