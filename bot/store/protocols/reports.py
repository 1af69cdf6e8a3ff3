"""`store.reporting()`: the reads `candor report` makes its figures from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.model import CaseState, Event, Idea, IncidentState


@dataclass(frozen=True, slots=True)
class CaseTimes:
    """A case as a report counts it: `channel` is where the customer's words on it
    were last said (else the channel they last wrote on), `language` the one the
    bot speaks to them ("" when not settled, or in a database from before 016)."""

    id: int
    state: CaseState
    opened_at: datetime
    resolved_at: datetime | None
    channel: str = ""
    language: str = ""


@dataclass(frozen=True, slots=True)
class Undelivered:
    """A reply to a customer not getting through: still tried (`pending`, with
    failed attempts) or given up (`failed`)."""

    case_id: int | None
    state: str
    since: datetime  # when it was written
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """An update of an incident as the public may read it: when, and its text."""

    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class PublicIncident:
    """An incident as the public status page shows it: no author, no subscribers."""

    id: int
    title: str
    affected: str
    state: IncidentState
    opened_at: datetime
    resolved_at: datetime | None
    updates: tuple[IncidentUpdate, ...]  # newest first


class Reports(Protocol):
    """Rows for reports, all from one snapshot of the database. A period is from
    `since` (None: the beginning) to `until`, both included. The report computes its
    figures from these rows; the store only selects them."""

    async def cases_opened(self, since: datetime | None, until: datetime) -> list[CaseTimes]:
        """The cases opened in the period, by id."""

    async def events_of_cases_opened(self, since: datetime | None, until: datetime) -> list[Event]:
        """Every event of the cases opened in the period (internal notes too), by
        case, then in the order they were appended. An event's data that cannot be
        read reads as `{}`."""

    async def feedback_count(self, since: datetime | None, until: datetime) -> int:
        """How many pieces of feedback were given in the period."""

    async def top_ideas(
        self, limit: int, since: datetime | None = None, until: datetime | None = None
    ) -> list[Idea]:
        """The `limit` ideas with the most voters (ties: by text), done ones too.
        With a period (`until` None: no end), only the votes given in it count, and
        only ideas voted for or suggested in it are listed."""

    async def undelivered_replies(
        self, since: datetime | None, until: datetime
    ) -> list[Undelivered]:
        """Replies to customers (replies and case updates) still pending after a
        failed attempt, whenever written, and those that failed, written in the
        period; oldest first."""

    async def public_incidents(self, resolved_since: datetime) -> list[PublicIncident]:
        """The incidents open now and those resolved from `resolved_since` on, the
        latest opened first, each with all its updates (newest first; the same
        moment: the one added last first). Without anyone's name: the public may
        read them."""

    async def web_session(self, token: str, now: datetime) -> str | None:
        """The agent of the open web session `token` (as `tx.web.session`), read
        without a write: what a stranger's forged cookie costs."""

    async def web_link(self, token: str, now: datetime) -> bool:
        """Whether `token` is a sign-in link not taken and not expired (a read:
        `tx.web.take_link` takes it)."""
