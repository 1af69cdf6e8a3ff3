"""How far a message sent in several platform calls got, so that the outbox's next
try goes on where the last one stopped.

One core message can take several calls: a long text in pieces, then a file; on
Telegram a card opens its forum topic first. When a later call fails (a timeout, a
reset connection, a 5xx), the outbox tries the whole message again. Without this,
that try repeated the calls the platform had already taken and answered: the same
pieces twice, a second empty forum topic. What was answered is not repeated; a
call whose answer was lost still may be (at least once), and after a restart the
progress is gone and the message is sent whole again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from bot.model import Outbound
from bot.outbox import DeliveryError

LIMIT = 1_000  # messages part-sent at once; the oldest are forgotten beyond it


@dataclass(slots=True)
class Progress:
    """What the platform has taken of one message."""

    pieces: int = 0  # pieces of the text, in order
    first_id: str = ""  # the platform's id for the first piece
    last_id: str = ""  # ... and for the last one taken
    thread: str = ""  # a thread opened for the message (a Telegram forum topic)

    @property
    def started(self) -> bool:
        return bool(self.pieces or self.thread)


class Resumable:
    """The progress of messages whose last try failed part-way, for this run. Use it
    around the call that raises `DeliveryError`: one that is permanent ends the
    message, and its progress with it."""

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
        progress = found or Progress()
        try:
            yield progress
        except BaseException as error:
            permanent = isinstance(error, DeliveryError) and error.permanent
            if message.id and progress.started and not permanent:
                self._kept[key] = progress
                while len(self._kept) > LIMIT:
                    del self._kept[next(iter(self._kept))]
            raise
