"""Leader election across processes (`Store.leadership`, bot/leader.py): on one
PostgreSQL database one process leads a name at a time, the work it leads runs
there only, and another takes over when the leader's connection dies; the work
stops the moment the lead is lost. (The contract, on both backends, is in
tests/store/test_leadership.py; the Telegram poller's in tests/test_telegram_leader.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from bot.leader import while_leading
from bot.store import PostgresStore
from bot.store.leadership import Campaign
from bot.store.postgres.leader import PgLeadership, lock_key
from bot.store.postgres.schema import LEADERS
from tests.postgres import PASSWORD


async def holders(url: str, name: str) -> list[int]:
    """The server processes (sessions) holding the lock of `name`."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2",
            LEADERS,
            lock_key(name) & 0xFFFFFFFF,
        )
        return [int(row[0]) for row in rows]
    finally:
        await conn.close()


async def waiting(url: str, name: str) -> int:
    """How many sessions wait in the queue of the lock of `name`."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2",
                LEADERS,
                lock_key(name) & 0xFFFFFFFF,
            )
        )
    finally:
        await conn.close()


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30.0) -> None:
    """Wait (generously) for a state of the server, looking again and again."""
    try:
        async with asyncio.timeout(seconds):
            while not await check():  # noqa: ASYNC110 - no event tells of the server's state
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {seconds} s: {what}") from None


async def kill(url: str, pid: int) -> None:
    """What a failover, a restarted server or a dead network does to a session."""
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def stores(url: str, count: int) -> AsyncIterator[list[PostgresStore]]:
    # a long check interval: the takeover below is the server's doing, not a timer's
    made = [PostgresStore(url, leader_retry=30) for _ in range(count)]
    for store in made:
        await store.open()
    try:
        yield made
    finally:
        for store in made:
            await store.close()


NAME = "reminders"


@pytest.mark.postgres
async def test_one_of_three_leads_and_another_takes_over_when_its_connection_dies(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.postgres.leader")
    async with stores(url, 3) as made, contextlib.AsyncExitStack() as stack:
        campaigns = [await stack.enter_async_context(s.leadership(NAME)) for s in made]
        async with asyncio.timeout(30):
            gains = [asyncio.create_task(c.gained()) for c in campaigns]
            await asyncio.wait(gains, return_when=asyncio.FIRST_COMPLETED)
        # both others wait in the lock's queue: the server lets one session hold it
        await until(lambda: _equal(waiting(url, NAME), 2), "two followers waiting")
        assert [c.is_leader for c in campaigns].count(True) == 1
        leader = next(c for c in campaigns if c.is_leader)
        term = await leader.gained()
        [pid] = await holders(url, NAME)

        await kill(url, pid)
        async with asyncio.timeout(30):
            await leader.lost(term)  # stopped leading the moment its connection went
            await asyncio.wait(
                [g for g, c in zip(gains, campaigns, strict=True) if c is not leader],
                return_when=asyncio.FIRST_COMPLETED,
            )
        new = [c for c in campaigns if c.is_leader]
        assert len(new) == 1 and new[0] is not leader  # a follower, not the killed one
        [pid2] = await holders(url, NAME)
        assert pid2 != pid
        # the old leader connected again and waits behind the other follower
        await until(lambda: _equal(waiting(url, NAME), 2), "two followers waiting again")
        assert not leader.is_leader
        for gain in gains:
            gain.cancel()
        said = [r.getMessage() for r in caplog.records if r.name == "bot.store.postgres.leader"]
    assert said.count(f"leader for {NAME}: this process now leads") == 2
    assert any(
        f"leader for {NAME}: this process no longer leads (its connection" in line for line in said
    )


async def _equal(found: Any, expected: int) -> bool:
    return bool(await found == expected)


@pytest.mark.postgres
async def test_a_leader_that_stops_hands_over_at_once(url: str) -> None:
    async with stores(url, 2) as (one, two), contextlib.AsyncExitStack() as first_block:
        first = await first_block.enter_async_context(one.leadership(NAME))
        async with asyncio.timeout(30):
            await first.gained()
        async with two.leadership(NAME) as second:
            await until(lambda: _equal(waiting(url, NAME), 1), "the second waiting")
            assert not second.is_leader
            await first_block.aclose()  # the first stops (`candor run` ends)
            assert not first.is_leader
            # well within the check interval (30 s): the server handed the lock over
            async with asyncio.timeout(10):
                await second.gained()
            assert await holders(url, NAME) != []


class Work:
    """Work run while leading: how often it started, and whether it runs now."""

    def __init__(self) -> None:
        self.starts = 0
        self.running = False
        self.changed = asyncio.Event()

    async def __call__(self) -> None:
        self.starts += 1
        self.running = True
        self.changed.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.running = False
            self.changed.set()

    async def until(self, running: bool) -> None:
        async with asyncio.timeout(10):
            while self.running != running:
                self.changed.clear()
                await self.changed.wait()


async def test_the_work_runs_only_while_leading_and_stops_when_the_lead_is_lost() -> None:
    leadership = Campaign("reminders")
    work = Work()
    task = asyncio.create_task(while_leading(leadership, work))
    try:
        await asyncio.sleep(0)
        assert work.starts == 0  # not leading: not started
        leadership._lead(True)
        await work.until(running=True)
        leadership._lead(False)  # lost (its connection died): stopped before anything else
        assert work.running  # (the loss is seen by the next step of the loop)
        await work.until(running=False)
        leadership._lead(True)  # a new term: started again
        await work.until(running=True)
        assert work.starts == 2
        leadership._lead(False)
        leadership._lead(True)  # lost and gained again before the loop looked
        await work.until(running=True)
        async with asyncio.timeout(10):
            while work.starts < 3:  # the old term's work stopped, the new term's started
                work.changed.clear()
                await work.changed.wait()
    finally:
        await asyncio.wait_for(_cancel(task), 10)
    assert not work.running  # cancelled with it


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.postgres
async def test_a_database_out_of_reach_is_said_once_and_the_lead_taken_when_it_is_back(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The follower's connection: PostgreSQL down (or a wrong password) is logged once,
    without the password, tried again every interval, and led once it answers."""
    caplog.set_level(logging.INFO, logger="bot.store.postgres.leader")
    tries = 0
    third = asyncio.Event()
    up = asyncio.Event()

    async def connect() -> asyncpg.Connection:
        nonlocal tries
        tries += 1
        if tries >= 3:
            third.set()
        if not up.is_set():
            raise OSError(f"connection refused: {url}")  # as a library may quote it
        return await asyncpg.connect(url)

    store = PostgresStore(url)
    leadership = PgLeadership(NAME, connect, 0.05, store._said)
    task = asyncio.create_task(leadership.run())
    try:
        async with asyncio.timeout(30):
            await third.wait()
        assert not leadership.is_leader
        up.set()
        async with asyncio.timeout(30):
            await leadership.gained()
        assert await holders(url, NAME) != []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await leadership.close()
    said = [r.getMessage() for r in caplog.records if r.name == "bot.store.postgres.leader"]
    [down] = [line for line in said if "cannot reach the database" in line]
    # the URL as errors may show it: the password starred, or the whole credential
    # redacted where the log redaction already knows it (another test registered it)
    assert "postgres:***@" in down or "[redacted]@" in down, down
    assert not any(PASSWORD in line for line in said)
    assert f"leader for {NAME}: this process now leads" in said
