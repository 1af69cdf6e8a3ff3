"""`tx.inbound`: the dedupe log of inbound platform events."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class InboundLog(Protocol):
    """Every inbound platform event by its platform's own id, so that a repeat (a
    retry, a redelivery after a crash) is recognised and changes nothing."""

    async def first_seen(self, channel: str, key: str, now: datetime) -> bool:
        """Record the dedupe `key` of an inbound event on `channel`: True the first time,
        False (and nothing changed) if that key was seen on that channel before. Keys
        are per channel: the same key on another channel is another event. Only a
        digest of the key need be kept; it must name nobody."""
