"""The storage protocol. `SQLiteStore` is the embedded default; a PostgreSQL store
for several bot processes would implement the same two protocols and pass the
same tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from bot.model import Address, Case, Customer, Event, EventKind, Idea, Identity, Incident, Outbound


class Transaction(Protocol):
    """Everything one inbound message (or one delivery) changes, committed together
    or not at all."""

    async def first_seen(self, channel: str, key: str, now: datetime) -> bool:
        """Record an inbound dedupe key; False if it was seen before."""

    # customers
    async def arrive(
        self, key: str, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool] | None:
        """`first_seen` and `customer_for` in one: None, with nothing changed, if the
        inbound `key` (on the identity's channel) was seen before."""

    async def customer_for(
        self, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool]:
        """The customer behind an identity, created if new (second value True).
        Replies follow the customer to `address`."""

    async def customer(self, customer_id: int) -> Customer | None: ...

    async def touch_customer(self, customer_id: int, now: datetime) -> None: ...

    async def address_of(self, customer_id: int) -> Address | None:
        """Where the customer last wrote from."""

    # cases
    async def latest_case(self, customer_id: int) -> Case | None:
        """The customer's unresolved case, else their most recently resolved one."""

    async def new_case(self, customer_id: int, now: datetime) -> Case: ...

    async def case(self, case_id: int) -> Case | None: ...

    async def update_case(self, case: Case) -> None: ...

    async def queue_position(self, case: Case) -> int:
        """1 for the case waiting longest; 0 if the case is not waiting."""

    async def queue(self) -> list[Case]:
        """Cases waiting for or with a person, longest waiting first."""

    async def recent_waits(self, limit: int = 20) -> list[float]:
        """Seconds from handover to claim of the most recently claimed cases."""

    async def overdue(self, waiting_since: datetime, alerted_before: datetime) -> list[Case]:
        """Waiting cases handed over before `waiting_since` and not reminded since
        `alerted_before`."""

    # timelines
    async def append(
        self,
        case_id: int,
        kind: EventKind,
        actor: str,
        text: str,
        now: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> Event: ...

    async def timeline(self, case_id: int, limit: int = 50) -> list[Event]:
        """The case's last `limit` events, oldest first."""

    # the customer's voice and data
    async def add_feedback(
        self, customer_id: int, case_id: int | None, text: str, now: datetime
    ) -> int: ...

    async def customer_data(self, customer_id: int) -> dict[str, Any]:
        """Everything stored about the customer that they may see, as plain data."""

    # linking identities
    async def add_link_code(
        self, customer_id: int, code: str, now: datetime, expires: datetime
    ) -> None: ...

    async def take_link_code(self, code: str, now: datetime) -> int | None: ...

    async def link_failures(self, customer_id: int, since: datetime) -> int: ...

    async def add_link_failure(self, customer_id: int, now: datetime) -> None: ...

    async def merge_customers(
        self, keep: int, drop: int, now: datetime
    ) -> tuple[int | None, int | None]: ...

    # incidents
    async def open_incident(
        self, title: str, affected: str, words: Sequence[str], author: str, now: datetime
    ) -> int: ...

    async def incident(self, incident_id: int) -> Incident | None: ...

    async def open_incidents(self) -> list[Incident]: ...

    async def add_incident_update(
        self, incident_id: int, author: str, text: str, now: datetime, *, resolve: bool = False
    ) -> None: ...

    async def subscribe(self, incident_id: int, customer_id: int, now: datetime) -> bool: ...

    async def subscribers(self, incident_id: int) -> list[int]: ...

    async def subscriptions(self, customer_id: int) -> list[int]: ...

    # ideas
    async def add_idea(self, customer_id: int, text: str, now: datetime) -> int: ...

    async def vote(self, idea_id: int, customer_id: int, now: datetime) -> bool: ...

    async def ideas(self, limit: int = 10, *, include_done: bool = False) -> list[Idea]: ...

    async def idea(self, idea_id: int) -> Idea | None: ...

    async def set_idea_state(self, idea_id: int, state: str, note: str, now: datetime) -> None: ...

    async def voters(self, idea_id: int) -> list[int]: ...

    async def votes_of(self, customer_id: int) -> list[int]: ...

    # quiet
    async def set_quiet(
        self,
        customer_id: int,
        *,
        muted_until: datetime | None,
        until_write: bool,
        quiet_hours: str | None = None,
    ) -> None: ...

    async def quiet_of(self, customer_id: int) -> tuple[datetime | None, bool, str]: ...

    async def hold(self, message_id: int, until: datetime) -> None: ...

    async def release_notices(self, customer_id: int, now: datetime) -> int: ...

    async def drop(self, message_id: int) -> None:
        """Remove a delivered outbox row that must not be kept."""

    async def forget(self, customer_id: int, now: datetime) -> list[int]:
        """Erase the customer's personal data and messages; returns their case ids."""

    # desk threads
    async def map_thread(self, address: Address, case_id: int, *, card: bool = False) -> None:
        """Remember that this desk thread is the case's."""

    async def case_for_thread(self, address: Address) -> int | None: ...

    async def thread_of(self, channel: str, chat_id: str, case_id: int) -> str | None: ...

    # the outbox
    async def enqueue(self, message: Outbound, now: datetime) -> int: ...

    async def mark_sent(self, message_id: int, platform_id: str, now: datetime) -> None: ...

    async def mark_retry(self, message_id: int, not_before: datetime, error: str) -> None: ...

    async def mark_failed(self, message_id: int, error: str, now: datetime) -> None: ...


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction of one's own: nothing else runs in it."""

    def shared(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction shared with other callers running now and committed with
        them (group commit); leaving it waits for that commit. If the group is rolled
        back for another member's failure, leaving raises `GroupAborted` (nothing of
        this caller's was stored): then run again in `transaction()`. Callers keep
        each other off the same rows."""

    async def pending(
        self,
        channel: str,
        chat_id: str | None = None,
        limit: int = 200,
        after: int = 0,
        now: datetime | None = None,
    ) -> list[tuple[Outbound, datetime]]:
        """Pending messages for a channel, oldest first (from outbox id `after` on),
        with when each is due. With `now`, without the incident and idea notices
        not due by then (held: they never hold anything up)."""

    # Reading, for tools, reports and tests.
    async def customer_by_identity(self, identity: Identity) -> Customer | None: ...

    async def cases_of(self, customer_id: int) -> Sequence[Case]: ...

    async def events_of(self, case_id: int) -> Sequence[Event]: ...

    async def outbox_rows(self, case_id: int | None = None) -> Sequence[tuple[Outbound, str]]:
        """Outbox messages with their state ("pending", "sent", "failed")."""
