"""`candor doctor`'s Slack checks, against the fake Web API: each passes on a good
config and names the problem, and what to do, on a broken one."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import json
import os
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.slack.scopes import SCOPES
from bot import config as config_module
from bot.cli import main
from bot.doctor import Context, Finding, examine, passed
from bot.platforms import discover
from bot.store.sqlite.sender import lock_path
from tests.conftest import ROOT, write_config
from tests.fakes.garbage import KINDS, Garbage
from tests.fakes.slack import FakeSlack

BOT_TOKEN = "xoxb-1111-2222-doctor-bot-token"
APP_TOKEN = "xapp-1-A0APP-3333-doctor-app-token"
SIGNING_SECRET = "doctor-signing-secret-0123456789"
TRIAGE = "C0TRIAGE"
MARIA = "U0MARIA"
DESK = f"""
channels = ["slack"]
agents = [{{ name = "Maria", slack = "{MARIA}" }}]
"""
WRITES = ("chat.", "conversations.join", "conversations.open", "reactions.", "files.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the README names, as it names them."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as server:
        server.add_channel(TRIAGE, name="triage", is_private=True)
        yield server


def slack_config(
    tmp_path: Path,
    knowledge_dir: Path,
    api_url: str,
    *,
    mode: str = "http",
    port: int | None = None,
    triage: str = TRIAGE,
    more: str = "",
) -> Path:
    secret = (
        'app_token = "env:SLACK_APP_TOKEN"'
        if mode == "socket"
        else 'signing_secret = "env:SLACK_SIGNING_SECRET"'
    )
    extra = f"""
[slack]
enabled = true
mode = "{mode}"
bot_token = "env:SLACK_BOT_TOKEN"
{secret}
api_base_url = "{api_url}"
listen = "127.0.0.1"
port = {port or free_port()}
triage_channel = "{triage}"
{more}
"""
    return write_config(tmp_path, knowledge_dir, extra, desk=DESK)


async def slack_findings(path: Path, call_seconds: float = 10.0) -> list[Finding]:
    return [f for f in await examine(path, call_seconds=call_seconds) if f.area == "slack"]


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for finding in findings:
        found.setdefault(finding.check, []).append(finding)
    return found


def wrote_nothing(fake: FakeSlack) -> None:
    """The checks only read: nothing a customer or agent could see, no socket opened."""
    assert [c.method for c in fake.calls if c.method.startswith(WRITES)] == []
    assert fake.sockets == []


# -- a good config ----------------------------------------------------------------------


async def test_http_mode_passes_on_a_good_config(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    port = free_port()
    findings = await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url, port=port))
    checks = by_check(findings)
    assert [f.detail for f in checks["bot token"]] == ["Candor Test (T0HOME) as @candor"]
    [scopes] = checks["scopes"]
    assert scopes.ok and "chat:write" in scopes.detail and "commands" not in scopes.detail
    [triage] = checks["triage channel"]
    assert triage.ok and triage.detail == f"#triage ({TRIAGE}): the bot is in it"
    [listen] = checks["listen address"]
    assert listen.ok and listen.detail == f"127.0.0.1:{port} is free for `candor run`"
    # what cannot be checked from here is said, as a warning
    [url] = checks["request URL"]
    assert not url.ok and not url.needed and "https://YOUR-HOST/slack/events" in url.detail
    assert passed(findings)
    assert [c.method for c in fake.calls] == ["auth.test", "conversations.info"]
    wrote_nothing(fake)


async def test_socket_mode_passes_without_connecting(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    path = slack_config(tmp_path, knowledge_dir, fake.api_url, mode="socket")
    findings = await slack_findings(path)
    assert all(f.ok for f in findings), findings
    [socket_mode] = by_check(findings)["Socket Mode"]
    assert socket_mode.detail.startswith("slack.app_token opens a connection")
    assert "listen address" not in by_check(findings)
    assert [c.method for c in fake.calls] == [
        "auth.test",
        "conversations.info",
        "apps.connections.open",
    ]
    wrote_nothing(fake)  # the URL was handed out, never connected to


async def test_a_slash_command_needs_the_commands_scope(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    without = [s.name for s in SCOPES if s.name != "commands"]
    async with FakeSlack(bot_token=BOT_TOKEN, scopes=without) as fake:
        fake.add_channel(TRIAGE, name="triage")
        path = slack_config(tmp_path, knowledge_dir, fake.api_url, more='slash_command = "/candor"')
        [scopes] = by_check(await slack_findings(path))["scopes"]
    assert not scopes.ok
    assert scopes.detail.startswith("commands is not granted (for the slash command")


# -- broken configs ---------------------------------------------------------------------


async def test_a_bad_bot_token_is_named_and_the_checks_that_need_it_skipped(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-9999-a-token-slack-refuses")
    async with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as fake:
        fake.add_channel(TRIAGE, name="triage")
        path = slack_config(tmp_path, knowledge_dir, fake.api_url, mode="socket")
        findings = await slack_findings(path)
    checks = by_check(findings)
    [token] = checks["bot token"]
    assert not token.ok and token.needed
    assert token.detail.startswith("slack.bot_token is refused: invalid_auth: copy the Bot User")
    [skipped] = checks["other checks"]
    assert not skipped.needed  # one line says why, not a cascade of failures
    assert skipped.detail == (
        "skipped: the scopes and the triage channel need a bot token Slack accepts"
    )
    assert "scopes" not in checks and "triage channel" not in checks
    assert [c.method for c in fake.calls] == ["auth.test", "apps.connections.open"]
    assert checks["Socket Mode"][0].ok  # the app-level token is another token: checked
    assert not passed(findings)


async def test_missing_scopes_are_named_each_with_what_to_do(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    granted = [s.name for s in SCOPES if s.name not in ("im:write", "files:write")]
    async with FakeSlack(bot_token=BOT_TOKEN, scopes=granted) as fake:
        fake.add_channel(TRIAGE, name="triage")
        findings = await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url))
    scopes = by_check(findings)["scopes"]
    assert [f.detail.split(" ")[0] for f in scopes] == ["im:write", "files:write"]
    for finding in scopes:
        assert not finding.ok and finding.needed
        assert "is not granted (for " in finding.detail
        assert finding.detail.endswith(
            "add it under OAuth & Permissions → Bot Token Scopes, then reinstall the app"
        )
    assert "conversations.open" in scopes[0].detail  # why it is needed
    assert not passed(findings)


async def test_the_bot_not_in_the_triage_channel(tmp_path: Path, knowledge_dir: Path) -> None:
    async with FakeSlack(bot_token=BOT_TOKEN) as fake:
        fake.add_channel(TRIAGE, name="triage", is_member=False)  # public: Slack shows it
        findings = await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url))
    [triage] = by_check(findings)["triage channel"]
    assert not triage.ok and triage.needed
    assert triage.detail == (
        f"slack.triage_channel {TRIAGE} (#triage): the bot is not in it: invite the bot"
        " (`/invite @candor` in the channel)"
    )
    assert not passed(findings)


@pytest.mark.parametrize("private", [True, False], ids=["private, bot not in it", "no such id"])
async def test_a_triage_channel_the_bot_cannot_see(
    tmp_path: Path, knowledge_dir: Path, private: bool
) -> None:
    async with FakeSlack(bot_token=BOT_TOKEN) as fake:
        if private:
            fake.add_channel(TRIAGE, name="triage", is_private=True, is_member=False)
        findings = await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url))
    [triage] = by_check(findings)["triage channel"]
    assert not triage.ok
    assert triage.detail.startswith(
        f"slack.triage_channel {TRIAGE}: not found, or the bot cannot see it: invite the bot"
        " (`/invite @candor` in the channel), and check the id"
    )


async def test_an_archived_triage_channel(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.channels[TRIAGE]["is_archived"] = True
    [triage] = by_check(await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url)))[
        "triage channel"
    ]
    assert not triage.ok and "is archived: unarchive it" in triage.detail


async def test_a_triage_channel_the_token_may_not_look_at(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    granted = [s.name for s in SCOPES if s.name != "groups:read"]
    async with FakeSlack(bot_token=BOT_TOKEN, scopes=granted) as fake:
        fake.add_channel(TRIAGE, name="triage", is_private=True)
        findings = await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url))
    [triage] = by_check(findings)["triage channel"]
    assert triage.detail.startswith(
        f"cannot look at slack.triage_channel {TRIAGE}: the bot token lacks groups:read:"
        " add it under OAuth & Permissions → Bot Token Scopes, then reinstall the app;"
        " or check yourself that the bot is in the channel"
    )
    # doctor's own need (`candor run` never calls conversations.info): a warning
    assert not triage.needed
    [scope] = [f for f in by_check(findings)["scopes"] if not f.ok]
    assert scope.detail.startswith("groups:read is not granted") and not scope.needed
    assert passed(findings), [f.line() for f in findings if not f.ok]


async def test_a_bad_app_token(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0APP-wrong-app-token")
    path = slack_config(tmp_path, knowledge_dir, fake.api_url, mode="socket")
    findings = await slack_findings(path)
    [socket_mode] = by_check(findings)["Socket Mode"]
    assert not socket_mode.ok and socket_mode.needed
    wanted = "slack.app_token is refused: invalid_auth"
    assert socket_mode.detail.startswith(wanted + ": turn on Socket Mode, and create an app-level")
    assert "connections:write (Basic Information → App-Level Tokens)" in socket_mode.detail
    assert all(f.ok for f in findings if f is not socket_mode)
    wrote_nothing(fake)


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_slack_unreachable_is_one_line_naming_the_host(
    tmp_path: Path, knowledge_dir: Path, mode: str
) -> None:
    closed = free_port()  # nothing listens there
    path = slack_config(tmp_path, knowledge_dir, f"http://127.0.0.1:{closed}/api/", mode=mode)
    findings = await slack_findings(path)
    failed = [f for f in findings if not f.ok and f.needed]
    assert len(failed) == 1, findings
    assert failed[0].check == "reachable"
    assert failed[0].detail.startswith("cannot reach 127.0.0.1: ")
    assert failed[0].detail.endswith(
        "check the network (a proxy: HTTPS_PROXY) and slack.api_base_url"
    )
    assert by_check(findings)["other checks"][0].detail.startswith("skipped: ")


async def test_slack_that_does_not_answer_in_time(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.hang_next("auth.test")
    findings = await slack_findings(
        slack_config(tmp_path, knowledge_dir, fake.api_url), call_seconds=0.5
    )
    [reach] = by_check(findings)["reachable"]
    assert reach.detail.startswith("cannot reach 127.0.0.1: no answer within 0.5 seconds")


async def test_slack_refusing_for_a_while_is_not_a_bad_token(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.fail_next("auth.test", error="internal_error", status=500)
    [token] = by_check(await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url)))[
        "bot token"
    ]
    assert not token.ok
    assert token.detail.startswith("Slack did not say whether slack.bot_token works: auth.test:")


async def test_no_scopes_header_is_a_warning(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    """A proxy may drop Slack's headers: the scopes are then not known, which is said."""
    fake.scopes_header = False
    path = slack_config(tmp_path, knowledge_dir, fake.api_url)
    findings = await slack_findings(path)
    [scopes] = by_check(findings)["scopes"]
    assert not scopes.ok and not scopes.needed
    assert scopes.detail.startswith("Slack sent no x-oauth-scopes header")
    assert passed(findings)


# -- the listen address -----------------------------------------------------------------


@contextlib.contextmanager
def listening(port: int) -> Iterator[socket.socket]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        yield held


@contextlib.contextmanager
def running_candor(database: Path) -> Iterator[None]:
    """Hold the lock a `candor run` holds on its database."""
    database.touch()  # (what is in it is the database checks' business)
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


async def test_a_listen_address_in_use(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    port = free_port()
    path = slack_config(tmp_path, knowledge_dir, fake.api_url, port=port)
    with listening(port):
        [listen] = by_check(await slack_findings(path))["listen address"]
    assert not listen.ok and listen.needed
    assert listen.detail == (
        f"127.0.0.1:{port} is in use by another program: stop it, or set slack.listen and"
        " slack.port to a free address"
    )


async def test_the_listen_address_of_the_running_candor_is_its_own(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    port = free_port()
    path = slack_config(tmp_path, knowledge_dir, fake.api_url, port=port)
    with listening(port), running_candor(tmp_path / "candor.sqlite3"):
        [listen] = by_check(await slack_findings(path))["listen address"]
    assert listen.ok and listen.detail == f"127.0.0.1:{port} is in use by the running `candor run`"


async def test_a_listen_address_not_of_this_machine(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = config_module.load(slack_config(tmp_path, knowledge_dir, fake.api_url))
    [platform] = [p for p in discover() if p.name == "slack"]
    settings = config.settings_for(platform).model_copy(update={"listen": "192.0.2.1"})
    assert platform.doctor is not None
    found = [f async for f in platform.doctor(settings, Context(config=config, running=False))]
    [listen] = by_check(found)["listen address"]
    assert not listen.ok
    assert listen.detail.startswith("cannot listen on 192.0.2.1:")
    assert listen.detail.endswith("set slack.listen to an address of this machine")


# -- the command ------------------------------------------------------------------------


def run_doctor(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["doctor", *args])
    return code, out.getvalue()


async def test_candor_doctor_exit_codes_and_lines(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    path = slack_config(tmp_path, knowledge_dir, fake.api_url)
    code, out = await asyncio.to_thread(run_doctor, "--config", str(path))
    assert code == 0, out
    assert "✓ slack: bot token: Candor Test (T0HOME) as @candor" in out.splitlines()
    assert "! slack: request URL: cannot be checked from here" in out

    fake.channels[TRIAGE]["is_member"] = False
    fake.channels[TRIAGE]["is_private"] = False
    code, out = await asyncio.to_thread(run_doctor, "--config", str(path))
    assert code == 1
    assert f"✗ slack: triage channel: slack.triage_channel {TRIAGE} (#triage): the bot is" in out


async def test_no_secret_in_any_finding(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """slack-sdk sends the app-level token in the URL: whatever fails, no token shows."""
    wrong_bot, wrong_app = "xoxb-5555-leaky-bot-token-value", "xapp-1-leaky-app-token-value"
    monkeypatch.setenv("SLACK_BOT_TOKEN", wrong_bot)
    monkeypatch.setenv("SLACK_APP_TOKEN", wrong_app)
    path = slack_config(tmp_path, knowledge_dir, fake.api_url, mode="socket")
    fake.reset_next("apps.connections.open", count=None)
    code, out = await asyncio.to_thread(run_doctor, "--config", str(path), "--json")
    assert code == 1
    checks = json.loads(out)["checks"]
    assert any(c["area"] == "slack" and not c["ok"] for c in checks)
    for secret in (wrong_bot, wrong_app, SIGNING_SECRET, BOT_TOKEN, APP_TOKEN):
        assert secret not in out


# -- the README -------------------------------------------------------------------------


def test_the_readme_lists_exactly_the_scopes_candor_needs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### 1. Create the Slack app", 1)[1].split("\n### ", 1)[0]
    step = re.search(r"^2\. \*\*OAuth & Permissions\*\*.*?(?=^\d\. )", section, re.S | re.M)
    assert step is not None, "step 2 of 'Create the Slack app' names the scopes"
    always, _, optional = " ".join(step.group(0).split()).partition("(and ")
    listed = re.findall(r"`([a-z.]+:[a-z.]+)`", always)
    assert listed == [s.name for s in SCOPES if not s.slash_command_only]
    slash = [s.name for s in SCOPES if s.slash_command_only]
    assert re.findall(r"`([a-z:.]+)` if you add a slash command", optional) == slash
    # the optional ones are said to be, each with what is lost without it
    said = optional.partition("optional:")[2]
    assert said, "step 2 says which scopes are optional"
    assert sorted(set(re.findall(r"`([a-z]+:[a-z]+)`", said))) == sorted(
        s.name for s in SCOPES if s.optional
    )


# -- scopes Candor works without ----------------------------------------------------------


async def test_a_private_triage_channel_needs_no_channels_read(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """The triage channel is private; the app has groups:read (doctor sees the bot in
    it) but not channels:read. `candor run` calls nothing that needs channels:read
    (conversations.info is doctor's alone): a warning saying what is lost, exit 0."""
    granted = [s.name for s in SCOPES if s.name != "channels:read"]
    async with FakeSlack(bot_token=BOT_TOKEN, scopes=granted) as fake:
        fake.add_channel(TRIAGE, name="triage", is_private=True)
        findings = await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url))
    checks = by_check(findings)
    assert [f.ok for f in checks["triage channel"]] == [True], [f.line() for f in findings]
    assert passed(findings), [f.line() for f in findings if not f.ok]
    granted_line, [warning] = checks["scopes"][0], checks["scopes"][1:]
    assert granted_line.ok and "channels:read" not in granted_line.detail
    assert warning.detail.startswith("channels:read is not granted") and not warning.needed
    assert "cannot check a public triage channel" in warning.detail


async def test_without_team_read_cards_say_organisation_unknown_a_warning(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.scopes.remove("team:read")
    findings = await slack_findings(slack_config(tmp_path, knowledge_dir, fake.api_url))
    assert passed(findings), [f.line() for f in findings if not f.ok]
    [warning] = [f for f in by_check(findings)["scopes"] if not f.ok]
    assert warning.line().startswith("! slack: scopes: team:read is not granted")
    assert "organisation unknown" in warning.detail


def test_the_optional_scopes_are_what_candor_run_works_without() -> None:
    """team:read (the card's organisation, which may be unknown), channels:read and
    groups:read (doctor's own conversations.info); every other scope is a method or
    event `candor run` needs."""
    assert sorted(s.name for s in SCOPES if s.optional) == [
        "channels:read",
        "groups:read",
        "team:read",
    ]


# -- answers that are not Slack's ---------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    ("mode", "method"),
    [
        ("http", "auth.test"),
        ("http", "conversations.info"),
        ("socket", "auth.test"),
        ("socket", "apps.connections.open"),
    ],
)
async def test_an_answer_that_is_not_slacks_is_a_finding_naming_api_base_url(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, mode: str, method: str, kind: str
) -> None:
    """Whatever answers in Slack's place (a captive portal, a proxy, a wrong
    api_base_url), for whichever call doctor makes: a ✗ naming slack.api_base_url,
    never a probe that could not finish; the checks that need no answer still run."""
    with Garbage(fake.url, [method], kind) as garbage:
        path = slack_config(tmp_path, knowledge_dir, garbage.url(fake.api_url), mode=mode)
        findings = await slack_findings(path, call_seconds=5)
    lines = [f.line() for f in findings]
    assert set(garbage.served) == {method}, lines  # slack-sdk retries a closed connection
    assert not any(f.check == "checks" for f in findings), lines
    bad = [f for f in findings if not f.ok and f.needed]
    assert bad and "slack.api_base_url" in bad[-1].detail, lines
    if mode == "http":
        assert [f.ok for f in by_check(findings)["listen address"]] == [True], lines
    assert all(len(f.detail) < 600 for f in findings)  # a huge answer is not repeated
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in " ".join(lines)
