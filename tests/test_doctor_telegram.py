"""`candor doctor`'s Telegram checks (issue 15, "New: `candor doctor`"), against the
fake Bot API: each passes on a good config and names the problem, and what to do,
on a broken one (a refused token, a missing group, topics off, the bot without the
right to manage topics, an agent not in the group, the webhook, the listen port,
Telegram unreachable). The probe only reads: it never posts, pins or changes the
webhook."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.doctor import Finding, examine, passed
from bot.store.sqlite.sender import lock_path
from tests.conftest import write_config
from tests.fakes.garbage import KINDS, Garbage
from tests.fakes.telegram import FakeTelegram, TelegramApiError

TOKEN = "123456:TEST-doctor_token"
STAFF = -1001234567890
MARIA, SAM = 501, 502
READS = {"getMe", "getWebhookInfo", "getChat", "getChatMember"}
DESK = f"""
channels = ["telegram"]
agents = [
  {{ name = "Maria", telegram = {MARIA} }},
  {{ name = "Sam", telegram = {SAM} }},
]
"""


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """Telegram as the README leaves it: a forum supergroup, the bot an admin (with the
    right to manage topics), both agents in it."""
    async with FakeTelegram(TOKEN, username="candor_bot") as server:
        server.set_chat(STAFF, type="supergroup", title="Support staff", is_forum=True)
        server.set_member(STAFF, server.bot_user["id"], "administrator")
        server.set_member(STAFF, MARIA, "member")
        server.set_member(STAFF, SAM, "creator")
        yield server


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)


def config(
    tmp_path: Path,
    knowledge: Path,
    fake: FakeTelegram | None,
    *,
    base_url: str = "",
    desk: str = DESK,
    **keys: Any,
) -> Path:
    settings: dict[str, Any] = {
        "enabled": True,
        "token": "env:TELEGRAM_BOT_TOKEN",
        "api_base_url": base_url or (fake.base_url if fake else ""),
        "staff_group_id": STAFF,
        "webhook_url": "https://support.example.com/telegram",
        "webhook_secret": "s3cret-token-for-tests",
        **keys,
    }
    lines = ["[telegram]"]
    for key, value in settings.items():
        if value is None:
            continue
        shown = str(value).lower() if isinstance(value, bool) else value
        lines.append(f'{key} = "{shown}"' if isinstance(value, str) else f"{key} = {shown}")
    return write_config(tmp_path, knowledge, "\n".join(lines) + "\n", desk=desk)


async def telegram(path: Path, *, seconds: float = 5.0) -> list[Finding]:
    findings = await examine(path, call_seconds=seconds)
    return [f for f in findings if f.area == "telegram"]


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for finding in findings:
        found.setdefault(finding.check, []).append(finding)
    return found


def failed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok and f.needed]


def only_read(fake: FakeTelegram) -> None:
    assert {call.method for call in fake.calls} <= READS, [c.method for c in fake.calls]


@contextlib.contextmanager
def candor_running(path: Path) -> Iterator[None]:
    """Hold the lock a `candor run` holds on the config's database."""
    database = path.parent / "candor.sqlite3"
    database.touch()
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a good deployment ---------------------------------------------------------------------


async def test_a_good_polling_deployment_passes_every_check_and_only_reads(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    findings = await telegram(config(tmp_path, knowledge_dir, fake))
    checks = by_check(findings)
    assert list(checks) == ["token", "webhook", "staff group", "bot's rights", "agents"]
    assert all(f.ok for f in findings), findings
    assert "@candor_bot" in checks["token"][0].detail
    assert "“Support staff”" in checks["staff group"][0].detail
    assert "topics on" in checks["staff group"][0].detail
    assert "all 2" in checks["agents"][0].detail
    only_read(fake)
    asked = {c.params.get("user_id") for c in fake.calls_to("getChatMember")}
    assert asked == {fake.bot_user["id"], MARIA, SAM}


async def test_candor_doctor_exits_0_on_a_good_config_and_1_naming_topics_off(
    fake: FakeTelegram,
    tmp_path: Path,
    knowledge_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = config(tmp_path, knowledge_dir, fake)
    assert await cli_doctor(path) == 0
    out = capsys.readouterr().out
    assert "✓ telegram: token: @candor_bot" in out
    assert "all " in out.splitlines()[-1] and "checks passed" in out.splitlines()[-1]
    assert TOKEN not in out and TOKEN.split(":")[1] not in out

    fake.set_chat(STAFF, type="supergroup", title="Support staff", is_forum=False)
    assert await cli_doctor(path) == 1
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith("✗")]
    assert line.startswith("✗ telegram: staff group: “Support staff”")
    assert "turn on Topics in the group's settings, or set telegram.staff_topics = false" in line


async def cli_doctor(path: Path) -> int:
    """`candor doctor --config PATH`, as the command line runs it (its own event loop)."""
    import asyncio

    return await asyncio.to_thread(cli.main, ["doctor", "--config", str(path)])


async def test_json_output_names_each_telegram_check(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    import json

    from bot.doctor import render

    out = io.StringIO()
    render(await examine(config(tmp_path, knowledge_dir, fake)), True, out)
    payload = json.loads(out.getvalue())
    assert payload["ok"] is True
    mine = [c["check"] for c in payload["checks"] if c["area"] == "telegram"]
    assert mine == ["token", "webhook", "staff group", "bot's rights", "agents"]


# -- the token, and Telegram out of reach ---------------------------------------------------


async def test_a_refused_token_is_one_finding_and_the_rest_is_skipped(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "123456:WRONG-token_value"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
    findings = await examine(config(tmp_path, knowledge_dir, fake))
    [finding] = [f for f in findings if f.area == "telegram"]
    assert not finding.ok and finding.needed and finding.check == "token"
    assert finding.detail.startswith(
        "telegram.token is refused by Telegram: copy it again from @BotFather"
    )
    assert "skipped" in finding.detail
    assert not passed(findings)
    assert [c.method for c in fake.calls] == ["getMe"]
    assert all(wrong not in f.line() and "WRONG-token" not in f.line() for f in findings)


async def test_telegram_refusing_the_connection_is_one_finding_naming_the_host(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    port = free_port()  # nothing listens there now
    path = config(tmp_path, knowledge_dir, None, base_url=f"http://127.0.0.1:{port}/bot")
    [finding] = await telegram(path)
    assert not finding.ok and finding.needed
    assert f"cannot reach 127.0.0.1:{port} (telegram.api_base_url)" in finding.detail
    assert TOKEN.split(":")[1] not in finding.detail


async def test_telegram_not_answering_in_time_is_one_finding_naming_the_host(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.hang_next("getChat", count=None)
    findings = await telegram(config(tmp_path, knowledge_dir, fake), seconds=0.5)
    assert [f.check for f in findings] == ["token", "webhook", "staff group"]
    last = findings[-1]
    assert not last.ok and f"cannot reach 127.0.0.1:{fake.port}" in last.detail
    assert "no answer in time" in last.detail
    assert not fake.calls_to("getChatMember")  # nothing more was asked


# -- the staff group -----------------------------------------------------------------------


async def test_a_group_the_bot_is_not_in_says_add_the_bot_and_skips_the_groups_checks(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    missing = -1005555555555
    findings = await telegram(config(tmp_path, knowledge_dir, fake, staff_group_id=missing))
    [bad] = failed(findings)
    assert bad.check == "staff group"
    assert f"telegram.staff_group_id = {missing}: Telegram said “Chat not found”" in bad.detail
    assert "add the bot to the group, then put the id from Candor's log" in bad.detail
    assert [f.check for f in findings] == ["token", "webhook", "staff group"]


async def test_a_group_that_removed_the_bot_is_named(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.push_my_chat_member(MARIA, chat_id=STAFF, old_status="administrator", new_status="kicked")
    [bad] = failed(await telegram(config(tmp_path, knowledge_dir, fake)))
    assert "bot was kicked from the supergroup chat" in bad.detail
    assert "add the bot to the group" in bad.detail


async def test_a_group_that_became_a_supergroup_gives_its_new_id(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    old = -4001234567

    def migrated(params: dict[str, Any]) -> Any:
        raise TelegramApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": STAFF},
        )

    fake.on("getChat", migrated)
    [bad] = failed(await telegram(config(tmp_path, knowledge_dir, fake, staff_group_id=old)))
    assert f"set telegram.staff_group_id = {STAFF}" in bad.detail


async def test_a_basic_group_is_refused_with_topics_and_a_warning_without(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.set_chat(STAFF, type="group", title="Support staff", is_forum=False)
    [bad] = failed(await telegram(config(tmp_path, knowledge_dir, fake)))
    assert "is a basic group, not a supergroup: turn on Topics" in bad.detail

    findings = await telegram(config(tmp_path, knowledge_dir, fake, staff_topics=False))
    assert failed(findings) == []
    [warning] = [f for f in findings if not f.ok]
    assert "basic group" in warning.detail and warning.mark == "!"


async def test_topics_off_names_the_setting_and_staff_topics(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.set_chat(STAFF, type="supergroup", title="Support staff", is_forum=False)
    [bad] = failed(await telegram(config(tmp_path, knowledge_dir, fake)))
    assert bad.check == "staff group"
    assert "Topics off: turn on Topics in the group's settings" in bad.detail
    assert "or set telegram.staff_topics = false" in bad.detail
    findings = await telegram(config(tmp_path, knowledge_dir, fake, staff_topics=False))
    assert all(f.ok for f in findings), findings


async def test_an_admin_without_the_right_to_manage_topics_is_told_which_right(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.set_member(STAFF, fake.bot_user["id"], "administrator", can_manage_topics=False)
    [bad] = failed(await telegram(config(tmp_path, knowledge_dir, fake)))
    assert bad.check == "bot's rights"
    assert "turn on “Manage topics” for it" in bad.detail
    # without topics Candor needs no such right
    findings = await telegram(config(tmp_path, knowledge_dir, fake, staff_topics=False))
    assert all(f.ok for f in findings), findings


async def test_a_bot_that_is_no_admin_cannot_open_topics(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.set_member(STAFF, fake.bot_user["id"], "member")
    [bad] = failed(await telegram(config(tmp_path, knowledge_dir, fake)))
    assert "not an admin of the group: make it an admin with the right to manage topics" in (
        bad.detail
    )


async def test_without_topics_a_member_bot_must_be_allowed_to_post(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.set_chat(STAFF, type="supergroup", title="Support staff")
    fake.set_member(STAFF, fake.bot_user["id"], "restricted", can_send_messages=False)
    path = config(tmp_path, knowledge_dir, fake, staff_topics=False)
    [bad] = failed(await telegram(path))
    assert "the bot may not send messages in the group" in bad.detail

    # a member that may post, with privacy mode on (getMe's can_read_all_group_messages
    # is false): a warning, since agents' plain commands do not reach it
    fake.set_member(STAFF, fake.bot_user["id"], "member")
    findings = await telegram(path)
    assert failed(findings) == []
    [warning] = [f for f in findings if not f.ok]
    assert "privacy mode on" in warning.detail and "/setprivacy" in warning.detail


async def test_each_agent_missing_from_the_group_is_named_by_their_config_name(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    fake.set_member(STAFF, MARIA, "left")
    desk = f"""
channels = ["telegram"]
agents = [
  {{ name = "Maria", telegram = {MARIA} }},
  {{ name = "Sam", telegram = {SAM} }},
  {{ name = "Kim", telegram = 503 }},
  {{ name = "Lee", console = "lee" }},
]
"""
    bad = failed(await telegram(config(tmp_path, knowledge_dir, fake, desk=desk)))
    assert [f.check for f in bad] == ["agents", "agents"]
    assert bad[0].detail.startswith(f"Maria (telegram = {MARIA}) is not a member")
    assert bad[1].detail.startswith("Kim (telegram = 503) is not a member")  # never seen
    assert all("add them to it" in f.detail for f in bad)


async def test_a_desk_without_telegram_agents_is_refused(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    desk = 'channels = ["telegram"]\nagents = [{ name = "Lee", console = "lee" }]\n'
    [bad] = failed(await telegram(config(tmp_path, knowledge_dir, fake, desk=desk)))
    assert "no agent in [desk] agents has a telegram id" in bad.detail


async def test_a_staff_group_the_desk_does_not_use_is_a_warning_and_not_asked_about(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    desk = 'agents = [{ name = "Lee", console = "lee" }]\n'
    findings = await telegram(config(tmp_path, knowledge_dir, fake, desk=desk))
    assert failed(findings) == []
    [warning] = [f for f in findings if not f.ok]
    assert 'does not name "telegram"' in warning.detail
    assert not fake.calls_to("getChat")


# -- how updates come ----------------------------------------------------------------------


async def test_polling_with_a_webhook_set_warns_and_fails_while_candor_runs(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    await fake.bot().set_webhook("https://elsewhere.example.com/hook")
    fake.calls.clear()
    path = config(tmp_path, knowledge_dir, fake)
    findings = await telegram(path)
    [warning] = [f for f in findings if not f.ok]
    assert warning.check == "webhook" and not warning.needed
    assert "https://elsewhere.example.com/hook" in warning.detail and "409" in warning.detail
    assert "`candor run` deletes it at start" in warning.detail
    with candor_running(path):
        [bad] = failed(await telegram(path))
    assert bad.check == "webhook" and "409" in bad.detail
    only_read(fake)
    assert fake.webhook is not None  # left as it was


async def test_webhook_mode_not_set_yet_is_fine_before_candor_runs_and_not_while_it_runs(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    path = config(tmp_path, knowledge_dir, fake, mode="webhook", webhook_port=free_port())
    findings = await telegram(path)
    assert [f.check for f in findings] == [
        "token",
        "webhook",
        "listen",
        "staff group",
        "bot's rights",
        "agents",
    ]
    assert all(f.ok for f in findings), findings
    checks = by_check(findings)
    assert "not set yet: `candor run` sets it to https://support.example.com/telegram" in (
        checks["webhook"][0].detail
    )
    assert "is free for `candor run`" in checks["listen"][0].detail
    with candor_running(path):
        bad = failed(await telegram(path))
    assert [f.check for f in bad] == ["webhook"]
    assert "no webhook is set" in bad[0].detail
    only_read(fake)
    assert fake.webhook is None


async def test_webhook_mode_names_another_url_and_telegrams_last_error(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    wanted = "https://support.example.com/telegram"
    path = config(tmp_path, knowledge_dir, fake, mode="webhook", webhook_port=free_port())
    await fake.bot().set_webhook("https://old.example.com/telegram")
    findings = await telegram(path)
    assert failed(findings) == []  # stopped: `candor run` sets it at start, as polling deletes
    [warning] = [f for f in findings if not f.ok]
    assert "Telegram posts this bot's updates to https://old.example.com/telegram" in (
        warning.detail
    )
    assert f"not to telegram.webhook_url ({wanted})" in warning.detail
    assert "`candor run` sets it to webhook_url at start" in warning.detail
    with candor_running(path), socket.socket() as held:
        held.bind(("127.0.0.1", fake_port(path)))
        held.listen()
        [bad] = failed(await telegram(path))
    assert "something else using this bot's token set it" in bad.detail

    await fake.bot().set_webhook(wanted)
    findings = await telegram(path)
    assert all(f.ok for f in findings)
    assert by_check(findings)["webhook"][0].detail.startswith(f"set to {wanted}, no errors")

    fake.webhook_error = (int(fake.clock()) - 60, "Connection refused")  # a minute ago
    fake.push_message(1001, "hello")
    findings = await telegram(path)
    assert failed(findings) == []  # Candor is not running: Telegram cannot post yet
    [warning] = [f for f in findings if not f.ok]
    assert "failed at " in warning.detail and "“Connection refused”" in warning.detail
    with candor_running(path), socket.socket() as held:
        held.bind(("127.0.0.1", fake_port(path)))
        held.listen()
        [bad] = failed(await telegram(path))
    assert "“Connection refused”" in bad.detail and "1 updates waiting" in bad.detail


def fake_port(path: Path) -> int:
    import tomllib

    return int(tomllib.loads(path.read_text())["telegram"]["webhook_port"])


async def test_the_listen_address_in_use_is_refused_unless_candor_runs_there(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    port = free_port()
    path = config(tmp_path, knowledge_dir, fake, mode="webhook", webhook_port=port)
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        [bad] = failed(await telegram(path))
        assert bad.check == "listen"
        assert f"127.0.0.1:{port} is in use by another program" in bad.detail
        assert "telegram.webhook_port" in bad.detail
        await fake.bot().set_webhook("https://support.example.com/telegram")
        with candor_running(path):
            findings = await telegram(path)
    assert all(f.ok for f in findings), findings
    assert "in use by the running `candor run`" in by_check(findings)["listen"][0].detail


async def test_a_listen_address_not_of_this_machine_is_named(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    path = config(tmp_path, knowledge_dir, fake, mode="webhook", webhook_listen="192.0.2.1")
    [bad] = failed(await telegram(path))
    assert bad.check == "listen" and "cannot listen on 192.0.2.1:8443" in bad.detail
    assert "telegram.webhook_listen" in bad.detail


async def test_an_old_webhook_error_on_a_running_deployment_is_a_warning_not_a_failure(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """getWebhookInfo's last_error_* is "the most recent error" (Telegram's docs): it
    stays after deliveries work again, such as the "Connection refused" of the last
    restart of `candor run`, days ago. Nothing waits, Candor runs: a warning giving the
    error's date and words. With updates waiting it is still old news: a warning too."""
    wanted = "https://support.example.com/telegram"
    path = config(tmp_path, knowledge_dir, fake, mode="webhook", webhook_port=free_port())
    await fake.bot().set_webhook(wanted)
    three_days_ago = int(fake.clock()) - 3 * 86400
    fake.webhook_error = (three_days_ago, "Connection refused")
    with candor_running(path), socket.socket() as held:
        held.bind(("127.0.0.1", fake_port(path)))
        held.listen()
        findings = await telegram(path)
        assert failed(findings) == [], [f.line() for f in failed(findings)]
        [warning] = [f for f in findings if not f.ok]
        assert warning.check == "webhook" and not warning.needed
        assert "“Connection refused”" in warning.detail and "0 updates waiting" in warning.detail
        assert "Telegram keeps its last error after deliveries work again" in warning.detail
        fake.push_message(1001, "hello")  # waiting, but the error is days old
        assert failed(await telegram(path)) == []
        fake.webhook_error = (int(fake.clock()) - 30, "Connection refused")  # just now
        [bad] = failed(await telegram(path))
    assert bad.check == "webhook" and "1 updates waiting" in bad.detail


@pytest.mark.parametrize(
    ("host", "other"),
    [("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("127.0.0.1", "::")],
)
async def test_telegram_and_slack_on_one_listen_address_are_refused_naming_both_keys(
    fake: FakeTelegram,
    tmp_path: Path,
    knowledge_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    host: str,
    other: str,
) -> None:
    """Telegram's webhook and Slack's HTTP mode on one port: each check alone would
    bind it and pass, and `candor run` could not start the second server. The config
    refuses it, so `candor run` and doctor both say so (an address on every interface,
    0.0.0.0 or ::, takes the port on all of them)."""
    port = free_port()
    path = config(
        tmp_path, knowledge_dir, fake, mode="webhook", webhook_port=port, webhook_listen=host
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-a-bot-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "a-signing-secret-0123456789")
    with path.open("a") as f:
        f.write(
            f"""
[slack]
enabled = true
mode = "http"
bot_token = "env:SLACK_BOT_TOKEN"
signing_secret = "env:SLACK_SIGNING_SECRET"
listen = "{other}"
port = {port}
"""
        )
    [finding] = await examine(path)
    assert not finding.ok and finding.check == "loads"
    for key in ("slack.listen/port", "telegram.webhook_listen/webhook_port", str(port)):
        assert key in finding.detail, finding.detail
    assert cli.main(["run", "--config", str(path)]) == 2
    assert "give each platform its own port" in capsys.readouterr().err
    # on another port, or with Slack in Socket Mode, both may be
    text = path.read_text().replace(f"port = {port}\n", f"port = {port + 1}\n")
    path.write_text(text.replace(f"webhook_port = {port + 1}", f"webhook_port = {port}"))
    assert all(f.check != "loads" or f.ok for f in await examine(path, call_seconds=5))


# -- answers that are not the Bot API's ----------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("method", sorted(READS))
async def test_an_answer_that_is_not_the_bot_apis_is_a_finding_naming_api_base_url(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path, method: str, kind: str
) -> None:
    """Whatever answers in the Bot API's place (a captive portal, a proxy, a wrong
    api_base_url), for whichever call doctor makes: a ✗ naming telegram.api_base_url,
    never a probe that could not finish, never a traceback."""
    with Garbage(fake.url, [method], kind) as garbage:
        path = config(
            tmp_path,
            knowledge_dir,
            fake,
            base_url=garbage.url(fake.base_url),
            mode="webhook",
            webhook_port=free_port(),
        )
        await fake.bot().set_webhook("https://support.example.com/telegram")
        findings = await telegram(path)
    assert garbage.served, f"doctor never asked {method}"
    assert not any(f.check == "checks" for f in findings), [f.line() for f in findings]
    bad = failed(findings)
    assert bad, [f.line() for f in findings]
    assert "telegram.api_base_url" in bad[-1].detail, bad[-1].line()
    assert all(len(f.detail) < 600 for f in findings)  # a huge answer is not repeated
    assert TOKEN.partition(":")[2] not in " ".join(f.line() for f in findings)
