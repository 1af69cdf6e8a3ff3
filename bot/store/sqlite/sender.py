"""One sender per SQLite file: `candor run` holds a lock on `<database>.lock` for as
long as it runs.

Two `candor run` on one file both deliver every pending outbox row: every reply
was sent twice. The lock is the operating system's (`flock`): it goes with the
process, also when the process is killed, so it never needs clearing by hand. The
terminal chat, the desk, the report and the knowledge tools take no lock and keep
working beside a running bot.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from bot.store.errors import StoreError
from bot.store.protocols.sharing import Chat, Claimed


class SenderRunning(StoreError):
    """Another process (a `candor run`) holds the sender's lock on the file."""


def lock_path(database: Path) -> Path:
    """Next to the file itself: two configs that reach one database through a
    symbolic link or a relative path share one lock."""
    real = database.resolve()
    return real.with_name(real.name + ".lock")


@contextlib.contextmanager
def sole_sender(database: Path) -> Iterator[None]:
    """Hold the sender's lock on `database` for the block; `StoreError` naming the
    file and how to find the other process if another process holds it."""
    if str(database) == ":memory:" or sys.platform == "win32":  # no flock there
        yield
        return
    import fcntl

    path = lock_path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StoreError(f"cannot make the lock file {path}: {error.strerror}") from error
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise SenderRunning(
                f"another `candor run`{f' (process {other})' if other.isdigit() else ''}"
                f" is already running on the database {database}: two would send every"
                f" reply twice. Stop that one first (`fuser -v {path}` or `lsof {path}`"
                " shows which process it is), or give this one its own [storage] path."
                " `candor chat`, `candor desk` and `candor report` work beside it."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # releases the lock (the file stays: removing it would race)


class SoleOutbox:
    """`OutboxSharing` where one process sends (the lock above): it is the only one
    live, and owns every address; nobody else enqueues to wake it."""

    async def join(self, process: str, lease: float) -> int:
        return 1

    async def claim(
        self, process: str, chats: Collection[Chat], lease: float, limit: int | None = None
    ) -> Claimed:
        return Claimed(chats)

    async def release(
        self, process: str, chats: Collection[Chat] | None = None, after: float = 0.0
    ) -> None:
        return None

    async def watch(
        self, woken: Callable[[Chat | None], None], listening: Callable[[], None]
    ) -> None:
        listening()
