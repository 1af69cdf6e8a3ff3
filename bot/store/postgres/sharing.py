"""`OutboxSharing` on PostgreSQL: the processes' heartbeats (`outbox_processes`),
the addresses' owners (`outbox_owners`), and the wake-ups of LISTEN/NOTIFY
(migration 015). Times are the server's (`now()`): the processes' clocks need not
agree. A claim skips what another process holds locked (`FOR UPDATE SKIP LOCKED`)
and never waits on another's lease."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Collection
from typing import Any

import asyncpg

from bot.store.errors import Unreachable
from bot.store.outage import Outage
from bot.store.postgres.sql import UNREACHABLE
from bot.store.protocols.sharing import Chat, Claimed
from bot.store.sqlite.outbox import SQLiteOutboxRows

log = logging.getLogger(__name__)

CHANNEL = "candor_outbox"  # what migration 015's trigger notifies
_LEASE = "now() + $%d * interval '1 second'"

_JOIN = (
    "INSERT INTO outbox_processes (id, lease_until) VALUES ($1, " + _LEASE % 2 + ")"
    " ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until"
)
_LIVE = (
    "WITH gone AS (DELETE FROM outbox_processes WHERE lease_until < now()),"
    # released or lapsed a minute ago: nobody's (a row is kept only for its spacing)
    " stale AS (DELETE FROM outbox_owners WHERE lease_until < now() - interval '60 seconds')"
    " SELECT count(*) FROM outbox_processes WHERE lease_until >= now()"
)
_CLAIM = (
    "WITH wanted AS (SELECT * FROM unnest($2::text[], $3::text[])"
    " WITH ORDINALITY AS w(channel, chat_id, n)),"
    # its own: renewed (waiting for its own record of a send, which holds the row)
    " mine AS (UPDATE outbox_owners o SET lease_until = " + _LEASE % 4 + " FROM wanted w"
    " WHERE w.channel = o.channel AND w.chat_id = o.chat_id AND o.owner = $1"
    " RETURNING o.channel, o.chat_id),"
    # another's whose lease lapsed (or that it released): taken, unless a claim or a
    # record holds it now; the first wanted first, $5 at most
    " free AS (SELECT o.channel, o.chat_id FROM outbox_owners o JOIN wanted w"
    " ON w.channel = o.channel AND w.chat_id = o.chat_id"
    " WHERE o.owner <> $1 AND o.lease_until < now() ORDER BY w.n LIMIT $5"
    " FOR UPDATE OF o SKIP LOCKED),"
    " taken AS (UPDATE outbox_owners o SET owner = $1, lease_until = " + _LEASE % 4 + ""
    " FROM free f WHERE o.channel = f.channel AND o.chat_id = f.chat_id"
    " RETURNING o.channel, o.chat_id),"
    # nobody's: as many more as the limit leaves
    " fresh AS (INSERT INTO outbox_owners (channel, chat_id, owner, lease_until)"
    " SELECT channel, chat_id, $1, " + _LEASE % 4 + " FROM wanted w WHERE NOT EXISTS"
    " (SELECT 1 FROM outbox_owners o WHERE o.channel = w.channel AND o.chat_id = w.chat_id)"
    " ORDER BY w.n LIMIT greatest(0, $5 - (SELECT count(*) FROM free))"
    " ON CONFLICT DO NOTHING RETURNING channel, chat_id)"
    " SELECT channel, chat_id, false FROM mine UNION ALL SELECT channel, chat_id, true FROM taken"
    " UNION ALL SELECT channel, chat_id, false FROM fresh"
)
# released: still the process's, for `after` seconds (then anyone's), so that its
# record of a send made before still counts and nobody sends there too soon
_RELEASE = "UPDATE outbox_owners SET lease_until = " + _LEASE % 2 + " WHERE owner = $1"
_RELEASE_SOME = (
    _RELEASE + " AND (channel, chat_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))"
)


class PgOutboxRows(SQLiteOutboxRows):
    """`tx.outbox` on PostgreSQL: SQLite's, and the owner's check before a record."""

    __slots__ = ()

    async def owned(self, process: str, channel: str, chat_id: str) -> bool:
        # FOR UPDATE: a claim running meanwhile skips the row (SKIP LOCKED) until this
        # transaction ends, so the record is made by the owner or not at all
        row = await self._s.one(
            "SELECT 1 FROM outbox_owners WHERE channel = ? AND chat_id = ? AND owner = ?"
            " FOR UPDATE",
            (channel, chat_id, process),
        )
        return row is not None


class SharedOutbox:
    """The `OutboxSharing` part of `PostgresStore`."""

    url: str
    where: str
    outage: Outage
    _connect_timeout: float

    async def _acquire(self) -> asyncpg.Connection:
        raise NotImplementedError

    def _usable(self) -> asyncpg.Pool:
        raise NotImplementedError

    async def _run(self, sql: str, *args: Any) -> list[Any]:
        pool = self._usable()
        conn = await self._acquire()
        try:
            rows = list(await conn.fetch(sql, *args))
        except UNREACHABLE as error:
            self.outage.failed(error)
            raise Unreachable(f"the database {self.where} cannot be used now: {error}") from error
        finally:
            with contextlib.suppress(*UNREACHABLE):
                await pool.release(conn)
        self.outage.worked()
        return rows

    async def join(self, process: str, lease: float) -> int:
        await self._run(_JOIN, process, lease)
        return max(1, int((await self._run(_LIVE))[0][0]))

    async def claim(
        self, process: str, chats: Collection[Chat], lease: float, limit: int | None = None
    ) -> Claimed:
        if not chats:
            return Claimed()
        wanted = list(dict.fromkeys(chats))  # (in their order: the first are taken first)
        rows = await self._run(
            _CLAIM,
            process,
            [c for c, _ in wanted],
            [chat for _, chat in wanted],
            lease,
            len(wanted) if limit is None else max(0, limit),
        )
        found = [((str(row[0]), str(row[1])), bool(row[2])) for row in rows]
        return Claimed((chat for chat, _ in found), (chat for chat, taken in found if taken))

    async def release(
        self, process: str, chats: Collection[Chat] | None = None, after: float = 0.0
    ) -> None:
        after = max(0.0, after)
        if chats is None:
            await self._run(_RELEASE, process, after)
            await self._run("DELETE FROM outbox_processes WHERE id = $1", process)
        elif chats:
            wanted = sorted(set(chats))
            channels, ids = [c for c, _ in wanted], [ch for _, ch in wanted]
            await self._run(_RELEASE_SOME, process, after, channels, ids)

    async def watch(
        self, woken: Callable[[Chat | None], None], listening: Callable[[], None]
    ) -> None:
        """A connection of its own LISTENs; when it is lost (a failover, a restarted
        server), it connects again, with back-off, and wakes everyone once (what was
        notified meanwhile was missed); meanwhile the outbox's polling delivers."""
        failures, again = 0, False
        while True:
            try:
                await self._listen(woken, listening, again)
                failures, again = 0, True
            except (*UNREACHABLE, asyncpg.PostgresError, OSError, TimeoutError) as error:
                failures, again = failures + 1, True
                self.outage.failed(error)  # said once for the outage, not at every try
            await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
            woken(None)

    async def _listen(
        self, woken: Callable[[Chat | None], None], listening: Callable[[], None], again: bool
    ) -> None:
        conn = await asyncpg.connect(
            self.url,
            timeout=self._connect_timeout,
            server_settings={"application_name": "candor-listen"},
        )
        lost = asyncio.Event()

        def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            try:
                channel, chat = json.loads(payload)
                woken((str(channel), str(chat)) if chat is not None else None)
            except (ValueError, TypeError):
                woken(None)

        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, notified)
            self.outage.worked()
            if again:
                log.info("the outbox's LISTEN connection is back")
            listening()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(10.0):
                        await lost.wait()
                if not lost.is_set():  # a server gone without a word: ask
                    async with asyncio.timeout(10.0):
                        await conn.execute("SELECT 1")
            log.info("the outbox's LISTEN connection was lost; polling meanwhile")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5.0)
