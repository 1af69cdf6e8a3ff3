"""`candor run` on a disk that fills and frees: run as `python -m tests.fakes.full_disk
FLAG run --config ...`. While the file FLAG exists, every COMMIT fails as SQLite
fails when the disk is full ("database or disk is full") and nothing of that
transaction is stored (the store rolls it back); reads go on. The test makes the
disk full and free again by creating and removing FLAG, from outside the process.
In the test's own process, `refusing` does the same for a condition of its choice.

Fault injection at the store's connection, not a real full disk: a real one is not
practical in a test, and SQLite's `max_page_count` lets writes that fit in pages the
file has go through (so it fills only some commits); this fails all of them.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.cli import main


def refusing(real: Any, full: Callable[[], bool]) -> Any:
    """`aiosqlite.Connection.execute` (`real`) that fails every COMMIT while `full()`."""

    def execute(
        self: aiosqlite.Connection, sql: str, parameters: Iterable[Any] | None = None
    ) -> Any:
        if sql.lstrip().upper().startswith("COMMIT") and full():
            return _refuse()
        return real(self, sql, parameters)

    return execute


async def _refuse() -> None:
    raise sqlite3.OperationalError("database or disk is full")


if __name__ == "__main__":
    flag = Path(sys.argv[1])
    aiosqlite.Connection.execute = refusing(  # type: ignore[method-assign]
        aiosqlite.Connection.execute, flag.exists
    )
    sys.exit(main(sys.argv[2:]))
