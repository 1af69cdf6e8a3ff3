"""`candor doctor`'s checks of `[web]` (bot/web/checks.py): the address the links
point at, the port, who can sign in, the status page, the session cookie."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from bot.doctor import Finding, examine, passed
from tests.conftest import write_config
from tests.test_doctor import free_port


async def web(
    tmp_path: Path, knowledge_dir: Path, section: str, desk: str | None = None
) -> list[Finding]:
    more = {} if desk is None else {"desk": desk}
    path = write_config(tmp_path, knowledge_dir, extra=f"[web]\n{section}\n", **more)
    return [f for f in await examine(path) if f.area == "web"]


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


async def test_a_good_web_section_passes_each_check(tmp_path: Path, knowledge_dir: Path) -> None:
    port = free_port()
    found = by_check(
        await web(
            tmp_path,
            knowledge_dir,
            f'enabled = true\nport = {port}\npublic_url = "https://support.example.com"',
        )
    )
    assert all(f.ok for f in found.values()), [f.line() for f in found.values()]
    assert set(found) == {"public_url", "cookie", "listen", "agents", "status page"}
    assert found["listen"].detail == f"127.0.0.1:{port} is free"
    assert found["cookie"].detail.startswith("__Host-candor_session: Secure")
    assert found["agents"].detail == "2 may sign in ([desk] agents)"
    assert found["status page"].detail == "https://support.example.com/status"


async def test_no_web_section_no_web_checks(tmp_path: Path, knowledge_dir: Path) -> None:
    path = write_config(tmp_path, knowledge_dir)
    assert [f for f in await examine(path) if f.area == "web"] == []


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://support.example.com", True),
        ("http://192.0.2.7:8080", True),
        ("http://localhost:8080", False),
        ("http://127.0.0.1:8080", False),
        ("http://[::1]:8080", False),
        ("https://support.example.com", False),
    ],
)
async def test_public_url_over_http_is_a_warning_but_on_this_machine(
    tmp_path: Path, knowledge_dir: Path, url: str, warned: bool
) -> None:
    found = by_check(await web(tmp_path, knowledge_dir, f'public_url = "{url}"'))
    for check in ("public_url", "cookie"):
        assert found[check].ok is not warned, found[check].line()
        assert not found[check].needed or found[check].ok  # a warning, not a failure
    if warned:
        assert "without TLS" in found["public_url"].detail
        assert "cannot be __Host-candor_session" in found["cookie"].detail


async def test_a_port_in_use_says_by_whom_and_fails_when_run_serves_it(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for enabled, needed in (("true", True), ("false", False)):
            folder = tmp_path / enabled
            folder.mkdir()
            found = by_check(
                await web(folder, knowledge_dir, f"enabled = {enabled}\nport = {port}")
            )
            listen = found["listen"]
            assert not listen.ok and listen.needed is needed, listen.line()
            assert f"127.0.0.1:{port} is in use" in listen.detail
            if sys.platform == "linux":  # /proc says who: this very process holds it
                assert f"pid {os.getpid()}:" in listen.detail, listen.detail
            assert "change [web] port" in listen.detail
            # `candor run` would serve it: doctor's exit code is 1
            assert passed(await examine(folder / "config.toml")) is not needed


async def test_an_address_not_of_this_machine_cannot_be_listened_on(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    found = by_check(await web(tmp_path, knowledge_dir, 'enabled = true\nlisten = "192.0.2.7"'))
    assert not found["listen"].ok and found["listen"].needed
    assert "cannot listen at 192.0.2.7:8080" in found["listen"].detail
    assert "Traceback" not in found["listen"].detail


async def test_no_agent_configured_means_nobody_can_sign_in(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    found = by_check(
        await web(tmp_path, knowledge_dir, f"enabled = true\nport = {free_port()}", desk="")
    )
    agents = found["agents"]
    assert not agents.ok and not agents.needed
    assert "nobody can sign in" in agents.detail and "[desk] agents" in agents.detail
