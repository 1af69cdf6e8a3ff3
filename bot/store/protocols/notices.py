"""`tx.notices`: when a customer wants notices (incidents, ideas), and holding them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.store.protocols.personal import PersonalData


class Notices(PersonalData, Protocol):
    """Notices wait while a customer muted them or is in their quiet hours; replies
    about their case never wait.

    Personal data: `export` gives `preferences` (muted until, muted until they
    write, quiet hours, whether community places are offered); `forget` clears them;
    `merge` keeps the kept customer's, with community places off if either had
    turned them off, and a case joined into another passes on its offer."""

    async def set_quiet(
        self,
        customer_id: int,
        *,
        muted_until: datetime | None,
        until_write: bool,
        quiet_hours: str | None = None,
    ) -> None:
        """Mute notices until `muted_until` (None: not muted for a time) and, with
        `until_write`, until the customer writes again. `quiet_hours` ("22:00-07:00",
        "" for none) replaces the stored ones; None leaves them as they are."""

    async def quiet_of(self, customer_id: int) -> tuple[datetime | None, bool, str]:
        """(muted until, muted until they write, quiet hours) of the customer;
        `(None, False, "")` for a customer who set nothing, or who does not exist."""

    async def hold(self, message_id: int, until: datetime) -> None:
        """A notice in the outbox waits until `until` (unlike a retry, this costs it no
        attempt)."""

    async def community_off(self, customer_id: int) -> bool:
        """Did the customer turn off the offer of community places (/community off)?
        False for one who did not, or who does not exist."""

    async def set_community_off(self, customer_id: int, off: bool) -> None:
        """Turn the offer of community places off (True) or on again for the customer."""

    async def offer_community(self, case_id: int, now: datetime) -> bool:
        """Note that a community place is offered on the case at `now`: True the first
        time, False if one was offered on it before (a place is offered once per case)."""

    async def release(self, customer_id: int, now: datetime) -> int:
        """The customer's held notices still pending are due at `now`; returns how
        many."""
