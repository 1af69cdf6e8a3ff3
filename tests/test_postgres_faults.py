"""PostgreSQL faults while Candor runs (issue 16, "Bad input and faults"): the server
stopped under a running Candor, every connection dropped at once (a failover), and
the outage said once. On a server of this module's own (tests/postgres.py), which
these tests stop and start again: the session's server serves the other tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot import config as config_module
from bot.config import Config
from bot.model import EventKind, Identity
from tests.postgres import PASSWORD, Server

pytestmark = pytest.mark.postgres

ANN, BOB = 1001, 1002


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    try:
        made = Server()
        made.start()
    except RuntimeError as error:
        pytest.fail(f"PostgreSQL is needed and could not be started: {error}", pytrace=False)
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def database(server: Server, tmp_path: Path) -> Iterator[str]:
    """A fresh database's name; the server is up again after the test, whatever it did."""
    name = "f_" + str(abs(hash(str(tmp_path))))[:12]
    server.new_database(name)
    yield name
    if not (server.data / "postmaster.pid").exists():
        server.up()


def on_postgres(config: Config, url: str) -> Config:
    assert config.source is not None
    text = config.source.read_text(encoding="utf-8")
    config.source.write_text(text.replace("[storage]\n", f'[storage]\nurl = "{url}"\n', 1))
    return config_module.load(config.source)


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 60.0) -> None:
    """Wait (generously: a bound on a hang, not a measure of speed) for a state."""
    try:
        async with asyncio.timeout(seconds):
            while not await check():  # noqa: ASYNC110 - no event tells of the server's state
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {seconds} s: {what}") from None


async def redelivered(post: Callable[[], Awaitable[int]], tries: int = 300) -> int:
    """Post as the platform does: again (after a short wait) until it is answered 200;
    how many tries were answered otherwise."""
    for refused in range(tries):
        if await post() == 200:
            return refused
        await asyncio.sleep(0.2)
    raise AssertionError(f"never answered 200 in {tries} tries")


async def health(url: str) -> tuple[int, str]:
    """A load balancer's active check: GET on the path the platform posts to."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def shown(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += logging.Formatter().formatException(record.exc_info)
    return text


def said_once_each(caplog: pytest.LogCaptureFixture) -> None:
    """The outage is one line when it begins and one when it ends; nothing at WARNING
    or above carries a traceback or a stack meanwhile, nor the password."""
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    lines = [shown(r) for r in loud]
    assert not [line for line in lines if 'File "' in line or "Traceback" in line], lines
    store = [line for line in lines if line.startswith("the database at storage.url")]
    assert sum("cannot be reached" in line for line in store) == 1, lines
    assert sum("is back after" in line for line in store) == 1, lines
    assert not any(PASSWORD in shown(r) for r in caplog.records)


async def customer_texts(app: Any, identity: Identity) -> list[str]:
    customer = await app.store.customer_by_identity(identity)
    assert customer is not None
    [case] = await app.store.cases_of(customer.id)
    return [e.text for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]


async def outbox_states(app: Any, chat: str) -> list[str]:
    rows = await app.store._all(
        "SELECT state FROM outbox WHERE candor_json_item(address, 1) = ? ORDER BY id", (chat,)
    )
    return [str(state) for (state,) in rows]


# -- PostgreSQL down while running ---------------------------------------------------------------


async def test_telegram_webhook_updates_are_refused_while_postgresql_is_down_and_nothing_is_lost(
    server: Server,
    database: str,
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server stops just as Telegram takes a reply: the reply is not sent again
    (its record waits for the database); an update that comes meanwhile is answered
    500 until the database is back (Telegram sends it again), then stored once and
    answered; the outbox goes on by itself; the outage is two log lines."""
    from tests.fakes.telegram import FakeTelegram
    from tests.test_telegram import SECRET, TOKEN, free_port, running, telegram_config, webhook_post

    caplog.set_level(logging.INFO)
    port = free_port()
    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, knowledge_dir, fake, mode="webhook", port=port)
        config = on_postgres(config, server.url(database))
        stopped = asyncio.Event()
        send = fake._builtin("sendMessage")
        assert send is not None

        async def take_then_stop(params: dict[str, Any]) -> Any:
            if not stopped.is_set():  # the first reply: taken, and the database goes
                await asyncio.to_thread(server.down)
                stopped.set()
            return send(params)

        fake.on("sendMessage", take_then_stop)
        async with running(config) as (app, _):
            check = f"http://127.0.0.1:{port}/telegram"
            assert await health(check) == (200, "ok\n")
            first = fake.build_message(ANN, "how much does it cost?")
            assert await webhook_post(port, first, SECRET) == 200
            async with asyncio.timeout(60):
                await stopped.wait()
            second = fake.build_message(ANN, "is there a free trial?")
            for _ in range(3):  # Telegram's redeliveries while it is down
                assert await webhook_post(port, second, SECRET) == 500
            assert await health(check) == (503, "the database cannot be reached\n")
            await asyncio.to_thread(server.up)
            await redelivered(lambda: webhook_post(port, second, SECRET))
            assert await health(check) == (200, "ok\n")
            await fake.wait_for("sendMessage", 2, chat_id=ANN, include_failed=False, timeout=60)

            async def recorded() -> bool:
                return await outbox_states(app, str(ANN)) == ["sent", "sent"]

            await until(recorded, "both replies recorded as sent")
            assert await customer_texts(app, Identity("telegram", "", str(ANN))) == [
                "how much does it cost?",
                "is there a free trial?",
            ]
            assert len(fake.sent("sendMessage", ANN)) == 2  # each reply once
    said_once_each(caplog)


async def test_candor_run_rides_out_postgresql_down_and_back_with_two_lines_in_its_log(
    server: Server, database: str, tmp_path: Path, knowledge_dir: Path
) -> None:
    """The real `candor run` (webhook mode): the server stops and starts again under it;
    it keeps running, refuses the update meanwhile, stores and answers it once after,
    stops cleanly, and its log says the outage in two lines, without a traceback."""
    import signal

    from tests.fakes.telegram import FakeTelegram
    from tests.test_one_sender import running as candor_run
    from tests.test_telegram import SECRET, TOKEN, free_port, telegram_config, webhook_post

    port = free_port()
    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, knowledge_dir, fake, mode="webhook", port=port)
        config = on_postgres(config, server.url(database))
        process = await candor_run(config, 1)
        try:
            first = fake.build_message(ANN, "how much does it cost?")
            assert await redelivered(lambda: webhook_post(port, first, SECRET)) == 0
            await fake.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False, timeout=60)
            await asyncio.to_thread(server.down)
            second = fake.build_message(ANN, "is there a free trial?")
            for _ in range(3):
                assert await webhook_post(port, second, SECRET) == 500
            await asyncio.to_thread(server.up)
            await redelivered(lambda: webhook_post(port, second, SECRET))
            await fake.wait_for("sendMessage", 2, chat_id=ANN, include_failed=False, timeout=60)
            assert process.returncode is None  # it rode it out
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 60) == 0
        assert len(fake.sent("sendMessage", ANN)) == 2
    assert config.logging.file is not None
    log = config.logging.file.read_text(encoding="utf-8")
    assert "Traceback" not in log and 'File "' not in log, log[-3000:]
    assert log.count("cannot be reached (") == 1, log[-3000:]
    assert log.count("is back after") == 1, log[-3000:]
    assert PASSWORD not in log


async def test_a_polled_update_that_cannot_be_committed_is_not_confirmed(
    server: Server,
    database: str,
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Polling: the database goes while a batch is in hand; the offset does not move
    past it, the poller (the leader of "telegram polling") loses its lead with its
    connection, leads again once the database is back, and the update is stored once."""
    from tests.fakes.telegram import FakeTelegram
    from tests.test_telegram import TOKEN, running, telegram_config

    caplog.set_level(logging.INFO)
    async with FakeTelegram(TOKEN) as fake:
        config = on_postgres(telegram_config(tmp_path, knowledge_dir, fake), server.url(database))
        poll = fake._builtin("getUpdates")
        assert poll is not None
        stopped = asyncio.Event()

        async def hand_out_then_stop(params: dict[str, Any]) -> Any:
            batch = await poll(params) if asyncio.iscoroutinefunction(poll) else poll(params)
            if batch and not stopped.is_set():
                await asyncio.to_thread(server.down)
                stopped.set()
            return batch

        fake.on("getUpdates", hand_out_then_stop)
        async with running(config) as (app, _):
            await fake.wait_for_poller(timeout=60)
            update = fake.push_message(ANN, "how much does it cost?")
            async with asyncio.timeout(60):
                await stopped.wait()
            confirmed = fake.confirmed_offset
            assert confirmed is None or confirmed <= update["update_id"]
            await asyncio.to_thread(server.up)
            await fake.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False, timeout=60)
            assert await customer_texts(app, Identity("telegram", "", str(ANN))) == [
                "how much does it cost?"
            ]

            async def past_it() -> bool:
                return (fake.confirmed_offset or 0) > update["update_id"]

            await until(past_it, "the offset confirmed past the update, once it is stored")
    said_once_each(caplog)


async def test_slack_events_are_refused_while_postgresql_is_down_and_stored_once_after(
    server: Server,
    database: str,
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.fakes import slack as fakes
    from tests.fakes.slack import FakeSlack
    from tests.test_slack import (
        ACME,
        HOME,
        SECRET,
        SHARED,
        TRIAGE,
        config_for,
        free_port,
        running,
    )

    caplog.set_level(logging.INFO)
    port = free_port()
    async with FakeSlack(bot_token="xoxb-test", team_id=HOME) as fake:
        fake.add_user("U0ANN", name="ann", real_name="Ann Lee", team_id=ACME)
        fake.add_user("U0MARIA", name="maria", real_name="Maria", team_id=HOME)
        fake.add_channel(SHARED, name="acme-support", is_ext_shared=True)
        fake.add_channel(TRIAGE, name="triage")
        config = on_postgres(config_for(tmp_path, knowledge_dir, fake, port), server.url(database))
        url = f"http://127.0.0.1:{port}/slack/events"
        async with running(config) as app:
            assert await health(url) == (200, "ok\n")
            await asyncio.to_thread(server.down)
            event = fakes.message_event(
                "U0ANN", "hello", channel=SHARED, ts="1700000001.000100", team=ACME, user_team=ACME
            )
            payload = fakes.event_callback(event)
            retries = 0

            async def post() -> int:
                nonlocal retries
                status, _ = await fakes.post_event(url, payload, SECRET, retry_num=retries or None)
                retries += 1
                return status

            for _ in range(3):
                assert await post() == 500  # Slack retries
            assert (await health(url))[0] == 503
            await asyncio.to_thread(server.up)
            await redelivered(post)
            assert await health(url) == (200, "ok\n")
            assert await post() == 200  # a later retry of the same event: seen already
            assert await customer_texts(app, Identity("slack", ACME, "U0ANN")) == ["hello"]
    said_once_each(caplog)


# -- a failover: every connection dropped ---------------------------------------------------------


async def test_every_connection_dropped_at_once_is_reconnected_and_led_again(
    server: Server,
    database: str,
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two processes' worth of Candor on one database; `pg_terminate_backend` on every
    session (a failover, a restart): the pools connect again, each LISTEN connection
    comes back, one of them leads the reminders again, and customers writing to
    either get each reply once (one sender per address)."""
    from tests.fakes.telegram import FakeTelegram
    from tests.test_telegram import SECRET, TOKEN, free_port, running, telegram_config, webhook_post

    url = server.url(database)
    ports = [free_port(), free_port()]
    async with FakeTelegram(TOKEN) as fake:
        configs = []
        for n, port in enumerate(ports):
            folder = tmp_path / f"p{n}"
            folder.mkdir()
            made = telegram_config(folder, knowledge_dir, fake, mode="webhook", port=port)
            configs.append(on_postgres(made, url))

        async def count(sql: str, *args: Any) -> int:
            conn = await asyncpg.connect(url)
            try:
                return int(await conn.fetchval(sql, *args))
            finally:
                await conn.close()

        async def led_once() -> bool:
            held = await count(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND a.application_name = 'candor leader: reminders'"
            )
            return held == 1

        async def both_listening() -> bool:
            listening = await count(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
                " AND application_name = 'candor-listen'",
                database,
            )
            return listening == 2

        async def write(customers: list[int], text: str) -> None:
            for n, user in enumerate(customers):  # round-robin over the two processes
                update = fake.build_message(user, text)
                await redelivered(lambda u=update, p=ports[n % 2]: webhook_post(p, u, SECRET))

        async with running(configs[0]) as (one, _), running(configs[1]):
            await until(led_once, "the reminders led by one of the two")
            await until(both_listening, "both outboxes listening")
            await write([ANN, BOB], "pricing")
            for user in (ANN, BOB):
                await fake.wait_for(
                    "sendMessage", 1, chat_id=user, include_failed=False, timeout=60
                )
            assert server.terminate(database) >= 4  # the pools', the leaders', LISTEN's
            await until(led_once, "the reminders led again, by one")
            await until(both_listening, "both outboxes listening again")
            later = [1003, 1004, 1005, 1006]
            await write(later, "is there a free trial?")
            for user in later:
                await fake.wait_for(
                    "sendMessage", 1, chat_id=user, include_failed=False, timeout=60
                )
                assert await customer_texts(one, Identity("telegram", "", str(user))) == [
                    "is there a free trial?"
                ]

            async def all_recorded() -> bool:
                pending = await count("SELECT count(*) FROM outbox WHERE state <> 'sent'")
                return pending == 0

            await until(all_recorded, "every reply recorded as sent")
            for user in (ANN, BOB, *later):
                assert len(fake.sent("sendMessage", user)) == 1, user  # once each
    lines = [shown(r) for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [line for line in lines if 'File "' in line or "Traceback" in line], lines
    assert not [line for line in lines if "InternalClientError" in line], lines
    store = [line for line in lines if line.startswith("the database at storage.url")]
    assert len(store) <= 4, lines  # each of the two: at most its beginning and its end
    assert not [line for line in lines if "another operation is in progress" in line], lines


# -- a wrong URL, password or database: every command names storage.url -------------------------

WRONG = {
    "password": lambda s: s.url("postgres", password="not-the-secret-at-all"),
    "missing database": lambda s: s.url("no_such_database"),
    "host": lambda s: s.url("postgres").replace("127.0.0.1", "no-such-host.invalid"),
    "port": lambda s: s.url("postgres").replace(f":{s.port}/", ":not-a-port/"),
    "down": lambda s: s.url("postgres").replace(f":{s.port}/", ":1/"),
}


@pytest.mark.parametrize("wrong", sorted(WRONG))
@pytest.mark.parametrize("command", ["db migrate", "doctor", "report"])
async def test_a_wrong_url_password_or_database_is_one_line_naming_storage_url(
    wrong: str,
    command: str,
    tmp_path: Path,
    knowledge_dir: Path,
    postgres_server: Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 1, one line naming `storage.url`, the URL with its password starred, never
    a traceback (`candor run`: tests/test_postgres.py, and below)."""
    from tests.conftest import write_config
    from tests.test_one_sender import candor

    bad = WRONG[wrong](postgres_server)
    monkeypatch.setenv("CANDOR_DATABASE_URL", bad)
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[storage]\n", '[storage]\nurl = "env:CANDOR_DATABASE_URL"\n'))
    status, out, err = await candor(config_module.load(path), *command.split())
    assert status == 1, (out, err)
    lines = [line for line in (out + err).splitlines() if "storage.url" in line]
    assert lines, out + err
    assert "***@" in lines[0] or "cannot be read" in lines[0], lines
    assert "Traceback" not in out + err
    assert "not-the-secret-at-all" not in out + err and PASSWORD not in out + err


async def test_candor_run_on_a_database_that_does_not_exist_exits_1_naming_it(
    tmp_path: Path, knowledge_dir: Path, postgres_server: Server
) -> None:
    from tests.fakes.telegram import FakeTelegram
    from tests.test_one_sender import candor
    from tests.test_telegram import TOKEN, telegram_config

    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, knowledge_dir, fake)
        config = on_postgres(config, postgres_server.url("no_such_database"))
        status, out, err = await candor(config, "run")
        assert status == 1, err
        assert "cannot open the database at storage.url" in err
        assert 'database "no_such_database" does not exist' in err
        assert "Traceback" not in err and PASSWORD not in out + err
        assert not fake.calls_to("getUpdates")


# -- a second deployment on the same database: doctor lists the processes -----------------------


async def test_doctor_lists_the_live_processes_and_where_candor_connects_from(
    tmp_path: Path, knowledge_dir: Path, postgres_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.doctor import examine
    from bot.store import PostgresStore
    from tests.conftest import write_config

    url = postgres_server.database_for(tmp_path)
    monkeypatch.setenv("CANDOR_DATABASE_URL", url)
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[storage]\n", '[storage]\nurl = "env:CANDOR_DATABASE_URL"\n'))

    def processes(findings: list[Any]) -> list[str]:
        return [f.detail for f in findings if f.area == "database" and f.check == "processes"]

    one, two = PostgresStore(url), PostgresStore(url)
    await one.open()
    await two.open()
    try:
        assert (
            processes(await examine(path)) == []
            or "0 with a live heartbeat" in (processes(await examine(path))[0])
        )
        await one.join("web-1:812:aa11", 30)
        await two.join("other-deployment:77:bb22", 30)
        await two.join("gone:9:cc33", -60)  # its heartbeat lapsed: not listed
        [said] = processes(await examine(path))
        assert said.startswith("2 with a live heartbeat (other-deployment pid 77, web-1 pid 812)")
        assert "from 127.0.0.1 since" in said and PASSWORD not in said
        await one.release("web-1:812:aa11")
        [said] = processes(await examine(path))
        assert said.startswith("1 with a live heartbeat (other-deployment pid 77)")
    finally:
        await one.close()
        await two.close()
