"""`tx.ideas`: customers' suggestions and their votes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.model import Idea, IdeaState
from bot.store.protocols.personal import PersonalData


class Ideas(PersonalData, Protocol):
    """`/idea`: an idea is `open`, `planned` or `done`; a customer votes for one at
    most once, and voters hear when it changes.

    Personal data: `export` gives `ideas_voted_for` (number, text, state);
    `forget` erases the customer's votes and the ideas only they wanted (one
    others voted for stays, with their votes); `merge` moves votes (once each) and
    authorship."""

    async def add(self, customer_id: int, text: str, now: datetime) -> int:
        """Record the customer's idea, with their vote; returns its number."""

    async def vote(self, idea_id: int, customer_id: int, now: datetime) -> bool:
        """The customer votes for the idea: True if it is a new vote."""

    async def top(self, limit: int = 10, *, include_done: bool = False) -> list[Idea]:
        """The `limit` ideas with the most votes (ties: the lower number first), done
        ones only with `include_done`."""

    async def get(self, idea_id: int) -> Idea | None:
        """The idea with its vote count, or None."""

    async def set_state(self, idea_id: int, state: IdeaState, note: str, now: datetime) -> None:
        """The team moved the idea to `state` at `now`, saying `note`."""

    async def voters(self, idea_id: int) -> list[int]:
        """The ids of the customers who voted for the idea, in ascending order."""

    async def votes_of(self, customer_id: int) -> list[int]:
        """The numbers of the ideas the customer voted for."""
