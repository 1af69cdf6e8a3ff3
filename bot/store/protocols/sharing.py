"""The outbox shared by several processes on one database (`Store`'s part of it).

Each process sending has an id of its own (made at its start) and registers a
heartbeat (`join`); the live ones divide the platforms' overall rate between them.
Each address (a channel's chat) is sent to by one process at a time, its owner,
while the owner's lease holds (`claim`, renewed by claiming again); a process that
dies stops renewing, its leases lapse and another claims its addresses. A backend
with one process per database (SQLite: a file lock) implements these trivially:
one process, which owns every address.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Protocol

Chat = tuple[str, str]  # (channel, chat_id): what is owned


class Claimed(set[Chat]):
    """What a claim gives: the chats owned now; `taken`, those of them another
    process owned before (it released them, or its lease lapsed)."""

    def __init__(self, owned: Iterable[Chat] = (), taken: Iterable[Chat] = ()) -> None:
        super().__init__(owned)
        self.taken = frozenset(taken)


class OutboxSharing(Protocol):
    async def join(self, process: str, lease: float) -> int:
        """Register (or renew) the process's heartbeat for `lease` seconds; forget
        processes whose heartbeat lapsed; returns how many are live, itself included."""

    async def claim(
        self, process: str, chats: Collection[Chat], lease: float, limit: int | None = None
    ) -> Claimed:
        """Of `chats`, those the process owns now, each for `lease` seconds more: its
        own (renewed), and those nobody owns or whose owner's lease lapsed (taken),
        at most `limit` of these (None: all), the first in `chats`' order first.
        Another process's live ownership is never taken. (Where one process sends,
        it owns every chat: all, none taken.)"""

    async def release(
        self, process: str, chats: Collection[Chat] | None = None, after: float = 0.0
    ) -> None:
        """The process owns these (all, with None) no more; another may claim them
        `after` seconds from now, not sooner (the platform's spacing since the
        process's last send there). Until another claims one, `tx.outbox.owned`
        still finds it the process's (the record of a send made before counts).
        With None, it leaves too (no heartbeat: the others take its share of the
        rate)."""

    async def watch(
        self, woken: Callable[[Chat | None], None], listening: Callable[[], None]
    ) -> None:
        """Until cancelled: call `woken` with the chat of every message another process
        enqueues (None: perhaps any, after the watch was lost and came back; then
        `listening` again). Returns at once where no other process can enqueue."""
