"""`candor web`: serves the status page alone until a signal stops it; a port
that is taken is a clear error."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import write_config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_candor_web_serves_the_status_page_until_stopped(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    port = _free_port()
    config = write_config(tmp_path, knowledge_dir, extra=f"[web]\nport = {port}\n")
    with subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        try:
            seen = []
            for line in process.stderr:  # ready when it says so (no sleeping)
                seen.append(line)
                if "candor web is running" in line:
                    break
            assert any(f"http://127.0.0.1:{port}" in line for line in seen), seen
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as answer:
                assert answer.status == 200
                assert "All systems normal." in answer.read().decode("utf-8")
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_a_port_that_is_taken_is_a_usage_error(tmp_path: Path, knowledge_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, knowledge_dir, extra=f"[web]\nport = {port}\n")
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "web", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"web: cannot listen at 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


async def test_candor_run_serves_the_web_pages_when_enabled(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    from adapters.web.server import WebServer
    from bot import config as config_module
    from bot.app import Candor
    from bot.cli import _web

    for enabled, names in (("true", ["web"]), ("false", [])):
        folder = tmp_path / enabled
        folder.mkdir()
        path = write_config(folder, knowledge_dir, extra=f"[web]\nenabled = {enabled}\n")
        config = config_module.load(path)
        async with Candor(config) as app:
            served = _web(config, app)
            assert [name for name, _ in served] == names
            assert all(isinstance(server, WebServer) for _, server in served)
            for _, server in served:
                assert isinstance(server, WebServer) and server.store is app.store


def test_candor_run_with_only_the_web_enabled_serves_it(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """No Telegram, no Slack: `candor run` serves the web pages, and says so."""
    port = _free_port()
    extra = f"[web]\nenabled = true\nport = {port}\n"
    config = write_config(tmp_path, knowledge_dir, extra=extra)
    with subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        try:
            seen = []
            for line in process.stderr:  # ready when it says so (no sleeping)
                seen.append(line)
                if "candor is running" in line:
                    break
            said = "".join(seen)
            assert f"serving the web pages only at http://127.0.0.1:{port}" in said, seen
            assert "candor is running: web" in said, seen
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as answer:
                assert answer.status == 200
                assert "All systems normal." in answer.read().decode("utf-8")
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_candor_run_with_nothing_to_run_names_the_commands_that_work(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(write_config(tmp_path, knowledge_dir)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    for named in ("[web] enabled = true", "`candor chat`", "`candor desk`", "`candor web`"):
        assert named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
