"""The transaction (its repositories, one per aggregate) and the store that makes it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from bot.model import Case, Customer, Event, Identity, Outbound
from bot.store.protocols.cases import Cases
from bot.store.protocols.customers import Customers
from bot.store.protocols.desk import DeskThreads
from bot.store.protocols.feedback import FeedbackLog
from bot.store.protocols.ideas import Ideas
from bot.store.protocols.inbound import InboundLog
from bot.store.protocols.incidents import Incidents
from bot.store.protocols.leadership import Leadership
from bot.store.protocols.links import Links
from bot.store.protocols.notices import Notices
from bot.store.protocols.outbox import OutboxRows, Sendable
from bot.store.protocols.reports import Reports
from bot.store.protocols.sharing import OutboxSharing
from bot.store.protocols.timeline import Timeline
from bot.store.protocols.web import WebSignIn


class Transaction(Protocol):
    """Everything one inbound message (or one delivery) changes, committed together
    or not at all, through one repository per aggregate: `tx.cases.latest(...)`,
    `tx.outbox.enqueue(...)`. A read sees every write made before it in the same
    transaction."""

    @property
    def inbound(self) -> InboundLog: ...

    @property
    def customers(self) -> Customers: ...

    @property
    def cases(self) -> Cases: ...

    @property
    def timeline(self) -> Timeline: ...

    @property
    def feedback(self) -> FeedbackLog: ...

    @property
    def links(self) -> Links: ...

    @property
    def incidents(self) -> Incidents: ...

    @property
    def ideas(self) -> Ideas: ...

    @property
    def notices(self) -> Notices: ...

    @property
    def outbox(self) -> OutboxRows: ...

    @property
    def desk(self) -> DeskThreads: ...

    @property
    def web(self) -> WebSignIn: ...

    # A customer's data, across every repository that holds some of it.

    async def export_customer(self, customer_id: int) -> dict[str, Any]:
        """Everything stored about the customer that they may see, as plain data (what
        `/mydata` sends). The support team's internal notes are theirs, not the
        customer's, and are left out."""

    async def forget_customer(self, customer_id: int, now: datetime) -> list[int]:
        """Erase the customer's personal data and messages everywhere (`/forget`);
        returns the ids of their cases. What stays is anonymous: the customer's row
        (without name or settings) and their cases with their states and times, the
        handover reasons and rating scores, for reports' counts."""

    async def merge_customers(
        self, keep: int, drop: int, now: datetime
    ) -> tuple[int | None, int | None]:
        """Join customer `drop` into `keep` (`/link`): everything of `drop`'s becomes
        `keep`'s, and `drop` is gone. If both have an open case, `drop`'s history
        moves into `keep`'s (in time order) and its case is resolved at `now` as
        merged. Returns (the open case after the merge, the case merged into it)."""


class Store(OutboxSharing, Protocol):
    """A database opened at start and closed at stop, making transactions."""

    async def open(self) -> None:
        """Connect and bring the schema up to date; `StoreError` if the database
        cannot be used. A store opened read-only never changes the database: it
        does not migrate, only reads (`transaction()` and `shared()` refuse); it
        raises `NoDatabase` if there is none, `NotACandorDatabase` if it is not
        Candor's."""

    async def close(self) -> None:
        """Let running transactions finish (not for ever), then disconnect."""

    def reporting(self) -> AbstractAsyncContextManager[Reports]:
        """The reads reports are made of, all from one snapshot of the database, also
        on a store opened read-only. Writers may have to wait while the block runs:
        keep it short."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction of one's own: nothing else runs in it. Leaving the block
        commits it; leaving by an exception rolls it back."""

    def shared(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction shared with other callers running now and committed with
        them (group commit); leaving it waits for that commit. If the group is rolled
        back for another member's failure, leaving raises `GroupAborted` (nothing of
        this caller's was stored): then run again in `transaction()`. So does a
        member whose customer another process holds (PostgreSQL: `NotJoined`, a
        `GroupAborted`): it leaves at once rather than hold up the group. Callers
        keep each other off the same rows."""

    def leadership(self, name: str) -> AbstractAsyncContextManager[Leadership]:
        """Campaign for leading `name` for as long as the block runs (entering does
        not wait for the outcome: see `Leadership.gained`); leaving stops leading
        and lets another process take over at once. Only one block per name and
        store at a time. On a database one process writes (SQLite: one `candor run`
        per file), that process always leads."""

    async def pending(
        self,
        channel: str,
        chat_id: str | None = None,
        limit: int = 200,
        after: int = 0,
        now: datetime | None = None,
        *,
        skip: Collection[int] = (),
        owner: str | None = None,
    ) -> list[tuple[Outbound, datetime]]:
        """Pending messages for a channel, oldest first (from outbox id `after` on),
        with when each is due. With `now`, without the incident and idea notices
        not due by then (held: they never hold anything up). Without the rows whose
        ids are in `skip` (the outbox has them in hand already). With `owner` (a
        process of a shared outbox, `OutboxSharing`), without the rows of the chats
        another process owns while its lease holds (where one process owns every
        chat, SQLite, nothing is left out)."""

    async def sendable(self, message_id: int, owner: str | None = None) -> Sendable:
        """Whether the message may be sent now, asked just before it is (one read):
        `YES` if it is still pending and, with `owner` (a process of a shared outbox),
        its chat is that process's (it claimed it and nobody took it over since);
        `GONE` if it is not pending any more or not there (erased by `/forget`);
        `ANOTHERS` if it is pending but its chat is not `owner`'s. Where one process
        owns every chat (SQLite), never `ANOTHERS`."""

    # Reading, for tools, reports and tests.
    async def customer_by_identity(self, identity: Identity) -> Customer | None: ...

    async def cases_of(self, customer_id: int) -> Sequence[Case]:
        """The customer's cases, by id."""

    async def events_of(self, case_id: int) -> Sequence[Event]:
        """The case's whole timeline, oldest first."""

    async def outbox_rows(self, case_id: int | None = None) -> Sequence[tuple[Outbound, str]]:
        """Outbox messages (of one case, or all) by id, with their state ("pending",
        "sent", "failed")."""
