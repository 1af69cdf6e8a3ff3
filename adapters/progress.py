"""How far a message sent in several platform calls got, so that the outbox's next
try goes on where the last one stopped.

One core message can take several calls: a long text in pieces, then a file; on
Telegram a card opens its forum topic first. When a later call fails (a timeout, a
reset connection, a 5xx), the outbox tries the whole message again. Without this,
that try repeated the calls the platform had already taken and answered: the same
pieces twice, a second empty forum topic. What was answered is not repeated; a
call whose answer was lost still may be (at least once). The progress is stored
with the message's outbox row as well (`Progress.keep`, through the core's
`keep_progress`), so a try after a restart goes on where the last one stopped too:
the pieces taken are not sent again, the topic opened is used.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.model import Outbound
from bot.outbox import DeliveryError, keep_progress

LIMIT = 1_000  # messages part-sent at once; the oldest are forgotten beyond it


@dataclass(slots=True)
class Progress:
    """What the platform has taken of one message."""

    pieces: int = 0  # pieces of the text, in order
    first_id: str = ""  # the platform's id for the first piece
    last_id: str = ""  # ... and for the last one taken
    thread: str = ""  # a thread opened for the message (a Telegram forum topic)
    of: str = ""  # which text it is the progress of (a digest)

    @property
    def started(self) -> bool:
        return bool(self.pieces or self.thread)

    async def keep(self) -> None:
        """Store it with the message (call after each call the platform took, when
        more are to come), for a try after a restart."""
        await keep_progress(
            {
                "pieces": self.pieces,
                "first_id": self.first_id,
                "last_id": self.last_id,
                "thread": self.thread,
                "of": self.of,
            }
        )

    @classmethod
    def stored(cls, message: Outbound) -> Progress:
        """The progress stored with the message's row (nothing taken, if none, or if it
        is of another text: a summary of held notices reuses the first one's row)."""
        of = _digest(message.text)
        data: Mapping[str, Any] = message.progress
        if not data or data.get("of") != of:
            return cls(of=of)
        pieces = data.get("pieces")
        return cls(
            pieces=pieces if isinstance(pieces, int) and pieces >= 0 else 0,
            first_id=str(data.get("first_id") or ""),
            last_id=str(data.get("last_id") or ""),
            thread=str(data.get("thread") or ""),
            of=of,
        )


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


class Resumable:
    """The progress of messages whose last try failed part-way, for this run (and,
    from a run before, as stored with the message). Use it around the call that raises
    `DeliveryError`: one that is permanent ends the message, and its progress with it."""

    def __init__(self) -> None:
        self._kept: dict[tuple[int, str], Progress] = {}

    @contextlib.contextmanager
    def progress(self, message: Outbound) -> Iterator[Progress]:
        """The progress of the earlier tries of `message` (nothing taken, the first
        time); kept for the next try if this one fails as well, dropped if it works or
        fails for good. A message is its outbox row with its text: a summary of held
        notices reuses the first notice's row with a text of its own."""
        key = (message.id, message.text)
        found = self._kept.pop(key, None) if message.id else None
        progress = found or Progress.stored(message)
        try:
            yield progress
        except BaseException as error:
            permanent = isinstance(error, DeliveryError) and error.permanent
            if message.id and progress.started and not permanent:
                self._kept[key] = progress
                while len(self._kept) > LIMIT:
                    del self._kept[next(iter(self._kept))]
            raise
