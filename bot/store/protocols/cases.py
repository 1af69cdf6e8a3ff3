"""`tx.cases`: cases, the queue of handed-over ones, and how long people wait."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.model import Case
from bot.store.protocols.personal import PersonalData


class Cases(PersonalData, Protocol):
    """A case is what one customer's issue is about, from opening to resolution.

    At most one case per customer is unresolved (state other than `resolved`): the
    store enforces it, and refuses a second open case however it is asked for.

    Personal data: `export` gives `cases`, each with its timeline as the customer
    sees it (the team's internal notes left out); `forget` empties their text
    (subject, summaries, why a handover waits, the conversation's note), ends any
    conversation they wait in, and resolves them at `now` if open, keeping their
    states, times, handover reason and agent; `merge` resolves
    the merged case at `now` and moves every case to the kept customer."""

    async def latest(self, customer_id: int) -> Case | None:
        """The customer's unresolved case; else their case resolved last (ties: the
        higher id); None if they never had one."""

    async def new(self, customer_id: int, now: datetime) -> Case:
        """Open a case for the customer, in state `bot`, opened and updated at `now`,
        with a fresh id. The customer must have no unresolved case: if they have,
        the transaction fails (at the latest when it commits)."""

    async def get(self, case_id: int) -> Case | None:
        """The case, or None if there is none with that id."""

    async def ids_of(self, customer_id: int) -> list[int]:
        """The ids of all the customer's cases, in ascending order."""

    async def update(self, case: Case) -> None:
        """Store every field of `case` (found by its id) as given; `customer_id` and
        `opened_at` do not change."""

    async def queue_position(self, case: Case) -> int:
        """The case's place in the queue of waiting cases as stored: 1 for the one
        handed over first (ties: the lower id); 0 if `case` is not waiting or was never
        handed over."""

    async def queue(self) -> list[Case]:
        """Cases waiting for a person, handed over first at the front, then the cases
        a person has (claimed), in the same order."""

    async def recent_claims(self, since: datetime) -> list[tuple[datetime, datetime, str]]:
        """(handed over at, claimed at, agent) of the cases claimed at `since` or later,
        latest claim first (a claim before the handover does not count; the agent is
        the one who has the case now): what the waits customers are told are
        estimated from."""

    async def came_back_unanswered(self, back_before: datetime) -> list[tuple[Case, datetime]]:
        """Cases with an agent that came back to them (a state event "back with …": a
        reopened case given back, bot/features/comeback.py) before `back_before`, with
        no reply from a person since and no reminder since: each with when it came
        back, the longest waiting first."""

    async def overdue(self, waiting_since: datetime, alerted_before: datetime) -> list[Case]:
        """Waiting cases handed over before `waiting_since` and not reminded of
        (`alerted_at`) since `alerted_before`, handed over first at the front."""
