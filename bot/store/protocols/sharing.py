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

from collections.abc import Callable, Collection
from typing import Protocol

Chat = tuple[str, str]  # (channel, chat_id): what is owned


class OutboxSharing(Protocol):
    async def join(self, process: str, lease: float) -> int:
        """Register (or renew) the process's heartbeat for `lease` seconds; forget
        processes whose heartbeat lapsed; returns how many are live, itself included."""

    async def claim(self, process: str, chats: Collection[Chat], lease: float) -> set[Chat]:
        """Of `chats`, those the process owns now, each for `lease` seconds more: its
        own (renewed), and those nobody owns or whose owner's lease lapsed (taken).
        Another process's live ownership is never taken."""

    async def release(self, process: str, chats: Collection[Chat] | None = None) -> None:
        """The process owns these (all, with None) no more; with None, it leaves too
        (no heartbeat: the others take its share of the rate)."""

    async def watch(
        self, woken: Callable[[Chat | None], None], listening: Callable[[], None]
    ) -> None:
        """Until cancelled: call `woken` with the chat of every message another process
        enqueues (None: perhaps any, after the watch was lost and came back; then
        `listening` again). Returns at once where no other process can enqueue."""
