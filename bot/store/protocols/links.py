"""`tx.links`: `/link` codes that join a customer's identities on two channels."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.store.protocols.personal import PersonalData


class Links(PersonalData, Protocol):
    """Short-lived, single-use codes, and the failed tries that stop guessing. Only a
    digest of a code need be kept.

    Personal data: not exported (a digest and counts of tries); `forget` and
    `merge` erase the customer's (the merged one's) codes and failed tries."""

    async def add_code(self, customer_id: int, code: str, now: datetime, expires: datetime) -> None:
        """Give the customer `code`, valid until `expires`; an earlier code of theirs
        is no longer valid."""

    async def take_code(self, code: str, now: datetime) -> int | None:
        """The customer who was given `code`, once: the code is used up; an unknown,
        used or expired (before `now`) code gives None. Expired codes are removed."""

    async def failures(self, customer_id: int, since: datetime) -> int:
        """How many wrong codes the customer tried from `since` on."""

    async def add_failure(self, customer_id: int, now: datetime) -> None:
        """The customer tried a wrong code at `now`."""
