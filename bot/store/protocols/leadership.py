"""Leader election: the work that must run once for the whole deployment (the
waiting-case reminders, the Telegram poller) runs in the process that leads, and
moves to another when that one dies."""

from __future__ import annotations

from typing import Protocol


class Leadership(Protocol):
    """One process's part in the election of one name ("reminders", "telegram
    polling"), while the `Store.leadership(name)` block runs. At most one process of
    a deployment leads a name at a time (but see `lost`); when it stops or dies,
    another that campaigns for the name takes over."""

    @property
    def name(self) -> str: ...

    @property
    def is_leader(self) -> bool:
        """Whether this process leads now."""

    async def gained(self) -> int:
        """Wait until this process leads (at once if it does); returns the term, a
        number that is new at every gain."""

    async def lost(self, term: int) -> None:
        """Wait until the term `term` is over (at once if it is): the leader's work
        must stop now. A leader that can no longer reach the database knows it
        within the store's check interval (`[storage] leader_retry_seconds`), and
        another process may lead from then on: stop at once."""
