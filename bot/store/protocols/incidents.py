"""`tx.incidents`: problems agents declared, their updates, and who follows them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.model import Incident
from bot.store.protocols.personal import PersonalData


@dataclass(frozen=True, slots=True)
class WroteAbout:
    """A case and what its customer wrote on it (each message's first
    `bot.text.MAX_MATCHED` characters: what a match reads), for matching an incident
    declared after they wrote."""

    case_id: int
    customer_id: int
    state: str  # the case's state ("bot", "waiting", "agent", "resolved")
    words: tuple[str, ...]  # the customer's messages and edits, oldest first


class Incidents(PersonalData, Protocol):
    """An incident is `open` until resolved. Customers who write about one are
    subscribed to it, and only subscribers are told of its updates.

    Personal data: `export` gives `incidents_followed` (number, title, state);
    `forget` ends the customer's subscriptions; `merge` moves them, once each."""

    async def open(
        self,
        title: str,
        affected: str,
        words: Sequence[str],
        author: str,
        now: datetime,
        community: str = "",
    ) -> int:
        """Declare an incident, open from `now` (`community`: the place customers work
        on it together, "" for none); returns its number."""

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

    async def cases_since(self, since: datetime, limit: int) -> list[WroteAbout]:
        """The cases not resolved, and those resolved at or after `since`, newest
        (highest number) first, at most `limit` of them, each with what its customer
        wrote on it (a case they wrote nothing on has no words)."""
