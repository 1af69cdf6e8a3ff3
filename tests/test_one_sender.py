"""One `candor run` per SQLite file: a second one would send every reply again.
Real processes, against the fake Telegram."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.store import StoreError
from tests.conftest import ROOT, candor_command
from tests.fakes.telegram import FakeTelegram
from tests.test_telegram import TOKEN, telegram_config


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


async def candor(config: Config, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run a `candor` command to its end: (exit status, stdout, stderr)."""
    assert config.source is not None
    process = await asyncio.create_subprocess_exec(
        *candor_command(),
        *args,
        "--config",
        str(config.source),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), 120)
    except TimeoutError:  # a bound on a hang, not a measure of speed
        process.kill()
        await process.wait()
        raise AssertionError(f"`candor {' '.join(args)}` did not end") from None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def running(config: Config, times: int) -> asyncio.subprocess.Process:
    """`candor run`, once it says (for the `times`th time in the log) it is running."""
    assert config.source is not None and config.logging.file is not None
    log = config.logging.file
    process = await asyncio.create_subprocess_exec(
        *candor_command(),
        "run",
        "--config",
        str(config.source),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a bound on a hang, not a measure of speed
    while not log.exists() or log.read_text(errors="replace").count("candor is running") < times:
        assert process.returncode is None, "`candor run` stopped"
        assert loop.time() < deadline, "`candor run` did not start"
        await asyncio.sleep(0.05)
    return process


async def test_a_second_candor_run_on_one_database_is_refused_and_the_rest_work_beside(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = telegram_config(tmp_path, knowledge_dir, fake)
    database = config.storage.path
    first = await running(config, 1)
    try:
        status, _, stderr = await candor(config, "run")
        assert status == 1, stderr
        assert f"another `candor run` (process {first.pid}) is already running" in stderr
        assert str(database) in stderr and f"fuser -v {database}.lock" in stderr
        assert "Traceback" not in stderr
        # the terminal chat, the desk's report and the knowledge tools work beside it
        status, out, stderr = await candor(config, "chat", "--as", "ann", stdin=b"hi\n")
        assert status == 0, stderr
        assert "Candor:" in out
        status, out, stderr = await candor(config, "report")
        assert status == 0, stderr
        status, _, stderr = await candor(config, "kb", "check")
        assert status == 0, stderr
    finally:
        first.send_signal(signal.SIGKILL)  # killed: the lock goes with the process
        await first.wait()
    again = await running(config, 2)
    again.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(again.wait(), 60) == 0


def test_the_lock_is_held_for_the_block_and_released_after(tmp_path: Path) -> None:
    from bot.store.sqlite.sender import sole_sender

    database = tmp_path / "candor.sqlite3"
    refused = pytest.raises(StoreError, match=r"another `candor run` \(process \d+\)")
    with sole_sender(database), refused, sole_sender(database):
        pass  # pragma: no cover
    with sole_sender(database):  # released
        pass


def test_a_lock_file_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    from bot.store.sqlite.sender import sole_sender

    (tmp_path / "candor.sqlite3.lock").mkdir()  # in the way
    refused = pytest.raises(StoreError, match=r"cannot make the lock file .*sqlite3\.lock")
    with refused, sole_sender(tmp_path / "candor.sqlite3"):
        pass  # pragma: no cover


def test_one_database_reached_through_a_symbolic_link_is_one_lock(tmp_path: Path) -> None:
    from bot.store.sqlite.sender import sole_sender

    database = tmp_path / "candor.sqlite3"
    database.touch()
    (tmp_path / "other.sqlite3").symlink_to(database)
    refused = pytest.raises(StoreError, match="already running")
    with sole_sender(database), refused, sole_sender(tmp_path / "other.sqlite3"):
        pass
