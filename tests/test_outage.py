"""An outage of the database is said once when it begins and once when it ends
(`bot.store.outage`), and what fails meanwhile for it is logged at DEBUG only by its
callers (`bot.logs.outage`, `failure`). (On a real server: tests/test_postgres_faults.py.)"""

from __future__ import annotations

import logging

import pytest

from bot.logs import failure, outage
from bot.store.errors import StoreError, Unreachable
from bot.store.outage import Outage


def test_an_outage_is_said_once_when_it_begins_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.store")
    now = [100.0]
    seen = Outage(
        "postgresql://db.internal/candor", said=lambda e: f"said: {e}", clock=lambda: now[0]
    )
    seen.worked()  # nothing to say while it works
    for n in range(5):
        seen.failed(OSError(f"refused {n}"))
    assert seen.down
    now[0] = 142.0
    seen.worked()
    seen.worked()
    assert not seen.down
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert len(lines) == 2, lines
    (down_level, down), (up_level, up) = lines
    assert down_level == logging.ERROR and "storage.url postgresql://db.internal/candor" in down
    assert "(said: refused 0)" in down and "cannot be reached" in down
    assert up_level == logging.WARNING and "is back after 42.0 s (5 tries failed" in up
    seen.failed(TimeoutError())  # a new outage is said again
    assert len(caplog.records) == 3


def test_what_fails_for_an_outage_is_logged_at_debug_by_its_callers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test.outage")
    caplog.set_level(logging.DEBUG, logger="test.outage")
    try:
        try:
            raise Unreachable("the database cannot be used now")
        except Unreachable as error:
            raise RuntimeError("update 7 not committed") from error
    except RuntimeError as wrapped:
        assert outage(wrapped)  # (through its cause)
        failure(log, wrapped, "update %s not committed", 7)
    failure(log, StoreError("disk full"), "update %s not committed", 8)
    levels = [r.levelno for r in caplog.records if r.getMessage().startswith("update")]
    assert levels == [logging.DEBUG, logging.ERROR]
    assert not outage(None) and not outage(StoreError("disk full"))
