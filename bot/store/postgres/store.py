"""The PostgreSQL store: several Candor processes on one database.

Why asyncpg (0.32.0, the newest): it is asyncio's own PostgreSQL driver, with a
pool built in, the binary protocol and a cache of prepared statements (a turn runs
a few dozen statements: each is parsed once per connection), pipelined
`executemany` for the held-back writes, and `add_listener` for the LISTEN/NOTIFY
wake-ups the multi-process outbox will use. psycopg 3 would need its separate pool
package and `%s` placeholders (every `%` in the SQL escaped).

The repositories are SQLite's (bot/store/sqlite/): their SQL is translated
(`sql.py`) and runs on the same session, group commit and row readers, so both
backends keep one behaviour, which the contract suite (tests/store/) checks on
each. What differs: ids come from sequences, a turn takes its customer's lock
(`pg_advisory_xact_lock`, held to the end of the transaction: it cannot expire
mid-turn), migrations run under an advisory lock, and reads go through a pool
beside the writer.

Within one process, groups of turns take turns as on SQLite (one group at a time,
`committing.py`), but a transaction of one's own does not wait for them, nor for
another: each has a connection from the pool, and the server's locks keep them
apart (a turn that waits for its customer's lock, held by a process paused or cut
off mid-turn, must hold up no one else). A connection lost to a failover is
replaced on the next transaction.

A process gone silent mid-transaction must not hold its locks for ever: the pool's
sessions end a transaction left idle for `IDLE_IN_TRANSACTION` (a paused process),
and TCP keepalives end the session of a machine cut off; a turn waits for a
customer's lock `lock_wait` seconds at most (`session.py`), then gives up (`Busy`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import aiosqlite
import asyncpg

from bot.store.errors import Busy, NoDatabase, NotACandorDatabase, StoreError, Unreachable
from bot.store.outage import Outage
from bot.store.postgres.leader import PgLeadership, campaign
from bot.store.postgres.schema import LOCKS, SENDER, migrate, version
from bot.store.postgres.session import Ids, PgTransaction, PgWrites
from bot.store.postgres.sharing import SharedOutbox
from bot.store.postgres.sql import UNREACHABLE, Connection
from bot.store.sqlite.committing import GroupCommitStore
from bot.store.sqlite.group import Writes
from bot.store.sqlite.reports import SQLiteReports
from bot.store.sqlite.rows import keyed_digest
from bot.store.sqlite.transaction import SQLiteTransaction

log = logging.getLogger(__name__)


def is_postgres_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password (what errors and logs may show), also one given
    as `?password=…`."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            user = f"{parts.username}:***@" if parts.username else ":***@"
            parts = parts._replace(netloc=user + host)
        if parts.query:
            query = [
                (key, "***" if key.lower() == "password" else value)
                for key, value in parse_qsl(parts.query, keep_blank_values=True)
            ]
            parts = parts._replace(query=urlencode(query, safe="*"))
        return urlunsplit(parts)
    except ValueError:
        return "(a URL that cannot be read)"


def _passwords(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
        given = [parts.password or ""] + [
            value for key, value in parse_qsl(parts.query) if key.lower() == "password"
        ]
    except ValueError:
        return []
    return [form for password in given if password for form in (password, unquote(password))]


def unquoted(url: str, error: BaseException) -> str:
    """What `error` says, without the password of `url` wherever a library quoted it."""
    text = str(error) or type(error).__name__
    if url:
        text = text.replace(url, redacted(url))
        for password in _passwords(url):
            text = text.replace(password, "***")
    return text


class PostgresStore(SharedOutbox, GroupCommitStore):
    """The `Store` protocol on a PostgreSQL database, given by its URL
    (postgresql://user:password@host:5432/candor). With `read_only`, nothing is
    created, migrated or written."""

    # How long `running` waits for its lock before it refuses (seconds): only a
    # `candor db copy` into the database holds it against a `candor run`.
    sender_wait = 5.0
    _others_own = True  # `pending(owner=...)` leaves out the chats others own
    _serial_transactions = False  # (see the module)
    # The server ends a session whose transaction sits idle this long (a process
    # paused mid-turn: SIGSTOP, a stopped VM), and with it the customers' locks it
    # held. A turn is idle between its statements for milliseconds (its Python,
    # a group waiting for its members); 30 s is far above that, yet a customer
    # stays locked out at most about that long. A lost connection is replaced.
    IDLE_IN_TRANSACTION = "30s"
    # TCP keepalives of the pool's sessions: the server finds a machine cut off
    # (network, power) after 10 + 3 x 5 s and ends its session, and its locks.
    KEEPALIVES: ClassVar[dict[str, str]] = {
        "tcp_keepalives_idle": "10",
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "3",
    }

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        # (one is `running()`'s; a group's, transactions' side by side, reads)
        pool_size: int = 8,
        connect_timeout: float = 10.0,
        group_window: float = 0.0,
        group_limit: int = 256,
        leader_retry: float = 2.0,
        lock_wait: float = 3.0,
    ) -> None:
        self.url = url
        self.leader_retry = leader_retry
        self.lock_wait = lock_wait
        self.where = redacted(url)
        # an outage said once, and its end once, whatever fails meanwhile
        self.outage = Outage(self.where, self._said)
        self._read_only = read_only
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._pool: asyncpg.Pool | None = None
        self._tables: set[str] = set()
        self._ids = Ids()
        self._init_groups(group_window, group_limit)

    def __str__(self) -> str:
        return self.where

    async def open(self) -> None:
        self._closing = False
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=0,  # (none kept up by the pool: a lost one is made again when asked for)
                max_size=self._pool_size,
                timeout=self._connect_timeout,
                # a statement that hangs (a server gone without a word) ends, the
                # message unacknowledged, instead of holding every turn for ever
                command_timeout=300,
                server_settings={
                    "application_name": "candor",
                    "idle_in_transaction_session_timeout": self.IDLE_IN_TRANSACTION,
                    **self.KEEPALIVES,
                },
            )
            async with self._pool.acquire() as conn:
                if self._read_only:
                    await self._check_read_only(conn)
                else:
                    await migrate(conn, self.where)
                self._tables = {
                    str(row[0])
                    for row in await conn.fetch(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    )
                }
                if "meta" in self._tables:
                    secret = await conn.fetchval("SELECT value FROM meta WHERE name = 'hmac_key'")
                    self._digest = keyed_digest(bytes(secret))
        except StoreError:
            await self.close()
            raise
        except (*UNREACHABLE, asyncpg.PostgresError, ValueError) as error:
            await self.close()
            raise StoreError(self._cannot_open(error)) from error

    def _said(self, error: BaseException) -> str:
        """What `error` says, never the password, wherever a library quoted it."""
        if isinstance(error, asyncpg.exceptions.InternalClientError):  # (see UNREACHABLE)
            return "the server ended the connection"
        return unquoted(self.url, error)

    def _cannot_open(self, error: BaseException) -> str:
        return f"cannot open the database at storage.url {self.where}: {self._said(error)}"

    async def migrate(self) -> tuple[list[str], int]:
        """Only bring the schema up to date (`candor db migrate`): the migrations
        applied, and the schema version now."""
        try:
            conn = await asyncpg.connect(self.url, timeout=self._connect_timeout)
        except (*UNREACHABLE, asyncpg.PostgresError, ValueError) as error:
            raise StoreError(self._cannot_open(error)) from error
        try:
            return await migrate(conn, self.where), await version(conn)
        except (*UNREACHABLE, asyncpg.PostgresError) as error:
            raise StoreError(self._cannot_open(error)) from error
        finally:
            await conn.close()

    async def _check_read_only(self, conn: asyncpg.Connection) -> None:
        if await conn.fetchval("SELECT to_regclass('cases')") is None:
            if await version(conn) == 0:
                raise NoDatabase(
                    f"No Candor database at {self.where}: check storage.url in the config"
                )
            raise NotACandorDatabase(f"{self.where} is not a Candor database (it has no cases)")

    async def close(self) -> None:
        await self._stop_groups()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await pool.close()
            except Exception:  # a connection already lost: nothing left to close cleanly
                pool.terminate()

    def _usable(self) -> asyncpg.Pool:
        if self._closing:
            raise StoreError("the store is closing")
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    def _writable(self) -> None:
        if self._read_only:
            raise StoreError(f"the database {self.where} is open read-only")
        self._usable()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        pool = self._usable()
        db = Connection(await self._acquire(), self.where, self.outage)
        try:
            yield db
        finally:
            with contextlib.suppress(*UNREACHABLE):
                await pool.release(db.raw)

    async def _begin(self, db: Connection) -> None:
        if db.in_transaction:
            log.warning("rolling back a transaction left open")
            await db.execute("ROLLBACK")
        try:  # (on the driver's connection: a pooled one lost is no outage yet)
            await db.raw.execute("BEGIN")
            return
        except UNREACHABLE as error:
            # lost while it waited in the pool (a failover, a restarted server), its
            # end perhaps not read yet ("another operation is in progress"): nothing
            # was begun on it, so a new one is as good; if none can be had, that is
            # the outage (`_acquire`)
            log.info(
                "the database connection was lost (%s); connecting again", type(error).__name__
            )
        with contextlib.suppress(asyncpg.InterfaceError):  # (the pool may have it back)
            db.raw.terminate()
        with contextlib.suppress(*UNREACHABLE):
            await self._usable().release(db.raw)
        db.raw = await self._acquire()
        await db.execute("BEGIN")

    async def _acquire(self) -> asyncpg.Connection:
        """A connection of the pool (a new one if the pool's were lost); `Unreachable`
        if the database cannot be reached, or refuses the connection (a password
        changed, the database dropped): the outage is said once (`self.outage`)."""
        pool = self._usable()
        try:
            conn: asyncpg.Connection = await pool.acquire()
        except (*UNREACHABLE, asyncpg.PostgresError) as error:
            self.outage.failed(error)
            raise Unreachable(
                f"the database at storage.url {self.where} cannot be reached: {self._said(error)}"
            ) from error
        return conn

    def _writes(self) -> Writes:
        return PgWrites(self._ids)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteTransaction]:
        """As on SQLite; a transaction PostgreSQL rolled back (a deadlock between two
        processes' turns, a serialization failure) is a `StoreError`: nothing was
        stored, and the message, unacknowledged, comes again."""
        try:
            async with super().transaction() as tx:
                yield tx
        except asyncpg.exceptions.LockNotAvailableError as error:
            raise Busy(
                f"a customer's turn waited over {self.lock_wait:g} s (storage.lock_wait_seconds)"
                f" for their lock in the database {self.where}, held by another process"
                " (paused, cut off or slow); nothing was stored"
            ) from error
        except asyncpg.exceptions.TransactionRollbackError as error:
            raise StoreError(
                f"the database {self.where} rolled the transaction back ({error});"
                " nothing was stored"
            ) from error

    def _transaction(self, db: Any, writes: Writes, *, grouped: bool) -> SQLiteTransaction:
        return PgTransaction(db, writes, self._keyed(), grouped=grouped, lock_wait=self.lock_wait)

    @asynccontextmanager
    async def reporting(self) -> AsyncIterator[SQLiteReports]:
        async with self._connection() as db:
            # one snapshot for every read, and nothing written
            await db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield SQLiteReports(cast(aiosqlite.Connection, db), self._tables, self._keyed_later)
            finally:
                if db.in_transaction:
                    await db.execute("ROLLBACK")

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._connection() as db:
            return await db.execute_fetchall(sql, params)

    def leadership(self, name: str) -> AbstractAsyncContextManager[PgLeadership]:
        """Campaign for `name` with a session advisory lock on a connection of its
        own (postgres/leader.py), checked every `leader_retry` seconds."""
        self._usable()

        every = self.leader_retry
        keepalive = str(max(1, round(every)))

        def connect() -> Any:
            return asyncpg.connect(
                self.url,
                timeout=min(self._connect_timeout, max(every, 1.0)),
                server_settings={
                    "application_name": f"candor leader: {name}",
                    # a follower waits its turn this long, then asks again
                    "lock_timeout": f"{max(1, int(every * 1000))}ms",
                    # the server gives up on a leader gone silent (its machine, the
                    # network) after about four times `every`: then another leads
                    "tcp_keepalives_idle": keepalive,
                    "tcp_keepalives_interval": keepalive,
                    "tcp_keepalives_count": "3",
                },
            )

        return campaign(name, connect, self.leader_retry, self._said, self.outage)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Held by every `candor run` while it runs: the server's mark that Candor runs
        on this database (a session advisory lock, taken SHARED, so that any number of
        `candor run` hold it together: the outbox is shared, `bot.sharing`, and what must
        run once runs under leader election, `bot.leader`). `candor doctor` reads it and
        `candor db copy` takes it exclusively: a copy is refused while one runs, and a
        `candor run` that starts during a copy is refused. It goes with the connection,
        also when the process is killed."""
        pool = self._usable()
        try:
            conn = await pool.acquire()
        except UNREACHABLE as error:
            raise StoreError(f"the database {self.where} cannot be reached: {error}") from error
        try:
            try:
                await conn.execute(f"SET lock_timeout = '{int(self.sender_wait * 1000)}ms'")
                await conn.execute("SELECT pg_advisory_lock_shared($1, $2)", LOCKS, SENDER)
            except asyncpg.exceptions.LockNotAvailableError:
                raise StoreError(
                    f"`candor db copy` is copying into the database {self.where}: start"
                    " `candor run` once it has finished."
                ) from None
            finally:
                with contextlib.suppress(*UNREACHABLE):
                    await conn.execute("RESET lock_timeout")
            try:
                yield
            finally:
                with contextlib.suppress(*UNREACHABLE):
                    await conn.execute("SELECT pg_advisory_unlock_shared($1, $2)", LOCKS, SENDER)
        finally:
            with contextlib.suppress(*UNREACHABLE):
                await pool.release(conn)
