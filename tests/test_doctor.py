"""`candor doctor`'s own checks (issue 15): the config and its secrets, the database,
the disk and the knowledge base. The platforms' probes have tests of their own
(tests/test_doctor_telegram.py, tests/test_doctor_slack.py)."""

from __future__ import annotations

import io
import json
import os
import pathlib
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import doctor
from bot.cli import main
from bot.doctor import Context, Finding, examine
from bot.platforms import NoSettings, Platform
from bot.store import SQLiteStore
from bot.store.sqlite.schema import migrations
from bot.store.sqlite.sender import sole_sender
from tests.conftest import ROOT, write_config

TELEGRAM = """
[telegram]
enabled = true
token = "env:CANDOR_TEST_TOKEN"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lines(findings: list[Finding]) -> list[str]:
    return [f.line() for f in findings]


def failed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok and f.needed]


async def test_a_working_terminal_config_passes_every_check(config_path: Path) -> None:
    findings = await examine(config_path)
    assert not failed(findings), lines(findings)
    checks = {(f.area, f.check) for f in findings}
    assert {
        ("config", "loads"),
        ("config", "secrets"),
        ("database", "opens"),
        ("database", "writable"),
        ("database", "disk"),
        ("knowledge", "kb check"),
    } <= checks


def test_the_command_prints_one_line_per_check_and_exits_0(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"✓ config: loads: {config_path}"
    assert all(line.startswith("✓ ") for line in out[:-1])
    assert out[-1].startswith("all ") and out[-1].endswith(" checks passed")


def test_json_says_the_same(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--config", str(config_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True
    assert {"area": "config", "check": "loads", "ok": True, "needed": True}.items() <= payload[
        "checks"
    ][0].items()


def test_a_missing_config_file_is_a_failed_check_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--config", str(tmp_path / "nope.toml")]) == 1
    out = capsys.readouterr().out
    assert "✗ config: loads: cannot read the config file" in out
    assert "1 of 1 checks failed" in out


async def test_a_broken_config_names_the_file_and_the_key(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    path = write_config(tmp_path, knowledge_dir, "[bot]\nnmae = 'x'\n")
    findings = await examine(path)
    assert [(f.area, f.check, f.ok) for f in findings] == [("config", "loads", False)]
    assert str(path) in findings[0].detail


async def test_an_unset_secret_names_the_variable_the_setting_and_the_mode(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANDOR_TEST_TOKEN", raising=False)
    path = write_config(tmp_path, knowledge_dir, TELEGRAM)
    findings = await examine(path)
    [missing] = failed(findings)
    assert (missing.area, missing.check) == ("config", "secrets")
    assert "telegram.token" in missing.detail
    assert "CANDOR_TEST_TOKEN" in missing.detail
    assert "polling mode" in missing.detail
    # nothing is asked of Telegram without its token
    assert {f.area for f in findings} == {"config"}


async def test_a_secret_is_never_shown(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "123456:not-a-real-token-but-long"
    monkeypatch.setenv("CANDOR_TEST_TOKEN", secret)
    path = write_config(tmp_path, knowledge_dir, TELEGRAM)
    out = io.StringIO()
    await doctor.doctor_command(path, False, out)
    assert secret not in out.getvalue()


def _database(tmp_path: Path) -> Path:
    return tmp_path / "candor.sqlite3"


async def _made(tmp_path: Path) -> Path:
    store = SQLiteStore(_database(tmp_path), checkpoint_seconds=0)
    await store.open()
    await store.close()
    return _database(tmp_path)


async def test_a_current_database_says_its_version(config_path: Path, tmp_path: Path) -> None:
    await _made(tmp_path)
    findings = await examine(config_path)
    [schema] = [f for f in findings if f.check == "schema"]
    latest = migrations()[-1][0]
    assert schema.ok and schema.detail == f"version {latest}, current"


async def test_an_older_database_is_fine_and_says_it_will_be_migrated(
    config_path: Path, tmp_path: Path
) -> None:
    path = await _made(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 3")
    [schema] = [f for f in await examine(config_path) if f.check == "schema"]
    assert schema.ok and "version 3" in schema.detail and "candor run" in schema.detail


async def test_a_database_from_a_newer_candor_fails(config_path: Path, tmp_path: Path) -> None:
    path = await _made(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 999")
    [bad] = failed(await examine(config_path))
    assert bad.check == "schema" and "upgrade Candor" in bad.detail


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"this is not sqlite at all" * 100, "cannot read"), (None, "not a Candor database")],
)
async def test_a_file_that_is_not_a_candor_database_fails(
    config_path: Path, tmp_path: Path, content: bytes | None, says: str
) -> None:
    path = _database(tmp_path)
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE other (x)")
    else:
        path.write_bytes(content)
    [bad] = failed(await examine(config_path))
    assert bad.area == "database" and says in bad.detail


async def test_a_database_candor_cannot_write_fails(
    config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    path = await _made(tmp_path)
    os.chmod(path, 0o444)
    if os.geteuid() == 0:
        # root may write whatever the permissions say; the check is what the ordinary
        # user candor runs as gets, which is what access(2) answers for them
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK and real(p, mode))
    [bad] = failed(await examine(config_path))
    assert bad.check == "writable" and str(path) in bad.detail


async def test_a_running_candor_is_seen_and_told_to_the_probes(
    config_path: Path, tmp_path: Path
) -> None:
    await _made(tmp_path)
    with sole_sender(_database(tmp_path)):
        findings = await examine(config_path)
        [running] = [f for f in findings if f.check == "candor run"]
        assert running.ok and "running on this database" in running.detail
    # and when it has stopped, the lock is free again (doctor took it only for a moment)
    assert not [f for f in await examine(config_path) if f.check == "candor run"]
    with sole_sender(_database(tmp_path)):
        pass


async def test_a_nearly_full_disk_fails(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "LOW_DISK_BYTES", 2**62)
    [bad] = failed(await examine(config_path))
    assert bad.check == "disk" and "make room" in bad.detail


async def test_a_broken_article_fails_the_knowledge_check(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    (knowledge_dir / "broken.md").write_text("no front matter here\n", encoding="utf-8")
    path = write_config(tmp_path, knowledge_dir)
    [bad] = failed(await examine(path))
    assert bad.area == "knowledge" and "1 error," in bad.detail
    assert "candor kb check" in bad.detail


async def test_the_knowledge_check_names_the_articles_and_the_drafts(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    drafts = knowledge_dir / "drafts"
    drafts.mkdir()
    (drafts / "broken.md").write_text("no front matter here\n", encoding="utf-8")
    path = write_config(tmp_path, knowledge_dir)
    [bad] = failed(await examine(path))  # a broken draft is an error of the drafts'
    assert bad.area == "knowledge"
    assert re.search(r"3 articles checked in \S+: 0 errors, 0 warnings; ", bad.detail)
    assert re.search(r"; 0 drafts checked in \S+drafts: 1 error, 0 warnings", bad.detail)


async def test_a_missing_knowledge_folder_fails(tmp_path: Path) -> None:
    path = write_config(tmp_path, tmp_path / "nowhere")
    [bad] = failed(await examine(path))
    assert bad.area == "knowledge" and "does not exist" in bad.detail


async def test_a_probe_that_breaks_is_a_finding_not_a_traceback(config_path: Path) -> None:
    async def probe(settings: Any, context: Context) -> AsyncIterator[Finding]:
        yield Finding("fake", "first", True, "fine")
        raise KeyError("the probe's own bug")

    from bot import config as config_module

    platform: Platform[Any] = Platform(name="fake", settings=NoSettings, doctor=probe)
    config = config_module.load(config_path)
    context = Context(config=config, running=False)
    findings = await doctor._platform(platform, NoSettings(), context)
    first, broke = lines(findings)
    assert first == "✓ fake: first: fine"
    assert broke.startswith("✗ fake: checks: could not finish: KeyError"), broke


def test_a_warning_does_not_fail_the_run() -> None:
    warning = Finding("x", "y", False, "worth knowing", needed=False)
    assert warning.line() == "! x: y: worth knowing"
    assert doctor.passed([Finding("a", "b", True, "ok"), warning])
    out = io.StringIO()
    doctor.render([warning], False, out)
    assert out.getvalue().endswith("all 1 checks passed (1 warning)\n")


# -- odd machines and odd answers: findings, never a traceback ----------------------------


@pytest.mark.parametrize("platform", ["telegram", "slack"])
def test_the_command_prints_no_traceback_when_a_platform_answers_garbage(
    tmp_path: Path, knowledge_dir: Path, platform: str
) -> None:
    """`candor doctor` as an operator runs it, against an api_base_url that answers
    HTML said to be JSON: python-telegram-bot logs "Can not load invalid JSON data"
    with a traceback, and Python prints a record nobody handles on stderr. Doctor
    keeps the libraries' records off the screen: what they say is in a finding."""
    # (every kind of garbage, for every call: the platforms' doctor tests; here: the
    # real command, in a process of its own, where nothing else handles a log record)
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aiohttp import web\n"
            "async def a(r): return web.Response(text='<html>proxy</html>',"
            " content_type='application/json')\n"
            "app = web.Application(); app.router.add_route('*', '/{t:.*}', a)\n"
            f"web.run_app(app, host='127.0.0.1', port={(port := free_port())}, print=None)\n",
        ]
    )
    try:
        for _ in range(600):  # until it listens (a minute at most)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        section = (
            f"""
[telegram]
enabled = true
token = "env:TELEGRAM_BOT_TOKEN"
api_base_url = "http://127.0.0.1:{port}/bot"
"""
            if platform == "telegram"
            else f"""
[slack]
enabled = true
mode = "socket"
bot_token = "env:SLACK_BOT_TOKEN"
app_token = "env:SLACK_APP_TOKEN"
api_base_url = "http://127.0.0.1:{port}/api/"
"""
        )
        path = write_config(tmp_path, knowledge_dir, section)
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": "123456:ABCdefGhIJKlmnoPQRstuVWXyz-doctor",
            "SLACK_BOT_TOKEN": "xoxb-1111-2222-doctor-bot-token",
            "SLACK_APP_TOKEN": "xapp-1-A0APP-3333-doctor-app-token",
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "doctor", "--config", str(path)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        server.terminate()
        server.wait()
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"✗ {platform}: " in done.stdout and f"{platform}.api_base_url" in done.stdout
    assert "could not finish" not in done.stdout
    assert done.stderr == "", done.stderr


@pytest.fixture
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder the service user may not enter (mode 700, another owner): on Python
    3.11 `Path.exists()` and `is_dir()` raise PermissionError for what is in it. Only
    root, which these tests may run as, gets in: simulated, stat of anything in it is
    refused."""
    folder = tmp_path / "locked"
    folder.mkdir()
    real_stat = pathlib.Path.stat

    def stat(self: pathlib.Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if str(self).startswith(str(folder) + os.sep):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(pathlib.Path, "stat", stat)
    return folder


def test_folders_doctor_may_not_enter_are_findings(
    tmp_path: Path, knowledge_dir: Path, locked: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database's, the log file's and the knowledge folder: each a ✗ naming its
    setting, never a traceback."""
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text()
    for name in ("candor.sqlite3", "candor.log"):
        text = text.replace(str(tmp_path / name), str(locked / "deeper" / name))
    path.write_text(text.replace(str(knowledge_dir), str(locked / "knowledge")))
    code = main(["doctor", "--config", str(path)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "✗ database: opens: cannot look at " in out and "Permission denied" in out, out
    assert "✗ logging: file: [logging] file " in out, out
    assert "✗ knowledge: kb check: cannot look at the knowledge folder" in out, out


@pytest.mark.parametrize("storage", ["/", "data/", "data", "."])
def test_a_storage_path_that_is_a_folder_is_named_by_every_command(
    tmp_path: Path, knowledge_dir: Path, capsys: pytest.CaptureFixture[str], storage: str
) -> None:
    """`path = "/"` broke the lock's name (a traceback), a folder gave "disk I/O error
    (restore it from a backup)": it is a config error naming [storage] path, for
    doctor (exit 1) and for `candor run` (exit 2) alike."""
    (tmp_path / "data").mkdir()
    path = write_config(tmp_path, knowledge_dir)
    path.write_text(path.read_text().replace(str(tmp_path / "candor.sqlite3"), storage))
    assert main(["doctor", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("✗ config: loads: ") and "storage.path: " in out, out
    assert "is a folder: give the database file's path" in out
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "storage.path: " in err and "is a folder" in err and "Traceback" not in err


def test_a_log_file_candor_run_cannot_write_is_a_finding(
    tmp_path: Path, knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[logging] file = "/etc/hostname/candor.log"`: `candor run` says "cannot write
    the log file"; doctor says it first. "" (the terminal only) and a folder yet to be
    made are fine."""
    path = write_config(tmp_path, knowledge_dir)
    good = path.read_text()
    (tmp_path / "a-file").write_text("not a folder")
    for file, ok, said in [
        (tmp_path / "a-file" / "candor.log", False, "is a file, so the folder"),
        (tmp_path / "a-folder-too", False, "is a folder: give a file's path"),
        (tmp_path / "not" / "yet" / "candor.log", True, str(tmp_path / "not")),
        ("", True, "none: the log goes to the terminal only"),
    ]:
        (tmp_path / "a-folder-too").mkdir(exist_ok=True)
        path.write_text(good.replace(str(tmp_path / "candor.log"), str(file)))
        code = main(["doctor", "--config", str(path)])
        out = capsys.readouterr().out
        [line] = [line for line in out.splitlines() if line.startswith(("✓ logging", "✗ logging"))]
        assert line.startswith("✓" if ok else "✗") and said in line, line
        assert code == (0 if ok else 1), out
