"""`tx.customers`: customers and their identities on the platforms."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.model import Address, Customer, Identity
from bot.store.protocols.personal import PersonalData


class Customers(PersonalData, Protocol):
    """A customer is one person, with one or more identities `(channel, workspace,
    user id)` (joined by `/link`), each with the address replies to it go to.

    Personal data: `export` gives `customer` (id, name, first and last seen, language) and
    `identities`; `forget` erases the identities, the name and the language, and marks the
    customer forgotten (their row stays, naming nobody, for reports' counts);
    `merge` moves the identities and then drops the merged customer, last of all."""

    async def arrive(
        self, key: str, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool] | None:
        """The turn's one read: `tx.inbound.first_seen(identity.channel, key, now)` and
        `for_identity(identity, name, address, now)` in one. None, with nothing
        changed, if the inbound `key` was seen before on the identity's channel.

        A store may read, along with the customer, what their turn reads next (their
        latest case and its recent timeline, their notice settings, whether any
        incident is open) and serve `tx.cases.latest`, `tx.timeline.recent`,
        `tx.notices.quiet_of` and `tx.incidents.open_ones` from it, until this
        transaction changes them."""

    async def for_identity(
        self, identity: Identity, name: str, address: Address, now: datetime
    ) -> tuple[Customer, bool]:
        """The customer behind an identity, created if new (second value True). The
        identity's address becomes `address` (replies follow the customer to where
        they last wrote); a non-empty `name` different from the stored one replaces it."""

    async def get(self, customer_id: int) -> Customer | None:
        """The customer, or None if there is none with that id."""

    async def touch(self, customer_id: int, now: datetime) -> None:
        """The customer was last seen at `now`."""

    async def set_language(self, customer_id: int, language: str, chosen: bool) -> None:
        """The bot speaks `language` to the customer from now on; `chosen`: they chose
        it themselves (`Customer.language_chosen`)."""

    async def address_of(self, customer_id: int) -> Address | None:
        """Where the customer last wrote from (the address of their identity used
        last, private or shared as it was), or None if they have no identity left."""

    async def reached_as(self, customer_id: int) -> tuple[Address, str] | None:
        """`address_of`, with the user id of that identity (whom to show a message
        to alone when that address is a shared place), or None."""
