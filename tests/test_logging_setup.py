"""Where the log goes (issue 15, findings 2 and 12): `[logging] file = ""` is the
terminal only; `candor run` says on the terminal what started, in which mode, on
which address and where the desk is; the terminal chat and desk keep their screen;
slack-bolt's notice about an unused token never shows.

`candor run` and `candor chat` run as real processes, against the fake Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import subprocess
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.slack.channel import SlackChannel
from adapters.telegram.channel import TelegramChannel
from bot import config as config_module
from bot.app import Candor
from bot.cli import _setup_logging
from bot.config import Config
from tests.conftest import ROOT, candor_command, write_config
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.test_slack import DESK as SLACK_DESK
from tests.test_slack import TRIAGE, free_port
from tests.test_telegram import STAFF, TOKEN, telegram_config

# a line of the log's format: "2026-12-01 13:50:06,989 WARNING name: message"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ", re.MULTILINE)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def clean_root() -> Iterator[None]:
    """`_setup_logging` in this process: the root logger as it was, after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def terminal_only(config: Config) -> Config:
    """`config` with `[logging] file = ""`, written where it was."""
    assert config.source is not None and config.logging.file is not None
    text = config.source.read_text(encoding="utf-8")
    line = f'file = "{config.logging.file}"'
    assert line in text
    config.source.write_text(text.replace(line, 'file = ""'), encoding="utf-8")
    return config_module.load(config.source)


def log_files(folder: Path) -> list[Path]:
    return list(folder.rglob("*.log"))


def files_in(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


async def run_until_running(config: Config) -> tuple[int, str]:
    """`candor run` until its terminal says it is running, then SIGTERM: (status, stderr)."""
    assert config.source is not None
    process = await asyncio.create_subprocess_exec(
        *candor_command(),
        "run",
        "--config",
        str(config.source),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stderr is not None
    lines: list[str] = []

    async def read_until_running() -> None:
        assert process.stderr is not None
        while True:
            line = (await process.stderr.readline()).decode(errors="replace")
            if not line:  # ended
                return
            lines.append(line)
            if "candor is running" in line:
                return

    with contextlib.suppress(TimeoutError):  # a bound on a hang; the asserts say more
        await asyncio.wait_for(read_until_running(), 60)
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, rest = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"`candor run` did not stop: {''.join(lines)}") from None
    assert process.returncode is not None
    return process.returncode, "".join(lines) + rest.decode(errors="replace")


# -- [logging] file = "" ---------------------------------------------------------------


def test_an_empty_log_file_is_no_log_file(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = terminal_only(telegram_config(tmp_path, knowledge_dir, fake))
    assert config.logging.file is None
    spaces = (
        write_config(tmp_path, knowledge_dir)
        .read_text()
        .replace(f'file = "{tmp_path / "candor.log"}"', 'file = "  "')
    )
    (tmp_path / "spaces.toml").write_text(spaces, encoding="utf-8")
    assert config_module.load(tmp_path / "spaces.toml").logging.file is None


def test_the_logging_setup_with_no_file_writes_none_and_says_nothing_wrong(
    fake: FakeTelegram,
    tmp_path: Path,
    knowledge_dir: Path,
    capsys: pytest.CaptureFixture[str],
    clean_root: None,
) -> None:
    config = terminal_only(telegram_config(tmp_path, knowledge_dir, fake))
    before = files_in(tmp_path)
    _setup_logging(config, terminal=True)
    logging.getLogger("bot.cli").info("candor is running")
    assert "cannot write the log file" not in capsys.readouterr().err
    assert files_in(tmp_path) == before


async def test_candor_run_with_no_log_file_logs_to_the_terminal_only(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = terminal_only(telegram_config(tmp_path, knowledge_dir, fake))
    status, stderr = await run_until_running(config)
    assert status == 0, stderr
    assert "cannot write the log file" not in stderr
    assert "candor is running" in stderr
    assert not log_files(tmp_path)


# -- what `candor run` says on the terminal ----------------------------------------------------


async def test_candor_run_says_what_started_where_on_the_terminal(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """The default logging (a log file) still shows INFO on `candor run`'s terminal."""
    config = telegram_config(tmp_path, knowledge_dir, fake)
    assert config.logging.file is not None and config.logging.level == "INFO"
    status, stderr = await run_until_running(config)
    assert status == 0, stderr
    assert f"candor is running: telegram (desk: telegram {STAFF})" in stderr
    assert re.search(
        rf"telegram: @\S+ polling for updates; staff group {STAFF} \(topics True\)", stderr
    ), stderr
    assert TOKEN not in stderr
    # the same lines are in the file
    assert "candor is running: telegram" in config.logging.file.read_text()


async def test_the_telegram_webhook_says_its_url_and_listen_address(
    fake: FakeTelegram,
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    config = telegram_config(tmp_path, knowledge_dir, fake, mode="webhook", port=port)
    caplog.set_level(logging.INFO)
    async with Candor(config) as app:
        channel = TelegramChannel(app, config.telegram)
        await channel.start()
        await channel.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "adapters.telegram.channel"]
    assert any(
        f"webhook https://support.example.com/telegram, listening on 127.0.0.1:{port}/telegram"
        in line
        and f"staff group {STAFF}" in line
        for line in said
    ), said


# -- the terminal chat keeps its screen ---------------------------------------------------------


@pytest.mark.parametrize("log_file", ["default", "none"])
def test_the_terminal_chat_and_desk_print_no_log_lines(
    tmp_path: Path, knowledge_dir: Path, log_file: str
) -> None:
    path = write_config(tmp_path, knowledge_dir)
    if log_file == "none":
        text = path.read_text().replace(f'file = "{tmp_path / "candor.log"}"', 'file = ""')
        path.write_text(text, encoding="utf-8")
    for command, who, said in (("chat", "ann", "hi\n"), ("desk", "maria", "/queue\n")):
        done = subprocess.run(
            [*candor_command(), command, "--config", str(path), "--as", who],
            input=said,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        assert not LOG_LINE.search(done.stdout), done.stdout
        assert not LOG_LINE.search(done.stderr), done.stderr
        assert "cannot write the log file" not in done.stderr


# -- slack-bolt's notice about an unused token (finding 12) -------------------------------------


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_starting_slack_says_its_mode_and_never_the_bolt_token_notice(
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    """The README exports SLACK_BOT_TOKEN, which slack-bolt also reads on its own."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    port = free_port()
    async with FakeSlack(bot_token="xoxb-test", team_id="T0HOME") as fake:
        fake.add_channel(TRIAGE, name="triage")
        extra = f"""
[slack]
enabled = true
mode = "{mode}"
bot_token = "env:SLACK_BOT_TOKEN"
signing_secret = "signing-secret-for-tests"
app_token = "xapp-test"
api_base_url = "{fake.api_url}"
port = {port}
triage_channel = "{TRIAGE}"
"""
        config = config_module.load(write_config(tmp_path, knowledge_dir, extra, desk=SLACK_DESK))
        caplog.set_level(logging.INFO)
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            async with Candor(config) as app:
                channel = SlackChannel(app, config.slack)
                await channel.start()
                await channel.stop()
                await channel.start()  # started again (after a failure): no new notice
                await channel.stop()
    lines = [record.getMessage() for record in caplog.records]
    assert not [line for line in lines if "will be unused" in line], lines
    assert not [w for w in warned if "will be unused" in str(w.message)]
    how = (
        f"slack: HTTP mode, listening on 127.0.0.1:{port}/slack/events"
        if mode == "http"
        else "slack: connected in Socket Mode"
    )
    assert any(
        line.startswith(how) and f"(T0HOME); triage channel {TRIAGE}" in line for line in lines
    ), lines
