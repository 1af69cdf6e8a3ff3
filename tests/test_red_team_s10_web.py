"""Red team, session 10: the reports, their CSV, the dashboard's new pages and the web
hardening, attacked through the real engine, store and web server."""

from __future__ import annotations

import asyncio
import csv
import errno
import io
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Candor
from bot.cli import main
from bot.model import Identity
from bot.report import report_command, report_from
from tests.conftest import Agent, Clock, Customer, RecordingSender, case_of, handed_over
from tests.test_cli_kb_report import _cases
from tests.test_link import button, code_in, last_to
from tests.test_web_signin import PrivateDesk, link_for, server, sign_in, with_session

Factory = Callable[[str], Customer]


@pytest.fixture
def desk(app: Candor) -> PrivateDesk:
    recorded = PrivateDesk()
    app.outbox.register(recorded)
    return recorded


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(server(app, clock).app())) as test_client:
        yield test_client


async def _csv(app: Candor, clock: Clock, tmp_path: Path) -> list[dict[str, str]]:
    out = io.StringIO()
    assert await report_command(app.config.storage.path, None, False, out, clock(), None, "-") == 0
    return list(csv.DictReader(io.StringIO(out.getvalue())))


async def test_finding_1_a_case_merged_by_link_is_not_the_bot_alone(
    customer_factory: Factory, app: Candor, sender: RecordingSender, clock: Clock
) -> None:
    """Ann asks a person for help on one chat, then on another chat writes again
    and joins the two with /link: the second chat's open case is merged into the
    first (its events move there) and closed. Nothing was solved by the bot on it:
    it must not raise "handled by the bot alone"."""
    ann, other = customer_factory("ann"), customer_factory("ann-elsewhere")
    other.identity = Identity("test", "w2", "ann-elsewhere")
    await ann.send("my invoice is billed twice")
    await handed_over(ann)
    clock.advance(minutes=5)
    await other.send("hello, it's about the invoice again")
    [given] = await ann.send("/link")
    await other.send(f"/link {code_in(given)}")
    await other.press(button(last_to(sender, other), "Yes"))
    await ann.press(button(last_to(sender, ann), "Yes"))
    a = await app.store.customer_by_identity(ann.identity)
    b = await app.store.customer_by_identity(other.identity)
    assert a is not None and b is not None and a.id == b.id  # joined
    report = await report_from(app.store, None, clock())
    assert report["cases_opened"] == 2
    assert report["bot_alone"] == 0, report
    rows = await _csv(app, clock, Path())
    assert [r["bot_alone"] for r in rows] == ["0", "0"]


async def test_a_customer_who_forgot_leaves_anonymous_rows_and_no_bot_success(
    customer_factory: Factory, app: Candor, clock: Clock
) -> None:
    """Checked fine (plus finding 1's rule): /forget keeps counts only. Their CSV row
    says nothing of them (no reason in their words, no channel), and the open case
    the erasure closed is no success of the bot's."""
    zed = customer_factory("zed")
    await zed.send("=HYPERLINK(\"http://evil.example\",\"my card 4111\")")
    await handed_over(zed, "/human my card 4111 was charged")
    clock.advance(minutes=1)
    await Agent(app, "maria").press(f"desk:claim:{(await case_of(app, zed)).id}")
    yan = customer_factory("yan")
    await yan.send("is there a free trial")
    for who in (zed, yan):
        await who.send("/forget")
        await who.press("forget:yes")
    rows = await _csv(app, clock, Path())
    assert len(rows) == 2
    whole = repr(rows)
    for personal in ("4111", "HYPERLINK", "zed", "Zed", "yan", "Yan", "trial"):
        assert personal not in whole, (personal, rows)
    assert [r["bot_alone"] for r in rows] == ["0", "0"]
    assert [r["first_agent"] for r in rows] == ["Maria", ""]  # anonymous counts stay
    report = await report_from(app.store, None, clock())
    assert (report["cases_opened"], report["bot_alone"]) == (2, 0)


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("shape", [["--csv"], ["--json"], []])
def test_finding_2_a_full_disk_on_stdout_is_a_clear_line_not_a_traceback(
    shape: list[str],
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`candor report --csv > /dev/full` (a full disk, a closed pipe) printed a
    traceback; `--csv /dev/full` already said why in a line."""
    from bot import config as config_module

    asyncio.run(_cases(config_module.load(config_path).storage.path))
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    assert main(["report", "--config", str(config_path), *shape]) == 1
    err = capsys.readouterr().err
    assert "candor: cannot print the report (No space left on device)" in err
    assert "Traceback" not in err
    to_file = ["report", "--config", str(config_path), "--csv", "/dev/full"]
    if Path("/dev/full").exists():
        assert main(to_file) == 2
        assert "--csv /dev/full: cannot write it (No space left on device)" in (
            capsys.readouterr().err
        )
