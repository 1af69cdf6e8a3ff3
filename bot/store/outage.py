"""An outage of the database as one process sees it: said once when it begins (the
first statement or connection that fails) and once when it ends (the first that
works again), however many turns, outbox passes and heartbeats fail in between.
Each of those raises `Unreachable`, which their callers log at DEBUG only."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("bot.store")


class Outage:
    """The outage state of one store's database, `where` (its URL, no password)."""

    def __init__(
        self,
        where: str,
        said: Callable[[BaseException], str] = lambda error: str(error),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where = where
        self._said = said  # what an error says, never the password
        self._clock = clock
        self.since: float | None = None  # when the outage began (this clock)
        self.failures = 0  # what failed in it

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        """Something failed to reach the database, for `error`."""
        self.failures += 1
        if self.since is not None:
            return
        self.since = self._clock()
        log.error(
            "the database at storage.url %s cannot be reached (%s): no platform update is"
            " acknowledged meanwhile (the platforms send them again) and the outbox waits;"
            " trying again",
            self.where,
            self._said(error) or type(error).__name__,
        )

    def worked(self) -> None:
        """Something reached the database: the outage, if there was one, is over."""
        if self.since is None:
            return
        lasted, failed = self._clock() - self.since, self.failures
        self.since, self.failures = None, 0
        log.warning(
            "the database at storage.url %s is back after %.1f s (%d tries failed meanwhile)",
            self.where,
            lasted,
            failed,
        )
