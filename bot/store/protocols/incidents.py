"""`tx.incidents`: problems agents declared, their updates, and who follows them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.model import Incident
from bot.store.protocols.personal import PersonalData


class Incidents(PersonalData, Protocol):
    """An incident is `open` until resolved. Customers who write about one are
    subscribed to it, and only subscribers are told of its updates.

    Personal data: `export` gives `incidents_followed` (number, title, state);
    `forget` ends the customer's subscriptions; `merge` moves them, once each."""

    async def open(
        self, title: str, affected: str, words: Sequence[str], author: str, now: datetime
    ) -> int:
        """Declare an incident, open from `now`; returns its number."""

    async def get(self, incident_id: int) -> Incident | None:
        """The incident with its latest update (the one added last), or None."""

    async def open_ones(self) -> list[Incident]:
        """The incidents not resolved, by number, each with its latest update."""

    async def add_update(
        self, incident_id: int, author: str, text: str, now: datetime, *, resolve: bool = False
    ) -> None:
        """Add an update at `now`; with `resolve`, the incident is resolved then."""

    async def subscribe(self, incident_id: int, customer_id: int, now: datetime) -> bool:
        """Subscribe the customer to the incident: True if they were not subscribed."""

    async def subscribers(self, incident_id: int) -> list[int]:
        """The ids of the incident's subscribers, in ascending order."""

    async def subscriptions(self, customer_id: int) -> list[int]:
        """The numbers of the incidents the customer is subscribed to."""
