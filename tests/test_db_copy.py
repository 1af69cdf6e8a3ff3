"""`candor db copy --from SQLITE_PATH --to URL` (issue 16): a database made by driving
the real app on SQLite arrives whole in an empty PostgreSQL one, and the app goes on
there as if nothing had moved (the same case, a redelivered event still a repeat);
what must not be copied is refused, with nothing written."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from adapters.console.feed import TERMINAL_DESK
from bot import config as config_module
from bot.app import Candor
from bot.cli import main
from bot.config import Config
from bot.doctor import examine
from bot.model import Identity, Inbound, InboundKind
from bot.store import PostgresStore, StoreError
from bot.store.copy import PROCESS_TABLES, CopyRefused, copy
from bot.store.postgres.schema import LOCKS, SENDER
from bot.store.sqlite.schema import migrations
from bot.store.sqlite.sender import sole_sender
from tests.conftest import (
    Agent,
    Clock,
    Customer,
    RecordingDesk,
    RecordingSender,
    case_of,
    handed_over,
    write_config,
)
from tests.postgres import PASSWORD, Server
from tests.test_link import code_in

pytestmark = pytest.mark.postgres


async def candor(argv: list[str]) -> int:
    """`candor ARGV` (its own event loop: in a thread beside the test's)."""
    return await asyncio.to_thread(main, argv)


@dataclass
class Made:
    """The SQLite database the app made, and what the test needs to come back to it."""

    config: Config
    path: Path
    ann_case: int
    old_event: Inbound  # one of Ann's events, already taken in


async def drive(config: Config, clock: Clock) -> Made:
    """Customers on two channels, a handed-over case with its desk thread, an idea with
    votes, an incident with a subscriber and an update, feedback, a mute, /link codes
    (one entered, one waiting, a wrong one), an unreadable update, a reply left
    pending with its progress, and a web sign-in link and session."""
    async with Candor(config, clock=clock) as app:
        test, other, desk = RecordingSender("test"), RecordingSender("other"), RecordingDesk()
        for sender in (test, other, desk):
            app.outbox.register(sender)
        ann, bob, cem = (
            Customer(app, test, "ann"),
            Customer(app, other, "bob"),
            Customer(app, test, "cem"),
        )
        bob.identity = Identity("other", "w", "bob")
        bob.address = bob.address.__class__("other", "bob", private=True)
        maria = Agent(app, "maria")
        async with app.store.transaction() as tx:  # a terminal desk, shown what comes
            await tx.desk.watch("maria", TERMINAL_DESK)
        old_event = ann.inbound("my contract ZX-9917 is billed twice")
        await app.engine.receive(old_event)
        await app.outbox.deliver_due()
        await handed_over(ann)
        case = (await case_of(app, ann)).id
        await maria.press(f"desk:claim:{case}")
        await maria.say("We are looking at it.", case=case)
        await ann.send("/idea a dark theme for the reports")
        await bob.send("hello")
        [listing] = await bob.send("/idea")
        assert "dark theme" in listing
        await bob.press("idea:vote:1")
        await maria.say("/incident Card payments fail | checkout | card payment, checkout")
        await cem.send("my card payment keeps failing")
        await maria.say("/incident update 1 The provider is rolling back a change.")
        await cem.send("/feedback the trial was too short")
        await cem.send("/mute 8h")
        [given] = await ann.send("/link")
        await bob.send(f"/link {code_in(given)}")  # pending: neither said yes yet
        await cem.send("/link")  # a code that waits
        await bob.send("/link ABCD-EFGH")  # a wrong one: counted
        assert await app.engine.keep_unreadable("test", "u-1", "cem", '{"x": 1}', "unknown")
        await app.engine.receive(cem.inbound("one more question"))  # its reply not sent
        [(pending, _)] = await app.store.pending("test", "cem")
        async with app.store.transaction() as tx:
            await tx.outbox.progress(pending.id, {"pieces": 1})
            await tx.notices.offer_community(case, clock())  # a community place offered
            # the terminal desk watching since the start has been shown one of them
            shown = await tx.desk.unseen("maria", TERMINAL_DESK)
            assert shown, "the desk's messages are there to be shown"
            await tx.desk.saw("maria", [m.id for m in shown[:1] if m.id is not None])
            # the web dashboard: a sign-in link waiting and a session open
            await tx.web.add_link("link-token", "Maria", clock(), clock() + timedelta(minutes=10))
            await tx.web.add_session(
                "session-token", "Maria", clock(), clock() + timedelta(hours=8)
            )
    return Made(config, config.storage.path, case, old_event)


@pytest.fixture
async def made(tmp_path: Path, knowledge_dir: Path, clock: Clock) -> Made:
    return await drive(config_module.load(write_config(tmp_path, knowledge_dir)), clock)


@pytest.fixture
def url(postgres_server: Server, tmp_path: Path) -> str:
    return postgres_server.database_for(tmp_path / "target")


def sqlite_tables(path: Path) -> dict[str, list[dict[str, Any]]]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        names = [
            str(r[0])
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        found = {}
        for name in names:
            try:  # SQLite's implicit rowid is a column on PostgreSQL (desk_threads)
                rows = db.execute(f"SELECT rowid AS rowid, * FROM {name}").fetchall()
            except sqlite3.OperationalError:  # WITHOUT ROWID
                rows = db.execute(f"SELECT * FROM {name}").fetchall()
            found[name] = [dict(row) for row in rows]
        return found
    finally:
        db.close()


async def pg_tables(url: str) -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(url)
    try:
        names = [
            str(r[0])
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'candor_schema'"
            )
        ]
        return {
            name: [dict(r) for r in await conn.fetch(f"SELECT * FROM {name}")] for name in names
        }
    finally:
        await conn.close()


def comparable(rows: list[dict[str, Any]], columns: set[str]) -> list[tuple[Any, ...]]:
    return sorted((tuple((k, row[k]) for k in sorted(columns)) for row in rows), key=repr)


async def test_every_row_of_every_table_arrives_and_the_app_goes_on_there(
    made: Made,
    url: str,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = sqlite_tables(made.path)
    empty = sorted(name for name, rows in before.items() if not rows)
    # the copy is proven on every table: one a migration adds must be filled above
    assert not empty, f"drive() leaves these tables empty; make it fill them: {empty}"
    monkeypatch.setenv("CANDOR_TEST_TARGET", url)
    assert (
        await candor(["db", "copy", "--from", str(made.path), "--to", "env:CANDOR_TEST_TARGET"])
        == 0
    )
    said = capsys.readouterr().out
    for name, rows in before.items():
        assert any(line.split() == [name, str(len(rows))] for line in said.splitlines()), said
    assert PASSWORD not in said and "***" in said

    after = await pg_tables(url)
    # the processes' own tables (leases, heartbeats) are PostgreSQL's alone, and empty
    assert all(not after.pop(name) for name in PROCESS_TABLES)
    assert set(after) == set(before)
    for name, rows in before.items():
        columns = set(after[name][0]) if after[name] else set()
        assert comparable(after[name], columns) == comparable(rows, columns), name

    # the README's next steps: storage.url in the config, `candor doctor`, start
    config_file = made.path.with_name("config.toml")
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(
        text.replace("[storage]\n", '[storage]\nurl = "env:CANDOR_DATABASE_URL"\n', 1),
        encoding="utf-8",
    )
    monkeypatch.setenv("CANDOR_DATABASE_URL", url)
    found = [(f.check, f.ok, f.detail) for f in await examine(config_file) if f.area == "database"]
    assert [(check, ok) for check, ok, _ in found] == [("schema", True)], found
    assert "current" in found[0][2]
    config = config_module.load(config_file)
    assert config.storage.url == url
    # the app, now on PostgreSQL: Ann is on the same case; her old event is a repeat
    clock.advance(minutes=5)
    async with Candor(config, clock=clock) as app:
        test = RecordingSender("test")
        app.outbox.register(test)
        app.outbox.register(RecordingDesk())
        ann = Customer(app, test, "ann")
        receipt = await app.engine.receive(made.old_event)
        assert receipt.duplicate
        [status] = await ann.send("/status")
        assert f"Case #{made.ann_case}" in status
        [welcome] = await ann.send("", InboundKind.START)
        assert f"#{made.ann_case}" in welcome, welcome
        assert (await case_of(app, ann)).id == made.ann_case
        # new rows get new ids, past the copied ones
        await Customer(app, test, "dan").send("hello")
        dan = await app.store.customer_by_identity(Identity("test", "w", "dan"))
        assert dan is not None and dan.id > max(r["id"] for r in before["customers"])


async def test_a_target_that_is_not_empty_is_refused_and_left_as_it_was(
    made: Made, url: str, postgres_server: Server, tmp_path: Path
) -> None:
    await copy(made.path, url)
    dump = await pg_tables(url)
    with pytest.raises(CopyRefused, match=r"is not empty: its table .* has rows"):
        await copy(made.path, url)
    assert await pg_tables(url) == dump
    other = postgres_server.database_for(tmp_path / "other")
    conn = await asyncpg.connect(other)
    try:
        await conn.execute("CREATE TABLE invoices (id BIGINT)")
    finally:
        await conn.close()
    with pytest.raises(CopyRefused, match=r"tables that are not Candor's \(invoices\)"):
        await copy(made.path, other)
    older = postgres_server.database_for(tmp_path / "older")
    (before, _, _), (latest, _, _) = migrations()[-2:]  # (numbers may skip: 017, then 019)
    store = PostgresStore(older)
    await store.open()  # an empty Candor database, of another version than this one's
    await store.close()
    conn = await asyncpg.connect(older)
    try:
        await conn.execute("DELETE FROM candor_schema WHERE version = $1", latest)
    finally:
        await conn.close()
    with pytest.raises(CopyRefused, match=rf"schema version {before}, not this Candor's"):
        await copy(made.path, older)


async def test_a_running_candor_on_the_source_is_refused(
    made: Made, url: str, postgres_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    with sole_sender(made.path):  # what `candor run` holds while it runs
        assert await candor(["db", "copy", "--from", str(made.path), "--to", url]) == 1
    said = capsys.readouterr().err
    assert "a `candor run` is running on" in said and "stop it first" in said
    assert "Traceback" not in said
    conn = await asyncpg.connect(url)
    try:  # nothing was written, not even the schema
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'") == 0
    finally:
        await conn.close()


async def test_a_wrong_url_is_named_without_its_password(
    made: Made, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = url.replace(PASSWORD, "not-the-password-4711")
    assert await candor(["db", "copy", "--from", str(made.path), "--to", wrong]) == 1
    said = capsys.readouterr().err
    assert "cannot open the database at --to postgresql://postgres:***@" in said
    assert "not-the-password-4711" not in said and "Traceback" not in said
    assert (
        await candor(["db", "copy", "--from", str(made.path), "--to", "env:CANDOR_NOT_SET_X"]) == 2
    )
    assert "--to: the environment variable CANDOR_NOT_SET_X is not set" in capsys.readouterr().err
    assert (
        await candor(["db", "copy", "--from", str(made.path), "--to", "mysql://u:pw-9@h/db"]) == 2
    )
    said = capsys.readouterr().err
    assert "--to: not a PostgreSQL URL" in said and "pw-9" not in said


async def test_a_source_that_is_old_or_not_candor_is_refused(
    made: Made, url: str, tmp_path: Path
) -> None:
    db = sqlite3.connect(made.path)
    db.execute(f"PRAGMA user_version = {migrations()[-1][0] - 1}")
    db.close()
    with pytest.raises(CopyRefused, match=r"older than this Candor's.*candor db migrate"):
        await copy(made.path, url)
    other = tmp_path / "notes.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.close()
    with pytest.raises(CopyRefused, match="is not a Candor database"):
        await copy(other, url)
    (tmp_path / "garbage.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(CopyRefused, match="is not a SQLite database"):
        await copy(tmp_path / "garbage.sqlite3", url)
    with pytest.raises(CopyRefused, match=r"no SQLite database at .*: no such file"):
        await copy(tmp_path / "missing.sqlite3", url)
    with pytest.raises(CopyRefused, match=r"no SQLite database at .*: a folder, not a file"):
        await copy(tmp_path, url)


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ("CREATE TABLE invoices (id INTEGER PRIMARY KEY)", r"tables only in SQLite: invoices"),
        ("ALTER TABLE ideas ADD COLUMN colour TEXT", r"ideas: its columns colour are not in"),
    ],
)
async def test_a_table_or_column_the_copy_does_not_know_stops_it_before_anything_is_written(
    made: Made, url: str, postgres_server: Server, change: str, refused: str
) -> None:
    """What a migration added to SQLite without its PostgreSQL port looks like."""
    db = sqlite3.connect(made.path)
    db.execute(change)
    db.close()
    with pytest.raises(Exception, match=refused):
        await copy(made.path, url)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM customers") == 0
    finally:
        await conn.close()


async def test_a_running_candor_on_the_target_is_refused(made: Made, url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        async with store.running():  # what every `candor run` on PostgreSQL holds
            with pytest.raises(CopyRefused, match=r"Candor is running on the database"):
                await copy(made.path, url)
            assert await store.customer_by_identity(Identity("test", "w", "ann")) is None
    finally:
        await store.close()
    # a `candor run` starting as the copy runs waits for its lock, then is refused
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            assert await conn.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", LOCKS, SENDER)
            with pytest.raises(CopyRefused, match=r"Candor is running on the database"):
                await copy(made.path, url)
    finally:
        await conn.close()
    assert (await copy(made.path, url)).counts["cases"] == 3


async def test_a_row_postgresql_cannot_hold_rolls_the_whole_copy_back(made: Made, url: str) -> None:
    db = sqlite3.connect(made.path)
    db.execute("UPDATE events SET text = ? WHERE id = 3", ("secret\x00 words",))
    db.commit()
    with pytest.raises(
        StoreError, match=r"cannot copy row 3 of the table events: a text with"
    ) as e:
        await copy(made.path, url)
    assert "secret" not in str(e.value)  # a customer's words are not shown
    conn = await asyncpg.connect(url)
    try:  # nothing of it was kept: the tables are empty, and a new try may begin
        assert await conn.fetchval("SELECT count(*) FROM customers") == 0
    finally:
        await conn.close()
    db.execute("UPDATE events SET text = 'secret words' WHERE id = 3")
    db.commit()
    db.close()
    copied = await copy(made.path, url)
    assert copied.counts["events"] == len(sqlite_tables(made.path)["events"])


async def test_what_a_killed_candor_left_in_the_wal_is_copied_too(made: Made, url: str) -> None:
    """A `candor run` killed with SIGKILL leaves committed turns in the `-wal` file,
    not yet in the database file: they are part of the database, and arrive."""
    writer = sqlite3.connect(made.path)
    try:
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("INSERT INTO feedback (at, text) VALUES (1, 'only in the WAL')")
        writer.commit()
        assert made.path.with_name(made.path.name + "-wal").stat().st_size > 0
        copied = await copy(made.path, url)
    finally:
        writer.close()
    assert copied.counts["feedback"] == 2
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM feedback WHERE text = 'only in the WAL'")
    finally:
        await conn.close()
