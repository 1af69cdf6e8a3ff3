"""One SQLite transaction: a repository per aggregate, on one shared session.

The repositories of one transaction share its session (`session.py`): the
connection, the held-back writes and the memo the turn's one read fills. Plain
writes are held back (`Writes`) and reads are cut to the fewest trips to
aiosqlite's thread: at a few dozen statements a message, trips are the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import aiosqlite

from bot.store.protocols import personal
from bot.store.protocols.personal import Merge, PersonalData
from bot.store.sqlite.cases import SQLiteCases
from bot.store.sqlite.customers import SQLiteCustomers
from bot.store.sqlite.desk import SQLiteDeskThreads
from bot.store.sqlite.feedback import SQLiteFeedbackLog
from bot.store.sqlite.group import Writes
from bot.store.sqlite.ideas import SQLiteIdeas
from bot.store.sqlite.inbound import SQLiteInboundLog
from bot.store.sqlite.incidents import SQLiteIncidents
from bot.store.sqlite.links import SQLiteLinks
from bot.store.sqlite.notices import SQLiteNotices
from bot.store.sqlite.outbox import SQLiteOutboxRows
from bot.store.sqlite.session import Session
from bot.store.sqlite.timeline import SQLiteTimeline
from bot.store.sqlite.web import SQLiteWebSignIn


class SQLiteTransaction:
    """The `Transaction` protocol on an open SQLite transaction."""

    __slots__ = (
        "_s",
        "cases",
        "customers",
        "desk",
        "feedback",
        "ideas",
        "inbound",
        "incidents",
        "links",
        "notices",
        "outbox",
        "timeline",
        "web",
    )

    # what the repositories run their SQL on (another backend brings its own)
    session_type: ClassVar[type[Session]] = Session

    def __init__(
        self, db: aiosqlite.Connection, writes: Writes, digest: Callable[[str], str]
    ) -> None:
        self._s = session = self.session_type(db, writes, digest)
        self.inbound = SQLiteInboundLog(session)
        self.customers = SQLiteCustomers(session)
        self.timeline = SQLiteTimeline(session)
        self.cases = SQLiteCases(session, self.timeline)
        self.feedback = SQLiteFeedbackLog(session)
        self.links = SQLiteLinks(session)
        self.incidents = SQLiteIncidents(session)
        self.ideas = SQLiteIdeas(session)
        self.notices = SQLiteNotices(session)
        self.outbox = SQLiteOutboxRows(session)
        self.desk = SQLiteDeskThreads(session)
        self.web = SQLiteWebSignIn(session)

    @property
    def personal_data(self) -> tuple[PersonalData, ...]:
        """Every repository that holds some of a customer's data, in the order their
        sections appear in an export (the unreadable events first: they are found by
        the customer's identities, which the customers' `forget` erases)."""
        return (
            self.inbound,
            self.customers,
            self.cases,
            self.timeline,
            self.feedback,
            self.ideas,
            self.incidents,
            self.notices,
            self.links,
            self.outbox,
            self.desk,
        )

    async def export_customer(self, customer_id: int) -> dict[str, Any]:
        return await personal.export_customer(self.personal_data, customer_id)

    async def forget_customer(self, customer_id: int, now: datetime) -> list[int]:
        self._s.forget_memo()
        case_ids = await self.cases.ids_of(customer_id)
        await personal.forget_customer(self.personal_data, customer_id, now)
        # once committed, the store also wipes the erased words from the WAL
        self._s.writes.erased = True
        return case_ids

    async def merge_customers(
        self, keep: int, drop: int, now: datetime
    ) -> tuple[int | None, int | None]:
        self._s.forget_memo()
        kept, dropped = await self.cases.latest(keep), await self.cases.latest(drop)
        into = kept.id if kept is not None and kept.is_open else None
        merged = dropped.id if dropped is not None and dropped.is_open else None
        if into is not None and merged is not None:
            await personal.merge_customers(self.personal_data, Merge(keep, drop, now, into, merged))
            return into, merged
        await personal.merge_customers(self.personal_data, Merge(keep, drop, now))
        return into if into is not None else merged, None
