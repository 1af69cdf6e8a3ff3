"""The backends the contract suite runs on, and what it needs of each.

A test that takes `store` is a contract test: it may use only the `Store` and
`Transaction` protocols (and `backend` for what can only be seen from outside a
store), and it runs once per entry of `BACKENDS`. A PostgreSQL store is one more
`Backend` there, and must then pass the same tests unchanged. Tests of one
backend's own machinery are marked `sqlite_only` (see pyproject.toml).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.model import Address, Identity
from bot.store import SQLiteStore, Store, Transaction
from bot.store.postgres import PostgresStore
from tests.postgres import Server as PostgresServer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ANN = Identity("test", "w", "ann")
HERE = Address("test", "ann")
BOB = Identity("test", "w", "bob")
THERE = Address("test", "bob")


async def new_customer(tx: Transaction, name: str) -> int:
    """The id of the customer `name` on the test channel, created if new."""
    found, _ = await tx.customers.for_identity(Identity("test", "w", name), name, HERE, NOW)
    return found.id


def _sqlite_path(folder: Path) -> Path:
    return folder / "candor.sqlite3"


def _sqlite_dump(folder: Path) -> str:
    """Every value of every row of every table, as text, from another connection (so:
    what was committed)."""
    db = sqlite3.connect(_sqlite_path(folder))
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            " ".join(str(value) for value in row)
            for table in tables
            for row in db.execute(f"SELECT * FROM {table}")
        )
    finally:
        db.close()


@dataclass(frozen=True)
class Backend:
    """One store implementation, as the contract suite makes and inspects it."""

    name: str
    # a store on the database kept in `folder` (made on first open, found again after)
    make: Callable[[Path], Store]
    # everything committed in that database, as text (to show that something is gone)
    dump: Callable[[Path], str]
    # what a transaction raises when the schema refuses a write (a second open case)
    refused: type[BaseException]


# The session's PostgreSQL server, once a test of that backend has started it.
_POSTGRES: list[PostgresServer] = []


def _postgres() -> PostgresServer:
    assert _POSTGRES, "the postgres_server fixture starts the server first"
    return _POSTGRES[0]


BACKENDS = {
    "sqlite": Backend(
        "sqlite",
        make=lambda folder: SQLiteStore(_sqlite_path(folder)),
        dump=_sqlite_dump,
        refused=sqlite3.IntegrityError,
    ),
    # a database of its own per folder, on the test session's server (tests/postgres.py)
    "postgresql": Backend(
        "postgresql",
        make=lambda folder: PostgresStore(_postgres().database_for(folder)),
        dump=lambda folder: _postgres().dump(_postgres().database_for(folder)),
        refused=asyncpg.UniqueViolationError,
    ),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "postgresql" and not _POSTGRES:
        _POSTGRES.append(request.getfixturevalue("postgres_server"))
    return BACKENDS[request.param]


@pytest.fixture
async def store(backend: Backend, tmp_path: Path) -> AsyncIterator[Store]:
    """An open store on a fresh database of each backend."""
    made = backend.make(tmp_path)
    await made.open()
    try:
        yield made
    finally:
        await made.close()
