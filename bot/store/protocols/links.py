"""`tx.links`: `/link` codes that join a customer's identities on two channels."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.model import Identity, PendingLink
from bot.store.protocols.personal import PersonalData


class Links(PersonalData, Protocol):
    """Short-lived, single-use codes, the links they start (pending until both sides
    confirm), and the failed tries that stop guessing. Only a digest of a code, and
    of the identity that tried a wrong one, need be kept.

    Personal data: not exported (digests, and pending links that name only customer
    numbers); `forget` and `merge` erase the customer's (the merged one's) codes and
    pending links. Failed tries are kept by identity, not by customer, so that
    `/forget` does not give new tries: they go once they no longer count."""

    async def add_code(self, customer_id: int, code: str, now: datetime, expires: datetime) -> None:
        """Give the customer `code`, valid until `expires`; an earlier code of theirs
        is no longer valid."""

    async def take_code(self, code: str, now: datetime) -> int | None:
        """The customer who was given `code`, once: the code is used up; an unknown,
        used or expired (before `now`) code gives None. Expired codes are removed."""

    async def failures(self, identity: Identity, since: datetime) -> int:
        """How many wrong codes were tried from `identity` from `since` on. Tries
        (anyone's) before `since` are no longer kept."""

    async def add_failure(self, identity: Identity, now: datetime) -> None:
        """A wrong code was tried from `identity` at `now`."""

    async def pend(self, asked_by: int, entered_by: int, now: datetime, expires: datetime) -> int:
        """`entered_by` entered the code `asked_by` was given: a link waiting for both
        to confirm, until `expires`; returns its number."""

    async def pending(self, link_id: int, now: datetime) -> PendingLink | None:
        """The pending link, or None if there is none (answered, dropped) or it
        expired before `now` (expired ones are removed)."""

    async def entered_yes(self, link_id: int, expires: datetime) -> None:
        """The customer who entered the code said yes; the link now waits, until
        `expires`, for the one who asked for it."""

    async def drop_pending(self, link_id: int) -> None:
        """The pending link is answered (joined or declined): it is gone."""
