"""Secrets: only the ones the enabled modes use are read, and only by `candor run`;
the config errors people read (file name, variable, mode; lists counted from one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import cli, redact
from bot import config as config_module
from bot.app import Candor
from bot.config import Config, ConfigError
from tests.conftest import ROOT

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwx"
NAMES = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
)


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


TELEGRAM = """
[telegram]
enabled = true
token = "env:TELEGRAM_BOT_TOKEN"
mode = "{mode}"
webhook_url = "https://bot.example.com/telegram"
webhook_secret = "env:TELEGRAM_WEBHOOK_SECRET"
"""

SLACK = """
[slack]
enabled = true
mode = "{mode}"
bot_token = "env:SLACK_BOT_TOKEN"
signing_secret = "env:SLACK_SIGNING_SECRET"
app_token = "env:SLACK_APP_TOKEN"
triage_channel = "C0TRIAGE"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text + '\n[storage]\npath = "candor.sqlite3"\n', encoding="utf-8")
    return path


def test_telegram_polling_needs_only_the_bot_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    config = config_module.load(_write(tmp_path, TELEGRAM.format(mode="polling")))
    assert config.telegram.token == TOKEN  # type: ignore[attr-defined]
    assert config.telegram.webhook_secret == ""  # type: ignore[attr-defined]


def test_telegram_webhook_mode_still_needs_its_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    path = _write(tmp_path, TELEGRAM.format(mode="webhook"))
    with pytest.raises(ConfigError) as refused:
        config_module.load(path)
    assert str(refused.value) == (
        f"{path}: telegram.webhook_secret: the environment variable TELEGRAM_WEBHOOK_SECRET"
        " is not set (needed in webhook mode)"
    )
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "short")
    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret: needed in webhook mode, 16"):
        config_module.load(path)


def test_a_missing_token_names_variable_setting_mode_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, SLACK.format(mode="socket"))
    with pytest.raises(ConfigError) as refused:
        config_module.load(path)
    assert str(refused.value) == (
        f"{path}: slack.bot_token: the environment variable SLACK_BOT_TOKEN is not set"
        " (needed in Socket Mode)"
    )


def test_slack_http_mode_needs_no_app_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-5678-abcdef")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
    config = config_module.load(_write(tmp_path, SLACK.format(mode="http")))
    assert config.slack.signing_secret == "8f742231b10e8888abcd99yyyzzz85a5"  # type: ignore[attr-defined]
    assert config.slack.app_token == ""  # type: ignore[attr-defined]


def test_slack_socket_mode_needs_no_signing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-5678-abcdef")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0123-4567-abcdef")
    config = config_module.load(_write(tmp_path, SLACK.format(mode="socket")))
    assert config.slack.app_token == "xapp-1-A0123-4567-abcdef"  # type: ignore[attr-defined]
    assert config.slack.signing_secret == ""  # type: ignore[attr-defined]


def test_only_the_secrets_in_use_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A placeholder left in the other mode's setting is no secret: library messages
    # holding that word must reach the log whole.
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    text = TELEGRAM.format(mode="polling").replace(
        '"env:TELEGRAM_WEBHOOK_SECRET"', '"placeholder-unused"'
    )
    config_module.load(_write(tmp_path, text))
    assert "placeholder-unused" in redact.redact("webhook placeholder-unused here")
    assert TOKEN not in redact.redact(f"the token {TOKEN} leaked")


def test_a_short_secret_in_use_is_still_refused(tmp_path: Path) -> None:
    text = TELEGRAM.format(mode="polling").replace('"env:TELEGRAM_BOT_TOKEN"', '"1:abc"')
    with pytest.raises(ConfigError, match=r"telegram\.token: too short to be a real secret"):
        config_module.load(_write(tmp_path, text))


async def _open(config: Config) -> None:
    async with Candor(config):
        pass


@pytest.mark.parametrize("command", [["kb", "check"], ["report"], ["kb", "ask", "refund"]])
def test_commands_that_talk_to_no_platform_need_no_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    knowledge = ROOT / "knowledge"
    path = _write(
        tmp_path, TELEGRAM.format(mode="polling") + f"\n[knowledge]\ndirectory = '{knowledge}'\n"
    )
    if command == ["report"]:  # a database to report on, made as `candor chat` would
        asyncio.run(_open(config_module.load(path, secrets=False)))
    code = cli.main([*command, "--config", str(path)])
    captured = capsys.readouterr()
    assert "TELEGRAM_BOT_TOKEN" not in captured.err
    assert code == 0, captured.err


def test_candor_run_still_needs_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, TELEGRAM.format(mode="polling"))
    assert cli.main(["run", "--config", str(path)]) != 0
    assert "TELEGRAM_BOT_TOKEN is not set (needed in polling mode)" in capsys.readouterr().err


def test_candor_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"candor {version('candor-support')}"
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "--config PATH" in capsys.readouterr().out


def test_list_entries_count_from_one_in_errors() -> None:
    text = '[desk]\nagents = [{ name = "maria", console = "maria" }, { name = "" }]\n'
    with pytest.raises(ConfigError, match=r"desk\.agents\.2\.name"):
        config_module.parse(text)
