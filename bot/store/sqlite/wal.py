"""The WAL's checkpoints, beside the writer, and its wiping after an erase.

Copying the WAL back into the database (and its fsync) took 10-15 ms inside every
thousandth page's COMMIT, with every turn waiting; a second connection does it,
beside the writer. It never waits for anyone: a checkpoint that cannot run now (a
report or a backup reading in another process, another process writing) is tried
again on the next pass. Waiting for such a reader held every turn up for as long
as the reader read (8-17 s).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)


class Checkpointer:
    """The checkpoints of one store's database, on a connection of their own.

    `lock` is the store's: held, no transaction of the store's is open."""

    def __init__(self, path: Path, lock: asyncio.Lock, pages: int) -> None:
        self._path = path
        self._lock = lock
        self._pages = pages
        self._db: aiosqlite.Connection | None = None
        # Set by an erase (and at open: a WAL left by a crash): the WAL may hold erased
        # words until a TRUNCATE checkpoint completes (a reader can keep it waiting).
        self.wipe = False

    async def run(self, every: float) -> None:
        """The background checkpointer: a pass every `every` seconds."""
        while True:
            await asyncio.sleep(every)
            await self.checkpoint()

    async def checkpoint(self) -> None:
        """One pass. A PASSIVE checkpoint never blocks the writer, and when the bot
        is not busy the next write finds the WAL all copied and starts it over. Under
        steady load it never does, and the WAL would grow for as long as the load
        lasts; so once it is past `pages`, a RESTART follows between two of the
        store's transactions: it copies the little the PASSIVE one left (one fsync,
        about 10 ms here, while turns wait) and the next write starts the WAL from
        the beginning. While another process reads, the WAL cannot start over: it
        grows until the reader is done, and a later pass starts it over (and the
        writer's `journal_size_limit` cuts the file back)."""
        try:
            other = await self._connection()
            rows = await other.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            _, frames, _ = next(iter(rows))
            if frames > self._pages or self.wipe:
                async with self._lock:
                    await self._restart(other)
        except sqlite3.Error as error:  # tried again next time
            log.warning("checkpointing the database's WAL failed: %s", error)

    async def erased(self) -> None:
        """After the COMMIT of an erase, the store's lock still held: wipe the WAL now
        if no reader keeps it (else the next passes do)."""
        self.wipe = True
        try:
            await self._restart(await self._connection())
        except Exception as error:  # committed all the same: tried again next pass
            log.warning("wiping the database's WAL after an erase failed: %s", error)

    async def _restart(self, other: aiosqlite.Connection) -> None:
        """Copy what is left of the WAL and have it start over; to wipe it, also cut
        it to nothing (its old pages hold the erased words). The store's lock held."""
        mode = "TRUNCATE" if self.wipe else "RESTART"
        rows = await other.execute_fetchall(f"PRAGMA wal_checkpoint({mode})")
        busy, _, _ = next(iter(rows))
        if busy:
            log.info("the database's WAL is in use by another process: copied back later")
        elif mode == "TRUNCATE":
            self.wipe = False

    async def _connection(self) -> aiosqlite.Connection:
        """With no busy timeout: what cannot be done now is done on a later pass."""
        if self._db is None:
            other = await aiosqlite.connect(self._path)
            try:
                await other.execute("PRAGMA busy_timeout = 0")
                await other.execute("PRAGMA secure_delete = ON")
            except BaseException:
                await other.close()
                raise
            self._db = other
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            other, self._db = self._db, None
            await other.close()
