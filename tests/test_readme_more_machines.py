"""The README's "More than one machine" as an operator copies it: the config's keys
exist, the nginx example sends each platform's posts to the path and port Candor
listens on, and the monitoring queries run on a Candor database. (nginx itself is
not run: its config is read here.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import asyncpg
import pytest

from adapters.slack.settings import SlackSettings
from adapters.telegram.settings import TelegramSettings
from bot.store import PostgresStore
from tests.postgres import Server

README = Path(__file__).resolve().parent.parent / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## More than one machine\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section(), re.MULTILINE | re.DOTALL)


def example_config() -> dict[str, dict[str, object]]:
    [settings] = [block for block in blocks("toml") if "[telegram]" in block]
    return tomllib.loads(settings)


def nginx() -> tuple[dict[str, list[tuple[str, int]]], dict[str, str]]:
    """The example's upstreams (name: [(host, port)]) and locations (path: upstream)."""
    [config] = blocks("nginx")
    upstreams = {
        name: [(host, int(port)) for host, port in re.findall(r"server ([\d.]+):(\d+)", body)]
        for name, body in re.findall(r"upstream (\w+) \{(.*?)\}", config, re.DOTALL)
    }
    locations = dict(
        re.findall(r"location = (\S+) \{[^}]*?proxy_pass http://(\w+);", config, re.DOTALL)
    )
    return upstreams, locations


def test_the_example_config_has_only_keys_candor_knows() -> None:
    config = example_config()
    TelegramSettings(**config["telegram"])  # extra keys are refused (`Section`)
    SlackSettings(**config["slack"])


def test_nginx_sends_each_platform_to_the_path_and_port_candor_listens_on() -> None:
    upstreams, locations = nginx()
    config = example_config()
    telegram = TelegramSettings(**config["telegram"])
    slack = SlackSettings(**config["slack"])
    # the paths Candor serves (channel.py: `add_post(webhook_path)`, bolt's `path`), the
    # defaults the comments name
    assert telegram.webhook_path == TelegramSettings().webhook_path
    assert slack.path == SlackSettings().path
    assert set(locations) == {telegram.webhook_path, slack.path}
    for path, port, listen in (
        (telegram.webhook_path, telegram.webhook_port, telegram.webhook_listen),
        (slack.path, slack.port, slack.listen),
    ):
        servers = upstreams[locations[path]]
        assert len(servers) >= 2, servers  # several processes
        assert {p for _, p in servers} == {port}, (path, servers)
        assert (listen, port) in servers  # the machine the example config is for
    # Telegram posts to the public URL's path, which nginx passes on as it is
    assert telegram.webhook_url.endswith(telegram.webhook_path)


def test_nginx_retries_only_what_the_store_deduplicates_and_not_a_500() -> None:
    [config] = blocks("nginx")
    [retry] = re.findall(r"proxy_next_upstream ([^;]+);", config)
    choices = set(retry.split())
    assert "non_idempotent" in choices  # a POST may go to another process: deduplicated
    assert "http_500" not in choices  # the database out of reach: the platform redelivers
    assert choices <= {"error", "timeout", "http_502", "http_503", "http_504", "non_idempotent"}


@pytest.mark.postgres
async def test_the_monitoring_queries_run_on_a_candor_database(
    postgres_server: Server, tmp_path: Path
) -> None:
    url = postgres_server.database_for(tmp_path)
    store = PostgresStore(url)
    await store.open()  # the schema, and a connection named as Candor's are
    try:
        await store.join("web-1:812:aa11", 30)
        await store.claim("web-1:812:aa11", [("telegram", "42")], 30)
        [queries] = blocks("sql")
        statements = [s.strip() for s in queries.split(";") if s.strip()]
        assert len(statements) >= 6
        conn = await asyncpg.connect(url)
        try:
            for statement in statements:
                await conn.fetch(statement)  # raises on a column or table that is not there
            [live] = await conn.fetch(statements[0])
            assert live["id"] == "web-1:812:aa11"
        finally:
            await conn.close()
    finally:
        await store.close()
