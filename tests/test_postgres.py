"""The PostgreSQL store beyond the contract suite (tests/store/, which runs on it
too): its configuration and errors, `candor db migrate`, and what several processes
on one database rely on (migrations that do not race, one case per customer, a
dedupe key seen once, a lost connection replaced). Each test runs on a database of
its own on the session's throwaway server (tests/postgres.py)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import config as config_module
from bot.cli import main
from bot.model import CaseState, EventKind, Identity
from bot.store import GroupAborted, PostgresStore, StoreError, open_store
from bot.store.postgres.schema import migrations
from tests.conftest import candor_command, write_config
from tests.postgres import PASSWORD, Server
from tests.store.conftest import ANN, HERE, NOW

pytestmark = pytest.mark.postgres


def test_every_sqlite_migration_has_its_postgresql_port() -> None:
    """A migration added to bot/store/sqlite/migrations/ needs the same number in
    bot/store/postgres/migrations/ (PostgreSQL's types: see its 001_initial.sql)."""
    from bot.store.sqlite.schema import migrations as sqlite_migrations

    assert [n for n, _, _ in migrations()] == [n for n, _, _ in sqlite_migrations()]


def pg_config(tmp_path: Path, knowledge_dir: Path, url: str) -> Path:
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("[storage]\n", '[storage]\nurl = "env:CANDOR_DATABASE_URL"\n', 1),
        encoding="utf-8",
    )
    return path


def test_the_config_chooses_postgresql_by_url_from_the_environment(
    tmp_path: Path, knowledge_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = pg_config(tmp_path, knowledge_dir, url)
    monkeypatch.setenv("CANDOR_DATABASE_URL", url)
    store = open_store(config_module.load(path))
    assert isinstance(store, PostgresStore) and store.url == url
    assert PASSWORD not in str(store) and "***" in str(store)
    monkeypatch.setenv("CANDOR_DATABASE_URL", "")  # empty: the SQLite file
    assert not isinstance(open_store(config_module.load(path)), PostgresStore)


def test_a_url_that_is_not_postgresql_is_refused_without_showing_it(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = pg_config(tmp_path, knowledge_dir, "")
    monkeypatch.setenv("CANDOR_DATABASE_URL", "mysql://root:hunter2-secret@db/candor")
    with pytest.raises(config_module.ConfigError, match=r"storage\.url: not a PostgreSQL URL") as e:
        config_module.load(path)
    assert "hunter2-secret" not in str(e.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://candor:s3cret%40x@db:5432/candor", "postgresql://candor:***@db:5432/candor"),
        ("postgresql://candor@db/candor?password=s3cret&sslmode=require",
         "postgresql://candor@db/candor?password=***&sslmode=require"),
        ("postgresql://db/candor", "postgresql://db/candor"),
    ],
)  # fmt: skip
def test_the_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert str(PostgresStore(url)) == shown


def test_db_migrate_applies_the_schema_once_and_says_so(
    tmp_path: Path, knowledge_dir: Path, url: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = pg_config(tmp_path, knowledge_dir, url)
    monkeypatch.setenv("CANDOR_DATABASE_URL", url)
    assert main(["db", "migrate", "--config", str(path)]) == 0
    first = capsys.readouterr().out
    latest = migrations()[-1][0]
    assert f"applied {len(migrations())} migrations (001_initial.sql" in first
    assert f"schema version {latest}" in first and "storage.url" in first
    assert PASSWORD not in first
    assert main(["db", "migrate", "--config", str(path)]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_db_migrate_on_sqlite_says_what_it_did(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "migrate", "--config", str(config_path)]) == 0
    assert "the SQLite database" in capsys.readouterr().out
    assert main(["db", "migrate", "--config", str(config_path)]) == 0
    assert "is up to date" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["password", "down"])
def test_a_wrong_password_or_a_server_down_is_one_clear_line_and_exit_1(
    wrong: str, tmp_path: Path, knowledge_dir: Path, postgres_server: Server
) -> None:
    if wrong == "password":
        bad = postgres_server.url("postgres", password="not-the-secret-at-all")
    else:  # a port where nothing listens
        bad = postgres_server.url("postgres").replace(f":{postgres_server.port}/", ":1/")
    path = pg_config(tmp_path, knowledge_dir, bad)
    for command in (["db", "migrate"], ["chat", "--as", "ann"]):
        done = subprocess.run(
            [*candor_command(), *command, "--config", str(path)],
            env={"CANDOR_DATABASE_URL": bad, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 1, done.stderr
        assert "storage.url" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert "not-the-secret-at-all" not in done.stderr + done.stdout
        assert PASSWORD not in done.stderr + done.stdout


async def test_processes_starting_at_once_migrate_once(url: str) -> None:
    stores = [PostgresStore(url) for _ in range(4)]  # each its own connections: processes
    await asyncio.gather(*(store.open() for store in stores))
    try:
        async with stores[0].reporting():
            pass
        rows = await stores[0]._all("SELECT version FROM candor_schema ORDER BY version")
        assert [r[0] for r in rows] == [number for number, _, _ in migrations()]
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_one_customer_on_two_processes_at_once_gets_one_case_in_order(url: str) -> None:
    """Each process reads "no case yet" and opens one, unless the customer's lock
    makes the second wait for the first's commit (it then finds that case)."""
    one, two = PostgresStore(url), PostgresStore(url)
    await one.open()
    await two.open()
    first_inside, second_started = asyncio.Event(), asyncio.Event()

    async def turn(store: PostgresStore, text: str, hold: bool) -> None:
        async with store.transaction() as tx:
            arrived = await tx.customers.arrive(f"key-{text}", ANN, "Ann", HERE, NOW)
            assert arrived is not None
            customer, _ = arrived
            case = await tx.cases.latest(customer.id)
            if case is None or not case.is_open:
                case = await tx.cases.new(customer.id, NOW)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", text, NOW)
            if hold:  # keep the first turn open until the second waits for its lock
                first_inside.set()
                await second_started.wait()
                await until_a_lock_is_waited_for(store)

    async def second() -> None:
        await first_inside.wait()
        second_started.set()
        await turn(two, "second", hold=False)

    try:
        await asyncio.gather(turn(one, "first", hold=True), second())
        customer = await one.customer_by_identity(ANN)
        assert customer is not None
        [case] = await one.cases_of(customer.id)
        assert [e.text for e in await one.events_of(case.id)] == ["first", "second"]
    finally:
        await one.close()
        await two.close()


async def until_a_lock_is_waited_for(
    store: PostgresStore, unless: asyncio.Event | None = None
) -> None:
    """Until some transaction waits for an advisory lock, or `unless` is set (the
    other turn ended without waiting); bounded: 60 s at the most."""
    for _ in range(600):
        waiting = await store._all(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        if waiting[0][0] or (unless is not None and unless.is_set()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("nothing ever waited for a lock")


async def test_a_desk_turn_and_a_customer_turn_on_two_processes_lose_no_change(
    url: str,
) -> None:
    """`candor desk` claims the case while `candor run` handles the customer's
    message: each writes the whole case, so the one that read it first must not
    write it back over the other's change. The customer's lock keeps them apart."""
    desk, bot = PostgresStore(url), PostgresStore(url)
    await desk.open()
    await bot.open()
    try:
        async with bot.transaction() as tx:
            ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
            case = await tx.cases.new(ann.id, NOW)
        claimed, done = asyncio.Event(), asyncio.Event()

        async def claim() -> None:
            async with desk.transaction() as tx:
                found = await tx.cases.get(case.id)
                assert found is not None
                await tx.cases.update(replace(found, state=CaseState.AGENT, agent="maria"))
                claimed.set()
                await until_a_lock_is_waited_for(desk, unless=done)  # the customer's turn

        async def message() -> None:
            await claimed.wait()
            async with bot.transaction() as tx:
                arrived = await tx.customers.arrive("m-1", ANN, "Ann", HERE, NOW)
                assert arrived is not None
                latest = await tx.cases.latest(arrived[0].id)
                assert latest is not None
                await tx.cases.update(replace(latest, subject="login fails"))
            done.set()

        await asyncio.gather(claim(), message())
        [after] = await bot.cases_of(ann.id)
        assert (after.state, after.agent, after.subject) == (
            CaseState.AGENT,
            "maria",
            "login fails",
        )
    finally:
        await desk.close()
        await bot.close()


async def test_a_redelivery_to_another_process_is_seen_once(url: str) -> None:
    stores = [PostgresStore(url) for _ in range(3)]
    for store in stores:
        await store.open()

    async def deliver(store: PostgresStore) -> bool:
        try:  # (the engine's way: a turn whose customer another holds leaves its group)
            async with store.shared() as tx:
                return await tx.customers.arrive("update-7", ANN, "Ann", HERE, NOW) is not None
        except GroupAborted:
            async with store.transaction() as tx:  # and waits for them alone
                return await tx.customers.arrive("update-7", ANN, "Ann", HERE, NOW) is not None

    try:
        assert sorted(await asyncio.gather(*(deliver(s) for s in stores))) == [False, False, True]
    finally:
        for store in stores:
            await store.close()


async def test_a_lost_connection_is_replaced_and_nothing_is_half_stored(
    url: str, postgres_server: Server
) -> None:
    store = PostgresStore(url, pool_size=1)
    await store.open()
    try:
        async with store.transaction() as tx:
            await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        name = url.rsplit("/", 1)[-1]
        postgres_server.psql(  # what a failover or a restarted server does to it
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
        bob = Identity("test", "w", "bob")
        async with store.transaction() as tx:  # on a new connection
            await tx.customers.for_identity(bob, "Bob", HERE, NOW)
        assert await store.customer_by_identity(bob) is not None
        postgres_server.psql(
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
        with pytest.raises(StoreError):  # lost mid-transaction: the turn is not acknowledged
            async with store.transaction() as tx:
                await tx.customers.for_identity(Identity("test", "w", "cy"), "Cy", HERE, NOW)
                postgres_server.psql(
                    "postgres",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    f" WHERE datname = '{name}' AND pid <> pg_backend_pid()",
                )
                await tx.customers.get(1)
        assert await store.customer_by_identity(Identity("test", "w", "cy")) is None
    finally:
        await store.close()


async def test_several_candor_run_hold_the_running_mark_at_once_and_a_copy_keeps_them_out(
    url: str,
) -> None:
    """`PostgresStore.running` is shared: two `candor run` hold it together (the outbox
    is shared, singletons run under leader election). Only an exclusive holder, what
    `candor db copy` takes while it copies, keeps a `candor run` out, with a clear
    answer that shows no password."""
    import asyncpg

    from bot.store.postgres.schema import LOCKS, SENDER

    one, two = PostgresStore(url), PostgresStore(url)
    await one.open()
    await two.open()
    try:
        async with one.running(), two.running():
            conn = await asyncpg.connect(url)
            try:  # a copy cannot have it while either runs
                assert not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCKS, SENDER)
            finally:
                await conn.close()
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():  # a copy holds it exclusively
                assert await conn.fetchval(
                    "SELECT pg_try_advisory_xact_lock($1, $2)", LOCKS, SENDER
                )
                two.sender_wait = 0.2
                with pytest.raises(StoreError, match="`candor db copy` is copying") as refused:
                    async with two.running():
                        pass
                assert PASSWORD not in str(refused.value)
        finally:
            await conn.close()
        async with two.running():  # once the copy has finished
            pass
    finally:
        await one.close()
        await two.close()


async def test_two_candor_run_on_postgresql_both_run_and_the_rest_work_beside(
    tmp_path: Path, knowledge_dir: Path, url: str
) -> None:
    """Real processes against the fake Telegram (polling: one of them polls, the
    leader): a second `candor run` on the database runs beside the first (on SQLite it
    is refused: tests/test_one_sender.py), the chat, the report and `db migrate` work
    beside them, and both stop cleanly on SIGTERM."""
    from tests.fakes.telegram import FakeTelegram
    from tests.test_one_sender import candor, running
    from tests.test_telegram import TOKEN, telegram_config

    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, knowledge_dir, fake)
        assert config.source is not None
        text = config.source.read_text(encoding="utf-8")
        config.source.write_text(text.replace("[storage]\n", f'[storage]\nurl = "{url}"\n', 1))
        config = config_module.load(config.source)
        first = await running(config, 1)
        second: asyncio.subprocess.Process | None = None
        try:
            second = await running(config, 2)  # both run
            assert first.returncode is None and second.returncode is None
            fake.push_message(1001, "how much does it cost?")
            [answer] = await fake.wait_for(
                "sendMessage", 1, chat_id=1001, include_failed=False, timeout=60
            )
            assert "Plans and prices" in str(answer.params["text"])
            status, out, stderr = await candor(config, "chat", "--as", "ann", stdin=b"hi\n")
            assert status == 0, stderr
            assert "Candor:" in out
            status, out, stderr = await candor(config, "report", "--json")
            assert status == 0, stderr
            assert '"cases_opened": 2' in out  # the chat's and Telegram's, from PostgreSQL
            status, out, stderr = await candor(config, "db", "migrate")
            assert status == 0 and "is up to date" in out, stderr
        finally:
            for process in (first, second):
                if process is not None and process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in (first, second):
                if process is not None:
                    assert await asyncio.wait_for(process.wait(), 60) == 0
        assert len(fake.sent(chat_id=1001)) == 1  # answered once, by one of them
    store = PostgresStore(url)
    await store.open()
    try:  # the chat's customer and their case are in PostgreSQL
        customer = await store.customer_by_identity(Identity("console", "local", "ann"))
        assert customer is not None and len(await store.cases_of(customer.id)) == 1
    finally:
        await store.close()


async def test_kills_in_a_burst_on_postgresql_lose_nothing_and_keep_order(
    tmp_path: Path, knowledge_dir: Path, url: str
) -> None:
    """tests/test_crash.py's burst on PostgreSQL: `candor run` killed again and again
    while five customers' updates come in; every update ends on its customer's case
    exactly once and in order, every reply is sent at least once, in order."""
    import random

    from adapters.markdown import to_telegram_html
    from tests.fakes.telegram import FakeTelegram
    from tests.test_crash import CUSTOMERS, QUESTIONS, start, times_started
    from tests.test_telegram import TOKEN, telegram_config

    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, knowledge_dir, fake)
        assert config.source is not None
        text = config.source.read_text(encoding="utf-8")
        config.source.write_text(text.replace("[storage]\n", f'[storage]\nurl = "{url}"\n', 1))
        config = config_module.load(config.source)
        chance = random.Random(20261201)
        loop = asyncio.get_running_loop()
        for n, question in enumerate(QUESTIONS):  # a wave each, killed in its midst
            for user, name in CUSTOMERS.items():
                fake.push_message(user, f"{question} #{n}", first_name=name)
            process = await start(config)
            deadline = loop.time() + 60
            while times_started(config) == n and process.returncode is None:
                assert loop.time() < deadline, "`candor run` did not start"
                await asyncio.sleep(0.02)
            await asyncio.sleep(chance.uniform(0, 0.3))
            process.send_signal(signal.SIGKILL)
            await process.wait()
        started = times_started(config)
        assert started == len(QUESTIONS)  # each was up, and killed at work
        final = await start(config)
        store = PostgresStore(url)
        await store.open()
        try:
            deadline = loop.time() + 90  # bounds on a hang, not measures of speed
            while times_started(config) == started:
                assert loop.time() < deadline, "the final `candor run` did not start"
                await asyncio.sleep(0.05)
            while True:
                [(pending,)] = await store._all(
                    "SELECT count(*) FROM outbox WHERE state = 'pending'"
                )
                if not fake.updates and pending == 0 and fake.confirmed_offset:
                    break
                assert loop.time() < deadline, (len(fake.updates), pending)
                await asyncio.sleep(0.2)
            final.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(final.communicate(), 30)
            assert final.returncode == 0, stderr.decode()
            for user in CUSTOMERS:
                texts = await store._all(
                    "SELECT e.text FROM events e JOIN cases c ON c.id = e.case_id"
                    " JOIN identities i ON i.customer_id = c.customer_id"
                    " WHERE i.user_id = ? AND e.kind = 'customer' ORDER BY e.at, e.id",
                    (str(user),),
                )
                assert [t for (t,) in texts] == [f"{q} #{n}" for n, q in enumerate(QUESTIONS)]
                rows = await store._all(
                    "SELECT text, state FROM outbox WHERE candor_json_item(address, 1) = ?"
                    " ORDER BY id",
                    (str(user),),
                )
                assert {state for _, state in rows} == {"sent"}
                assert len(rows) >= len(QUESTIONS)
                expected = [to_telegram_html(text) for text, _ in rows]
                matched = 0
                for sent in fake.texts(user):
                    if matched < len(expected) and sent == expected[matched]:
                        matched += 1
                assert matched == len(expected), (user, matched, len(expected))
        finally:
            if final.returncode is None:
                final.kill()
                await final.wait()
            await store.close()


@pytest.mark.parametrize("wrong", ["password", "down"])
async def test_candor_run_with_a_wrong_password_or_postgresql_down_exits_1_naming_it(
    wrong: str, tmp_path: Path, knowledge_dir: Path, postgres_server: Server
) -> None:
    from tests.fakes.telegram import FakeTelegram
    from tests.test_one_sender import candor
    from tests.test_telegram import TOKEN, telegram_config

    if wrong == "password":
        bad = postgres_server.url("postgres", password="not-the-secret-at-all")
    else:  # a port where nothing listens
        bad = postgres_server.url("postgres").replace(f":{postgres_server.port}/", ":1/")
    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, knowledge_dir, fake)
        assert config.source is not None
        text = config.source.read_text(encoding="utf-8")
        config.source.write_text(text.replace("[storage]\n", f'[storage]\nurl = "{bad}"\n', 1))
        status, out, stderr = await candor(config_module.load(config.source), "run")
        assert status == 1, stderr
        assert "cannot open the database at storage.url" in stderr, stderr
        assert "Traceback" not in stderr
        assert "not-the-secret-at-all" not in out + stderr and PASSWORD not in out + stderr
        assert not fake.calls_to("getUpdates")  # it stopped before serving anyone


# -- candor doctor on PostgreSQL ---------------------------------------------------------------


async def test_doctor_on_postgresql_says_the_schema_and_whether_candor_runs(
    tmp_path: Path, knowledge_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.doctor import examine

    monkeypatch.setenv("CANDOR_DATABASE_URL", url)
    path = pg_config(tmp_path, knowledge_dir, url)

    def database(findings: list[Any]) -> list[tuple[str, bool, str]]:
        return [
            (f.check, f.ok, f.detail)
            for f in findings
            if f.area == "database" and f.check != "processes"  # (tests/test_postgres_faults.py)
        ]

    [(check, ok, detail)] = database(await examine(path))
    assert (check, ok) == ("schema", True) and "is empty" in detail  # nothing made yet
    store = PostgresStore(url)
    await store.open()
    try:
        [(check, ok, detail)] = database(await examine(path))
        assert (check, ok) == ("schema", True) and detail.startswith("version ")
        assert "current" in detail and PASSWORD not in detail
        async with store.running():
            found = database(await examine(path))
            assert ("candor run", True, "running on this database") in found
    finally:
        await store.close()


async def test_doctor_names_storage_url_and_hides_the_password_when_it_cannot_connect(
    tmp_path: Path, knowledge_dir: Path, postgres_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.doctor import examine, passed

    bad = postgres_server.url("postgres", password="not-the-secret-at-all")
    monkeypatch.setenv("CANDOR_DATABASE_URL", bad)
    findings = await examine(pg_config(tmp_path, knowledge_dir, bad))
    assert not passed(findings)
    [failed] = [f for f in findings if not f.ok]
    assert failed.area == "database" and "storage.url" in failed.detail
    assert "not-the-secret-at-all" not in failed.line()
