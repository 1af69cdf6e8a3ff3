"""`candor run` with Telegram and Slack: a platform that cannot be reached at start
does not take the other down, and starts once it can be reached; a refused token
is a clear error. The real python-telegram-bot and slack-bolt against the fakes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot import config as config_module
from bot.app import Candor
from bot.channels import ChannelRefused, Channels
from bot.config import Config
from tests.conftest import write_config
from tests.fakes import slack as fakes
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.test_slack import ACME, DM, HOME, free_port
from tests.test_slack import SECRET as SLACK_SECRET
from tests.test_telegram import ANN, TOKEN, said

SLACK_ANN = "U0ANN"


def both_config(
    tmp_path: Path, knowledge: Path, telegram: FakeTelegram, slack: FakeSlack, port: int
) -> Config:
    extra = f"""
[telegram]
enabled = true
token = "{TOKEN}"
api_base_url = "{telegram.base_url}"
file_base_url = "{telegram.base_file_url}"
poll_timeout_seconds = 1
per_chat_interval_seconds = 0
overall_per_second = 1000
group_per_minute = 6000

[slack]
enabled = true
bot_token = "xoxb-test"
signing_secret = "{SLACK_SECRET}"
api_base_url = "{slack.api_url}"
port = {port}
max_retries = 0
"""
    return config_module.load(write_config(tmp_path, knowledge, extra, desk="channels = []"))


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token="xoxb-test", team_id=HOME) as server:
        server.add_user(SLACK_ANN, name="ann", real_name="Ann Lee", team_id=ACME)
        server.add_channel(DM, name="", is_im=True)
        yield server


@asynccontextmanager
async def run(config: Config) -> AsyncIterator[tuple[Candor, Channels]]:
    """`candor run` as `bot.cli` starts it, with short waits between tries."""
    async with Candor(config) as app:
        channels = Channels(cli._named_channels(config, app), retry_base=0.05, retry_max=0.2)
        app.start_background(desk=True)
        await channels.start()
        try:
            yield app, channels
        finally:
            await channels.stop()


async def slack_dm(port: int, text: str) -> int:
    event = fakes.message_event(
        SLACK_ANN, text, channel=DM, channel_type="im", ts="1700000001.000100", team=ACME
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    status, _ = await fakes.post_event(url, fakes.event_callback(event), SLACK_SECRET)
    return status


async def test_slack_unreachable_at_start_leaves_telegram_serving_and_starts_later(
    telegram: FakeTelegram,
    slack: FakeSlack,
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: Any,
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    config = both_config(tmp_path, knowledge_dir, telegram, slack, port)
    slack.reset_next("auth.test", count=None)  # Slack's API cannot be reached
    async with run(config) as (_, channels):
        assert channels.running == {"telegram"}
        telegram.push_message(ANN, "how much does it cost?")
        [answer] = await said(telegram, ANN, 1)
        assert "$8 per user" in str(answer.params["text"])
        assert sum("slack could not start" in r.getMessage() for r in caplog.records) == 1
        await slack.wait_for("auth.test", 2)  # tried again, in the background
        slack.clear_failures()  # Slack is back
        await slack.wait_for("auth.test", 1, include_failed=False, timeout=10)
        for _ in range(200):
            if "slack" in channels.running:
                break
            await asyncio.sleep(0.05)
        assert channels.running == {"telegram", "slack"}
        assert await slack_dm(port, "how much does it cost?") == 200
        [reply] = await slack.wait_for("chat.postMessage", 1, channel=DM, timeout=10)
        assert "$8 per user" in str(reply.params.get("text", "")) + str(reply.params)


async def test_a_refused_slack_token_is_a_clear_error_and_nothing_runs_on(
    telegram: FakeTelegram, slack: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = both_config(tmp_path, knowledge_dir, telegram, slack, free_port())
    slack.fail_next("auth.test", error="invalid_auth")
    with pytest.raises(
        ChannelRefused, match=r"slack\.bot_token was refused by Slack: invalid_auth"
    ):
        async with run(config):
            pass
    # Telegram, which did start, was stopped again: a half-running bot nobody notices
    # is what a refusal must not leave
    polls = len(telegram.calls_to("getUpdates"))
    await asyncio.sleep(0.3)
    assert len(telegram.calls_to("getUpdates")) <= polls + 1


async def test_a_token_refused_on_a_later_try_stops_candor_run(
    telegram: FakeTelegram, slack: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = both_config(tmp_path, knowledge_dir, telegram, slack, free_port())
    slack.reset_next("auth.test", count=1)
    slack.fail_next("auth.test", error="token_revoked")
    async with run(config) as (_, channels):
        assert channels.refused is not None
        refusal = await asyncio.wait_for(channels.refused, 10)
        assert "slack.bot_token was refused by Slack: token_revoked" in str(refusal)


async def test_candor_run_serves_telegram_while_slack_cannot_be_reached(
    telegram: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """The real `candor run`, Slack's API on a port nobody listens on."""
    import signal

    from tests.conftest import candor_command

    class Nowhere:
        api_url = f"http://127.0.0.1:{free_port()}/api/"

    config = both_config(tmp_path, knowledge_dir, telegram, Nowhere(), free_port())  # type: ignore[arg-type]
    assert config.source is not None
    telegram.push_message(ANN, "how much does it cost?")
    process = await asyncio.create_subprocess_exec(
        *candor_command(),
        "run",
        "--config",
        str(config.source),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False, timeout=30)
        assert process.returncode is None  # still running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    shown = stderr.decode()
    assert process.returncode == 0, shown
    assert "Traceback" not in shown
    assert shown.count("slack could not start") == 1, shown


# -- secrets in the log (finding 17) ----------------------------------------------------------


def _rendered(record: logging.LogRecord) -> str:
    shown = f"{record.name} {record.getMessage()} {record.args!r}"
    if record.exc_info and record.exc_info[1] is not None:
        shown += logging.Formatter().formatException(record.exc_info)
    return shown


def test_a_short_webhook_secret_is_refused_with_a_clear_message(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """python-telegram-bot logs setWebhook with its secret at DEBUG, and no redaction
    can hunt a value of five characters: such a secret is refused at start."""
    extra = f"""
[telegram]
enabled = true
token = "{TOKEN}"
mode = "webhook"
webhook_url = "https://support.example.com/telegram"
webhook_secret = "abc12"
"""
    path = write_config(tmp_path, knowledge_dir, extra, desk="channels = []")
    with pytest.raises(config_module.ConfigError, match=r"webhook_secret: .*16-256 characters"):
        config_module.load(path)


def test_any_secret_too_short_to_redact_is_refused(tmp_path: Path, knowledge_dir: Path) -> None:
    extra = """
[slack]
enabled = true
bot_token = "xoxb-test"
signing_secret = "abc"
"""
    path = write_config(tmp_path, knowledge_dir, extra, desk="channels = []")
    with pytest.raises(config_module.ConfigError, match=r"slack\.signing_secret: too short"):
        config_module.load(path)


async def test_proxy_credentials_never_reach_a_log_record(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from adapters.slack.channel import make_client

    password = "pr0xy-Pa55word"
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:{password}@127.0.0.1:{free_port()}")
    caplog.set_level(logging.DEBUG)

    class Nowhere:
        api_url = f"http://127.0.0.1:{free_port()}/api/"

    config = both_config(tmp_path, knowledge_dir, FakeTelegram(TOKEN), Nowhere(), free_port())  # type: ignore[arg-type]
    client = make_client(config.slack)
    with pytest.raises(Exception):  # noqa: B017 - the proxy is not there; only the log matters
        await client.auth_test()
    shown = [_rendered(r) for r in caplog.records]
    assert any("proxy" in line.lower() for line in shown), "slack_sdk logged no proxy at all"
    assert not any(password in line for line in shown)
    assert not any("proxyuser:" in line for line in shown)


async def test_a_webhook_start_at_debug_logs_no_secret(
    telegram: FakeTelegram, tmp_path: Path, knowledge_dir: Path, caplog: Any
) -> None:
    from tests.test_telegram import SECRET, running, telegram_config
    from tests.test_telegram import free_port as port_for

    caplog.set_level(logging.DEBUG)
    port = port_for()
    config = telegram_config(tmp_path, knowledge_dir, telegram, mode="webhook", port=port)
    async with running(config):
        [hook] = await telegram.wait_for("setWebhook")
        assert hook.params["secret_token"] == SECRET
    shown = [_rendered(r) for r in caplog.records]
    assert any("setWebhook" in line for line in shown)  # python-telegram-bot did log it
    assert not any(SECRET in line for line in shown)
