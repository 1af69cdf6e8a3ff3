"""`tx.inbound`: the dedupe log of inbound platform events, and the events that
could not be read."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.store.protocols.personal import PersonalData


class InboundLog(PersonalData, Protocol):
    """Every inbound platform event by its platform's own id, so that a repeat (a
    retry, a redelivery after a crash) is recognised and changes nothing.

    Personal data: the unreadable events kept for someone (`keep_unparsed`, by the
    identity that sent them) are in their export and erased by `forget`; `merge`
    has nothing to move (they follow the identity)."""

    async def first_seen(self, channel: str, key: str, now: datetime) -> bool:
        """Record the dedupe `key` of an inbound event on `channel`: True the first time,
        False (and nothing changed) if that key was seen on that channel before. Keys
        are per channel: the same key on another channel is another event. Only a
        digest of the key need be kept; it must name nobody."""

    async def keep_unparsed(
        self, channel: str, key: str, user_id: str, raw: str, reason: str, now: datetime
    ) -> bool:
        """Keep an event that could not be read, as it came (`raw`), with why
        (`reason`, its first 500 characters) and who sent it as far as it says
        (`user_id` on `channel`, "" if it does not). True the first time; False (and
        nothing changed) if `key` was kept on that channel before."""
