"""Logging failures without the words people wrote.

An exception's message may quote its input (a parser's "Received data was ...",
a `ValueError` naming the value), and that input is customer text: at INFO and above
the log says where and what kind of failure it was, with the stack; the whole
exception, message included, goes to DEBUG, which the README warns holds customer
text. Candor's own errors and the operating system's say nothing a customer wrote,
so their messages are kept.
"""

from __future__ import annotations

import logging
import traceback

from bot.store.errors import StoreError, Unreachable

# Exceptions whose message names no customer input: kept at ERROR. (The database
# driver's too, known by its module: "database or disk is full".)
SPEAKING = (StoreError, OSError, TimeoutError)
SPEAKING_MODULES = frozenset({"sqlite3", "aiosqlite"})


def described(error: BaseException) -> str:
    """What may be said of `error` at INFO and above: its type, and its message when
    that cannot hold customer text."""
    kind = type(error).__name__
    speaks = isinstance(error, SPEAKING) or type(error).__module__ in SPEAKING_MODULES
    return f"{kind}: {error}" if speaks else kind


def outage(error: BaseException | None) -> bool:
    """Whether `error` is (or was caused by) the database out of reach, which the store
    logs once for the whole outage (`bot.store.outage`): the caller logs it at DEBUG
    only, so that an outage is one line, not one traceback per update and pass."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, Unreachable):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def failure(
    log: logging.Logger,
    error: BaseException,
    message: str,
    *args: object,
    level: int = logging.ERROR,
) -> None:
    """Log `message % args` at `level` with what `described` allows and the stack
    (file, line, code: no values); the full exception at DEBUG. The database out of
    reach (`outage`): at DEBUG only, the store has said it."""
    if outage(error):
        level = logging.DEBUG
    stack = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    log.log(level, f"{message} ({described(error)})\n{stack}", *args)
    log.debug("the failure above in full:", exc_info=error)
