"""Personal data: the hooks of every repository that holds some of a customer's data,
and how a transaction composes them.

`/mydata`, `/forget` and `/link` go through every holder (`Transaction.export_customer`,
`forget_customer`, `merge_customers`), so a new table with a customer's data is
covered as soon as its repository has the hooks; the SQLite suite checks that every
table that names a customer or a case belongs to one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Merge:
    """What `/link` joins: customer `drop` into `keep`, at `now`. When both had an
    open case, `drop`'s (`merged`) is joined into `keep`'s (`into`)."""

    keep: int
    drop: int
    now: datetime
    into: int | None = None
    merged: int | None = None


class PersonalData(Protocol):
    """The hooks of a repository that holds some of a customer's data. Each
    repository's protocol says what its own hooks do."""

    async def export(self, customer_id: int) -> dict[str, Any]:
        """This repository's sections of the customer's record (what `/mydata` sends),
        as plain data that JSON can carry: `{}` if it has none of its own. Only what
        the customer may see."""

    async def forget(self, customer_id: int, now: datetime) -> None:
        """Erase what this repository holds about the customer, keeping only what is
        anonymous and counted (see each repository). Must not depend on which other
        holders forgot first."""

    async def merge(self, merge: Merge) -> None:
        """Make `merge.drop`'s rows `merge.keep`'s (counted once where both had the
        same), and join `merge.merged`'s rows into `merge.into`. Runs before the
        customers' own hook, which drops `merge.drop`."""


async def export_customer(holders: Sequence[PersonalData], customer_id: int) -> dict[str, Any]:
    """The customer's record: every holder's sections, in the holders' order."""
    record: dict[str, Any] = {}
    for holder in holders:
        record.update(await holder.export(customer_id))
    return record


async def forget_customer(holders: Sequence[PersonalData], customer_id: int, now: datetime) -> None:
    """Every holder forgets the customer."""
    for holder in holders:
        await holder.forget(customer_id, now)


async def merge_customers(holders: Sequence[PersonalData], merge: Merge) -> None:
    """Every holder merges, in the reverse of the holders' order: the customers come
    first in an export, and their hook, which drops the merged customer, must come
    after every other holder moved what referred to them."""
    for holder in reversed(holders):
        await holder.merge(merge)
