"""`tx.timeline`: what happened on each case, in order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.model import Event, EventKind
from bot.store.protocols.personal import PersonalData


class Timeline(PersonalData, Protocol):
    """Every change on a case is an event on its timeline, in time order (ties: in the
    order they were appended). Events are not changed once appended, except by
    `/forget` and `/link` (see `PersonalData`).

    Personal data: exported with each case (see `Cases`), so `export` gives
    nothing of its own; `forget` keeps, of the customer's cases, only the
    handovers, claims, state changes and ratings, without their text and with no
    data but a rating's score; `merge` moves the merged case's events into the
    kept case, where they fall in time order."""

    async def append(
        self,
        case_id: int,
        kind: EventKind,
        actor: str,
        text: str,
        now: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        """Add an event at `now` to the case's timeline; returns it with its new id.
        `data` must be JSON-serialisable; it reads back equal (an empty or missing
        `data` as `{}`)."""

    async def recent(self, case_id: int, limit: int = 50) -> list[Event]:
        """The case's last `limit` events, oldest first, including those appended in
        this transaction."""

    async def whole(self, case_id: int) -> list[Event]:
        """All of the case's events, oldest first, including those appended in this
        transaction (what a handover summary is made of)."""

    async def agents_active_since(self, since: datetime) -> dict[str, datetime]:
        """Each actor but the customer, the bot and the system (that is, each agent, by
        the name they act under) with an event on any case at `since` or later, and
        the time of their latest one: who has been working on the desk lately."""
