"""The README's Telegram section, followed as a new operator would (issue 15,
findings 3, 5 and 13): the staff group's id is found in Candor's log without the bot
saying a word in the group, the README's config snippets work when applied to a
copy of config.example.toml exactly as the README says, and the commands it says
Telegram shows are the ones Candor registers."""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console.desk import agent_name
from adapters.telegram.channel import menu
from bot import config as config_module
from bot.app import FEATURES
from bot.config import Config
from bot.model import Identity
from bot.registry import Registry
from tests.conftest import write_config
from tests.fakes.telegram import FakeTelegram
from tests.readme_path import (
    EXAMPLE,
    README,
    ROOT,
    edit,
    entries,
    platform_section,
    steps,
    toml_blocks,
)
from tests.test_telegram import ANN, STAFF, TOKEN, running, telegram_config

GROUP = -1009876543210
SEND_METHODS = ("send", "edit", "pin", "create", "forward", "copy", "delete", "leave")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


def unconfigured(tmp_path: Path, knowledge: Path, fake: FakeTelegram) -> Config:
    """Telegram on, no staff group yet: the README's "run it once" step."""
    extra = f"""
[telegram]
enabled = true
token = "{TOKEN}"
api_base_url = "{fake.base_url}"
file_base_url = "{fake.base_file_url}"
poll_timeout_seconds = 1
per_chat_interval_seconds = 0
webhook_secret = "s3cret-token-for-tests"
"""
    return config_module.load(write_config(tmp_path, knowledge, extra))


def said_into(fake: FakeTelegram, chat: int) -> list[tuple[str, Any]]:
    """Every call that would post or change something in `chat`."""
    return [
        (call.method, call.params)
        for call in fake.calls
        if call.method.lower().startswith(SEND_METHODS)
        and str(call.params.get("chat_id")) == str(chat)
    ]


async def handled(fake: FakeTelegram, update: dict[str, Any]) -> None:
    """Wait until Candor has confirmed `update` (a getUpdates past it): it was handled."""
    past = update["update_id"]
    await fake.wait_for("getUpdates", 1, offset=lambda o: isinstance(o, int) and o > past)


def group_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("adapters.telegram") and r.levelno >= logging.INFO
    ]


@pytest.mark.parametrize("staff", [False, True], ids=["no staff group yet", "another group"])
async def test_a_group_that_is_not_the_staff_group_is_logged_with_its_id_and_never_spoken_to(
    fake: FakeTelegram,
    tmp_path: Path,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
    staff: bool,
) -> None:
    config = (
        telegram_config(tmp_path, knowledge_dir, fake)
        if staff
        else unconfigured(tmp_path, knowledge_dir, fake)
    )
    fake.set_chat(GROUP, type="supergroup", title="Support staff", is_forum=True)
    caplog.set_level(logging.INFO)
    async with running(config) as (app, _):
        # the operator adds the bot (Telegram says so twice: a membership change and a
        # service message), and someone writes in the group
        fake.push_my_chat_member(
            ANN, chat_id=GROUP, old_status="left", new_status="member", first_name="Zelda"
        )
        fake.push_message(
            ANN, "", chat_id=GROUP, new_chat_members=[fake.bot_user], first_name="Zelda"
        )
        fake.push_message(ANN, "/help", chat_id=GROUP, first_name="Zelda")
        last = fake.push_message(ANN, "how much does it cost?", chat_id=GROUP, first_name="Zelda")
        await handled(fake, last)

        assert said_into(fake, GROUP) == []
        lines = group_lines(caplog)
        assert not any("could not be read" in line for line in lines)
        told = [line for line in lines if str(GROUP) in line and "“Support staff”" in line]
        assert told, lines
        assert any("staff_group_id" in line for line in told)
        # nobody's name, nobody's words
        assert not any("Zelda" in line or "cost" in line for line in lines)
        # and nobody became a customer
        assert await app.store.customer_by_identity(Identity("telegram", "", str(ANN))) is None


async def test_the_group_id_is_logged_once_a_run_and_leaving_is_logged_too(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = unconfigured(tmp_path, knowledge_dir, fake)
    fake.set_chat(GROUP, type="supergroup", title="Support\nstaff\x1b[31m", is_forum=True)
    caplog.set_level(logging.INFO)
    async with running(config):
        for n in range(3):
            fake.push_message(ANN, f"chat {n}", chat_id=GROUP)
        last = fake.push_my_chat_member(ANN, chat_id=GROUP, old_status="member", new_status="left")
        await handled(fake, last)
    lines = [line for line in group_lines(caplog) if str(GROUP) in line and "“" in line]
    # one line on arrival (the title on one line, without control characters), one on leaving
    assert len(lines) == 2, lines
    assert "“Support staff[31m”" in lines[0] and "staff_group_id" in lines[0]
    assert "no longer in the group" in lines[1]
    assert said_into(fake, GROUP) == []


async def test_a_customer_blocking_the_bot_names_no_group(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(unconfigured(tmp_path, knowledge_dir, fake)):
        last = fake.push_my_chat_member(ANN)  # a private chat: blocked
        await handled(fake, last)
    assert not any("group" in line and str(ANN) in line for line in group_lines(caplog))


async def test_the_configured_staff_group_is_named_as_such(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = telegram_config(tmp_path, knowledge_dir, fake)
    fake.set_chat(STAFF, type="supergroup", title="Desk", is_forum=True)
    caplog.set_level(logging.INFO)
    async with running(config):
        last = fake.push_my_chat_member(ANN, chat_id=STAFF, old_status="left", new_status="member")
        await handled(fake, last)
    assert any(f"in the staff group “Desk” (id {STAFF})" in line for line in group_lines(caplog))


# -- the README's snippets, applied literally -------------------------------------------------


def telegram_section(readme: str) -> str:
    return platform_section("telegram", readme)


def test_the_readme_telegram_steps_applied_to_a_copy_of_the_example_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = telegram_section(README.read_text(encoding="utf-8"))
    assert "edit these keys" in section
    blocks = [block for _, block in toml_blocks(steps("telegram", "polling"))]
    assert blocks, "the README's Telegram section shows no config"
    (tmp_path / "knowledge").symlink_to(ROOT / "knowledge")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC-readme-token")
    # (which secrets polling mode needs is finding 1's; set the webhook's too)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "readme-webhook-secret-0123456789")
    text = EXAMPLE.read_text(encoding="utf-8")
    config: Config | None = None
    for block in blocks:  # each step's edits, then Candor runs on what they give
        for where, keys in entries(block):
            for key, value in keys:
                text = edit(text, where, key, value)
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        config = config_module.load(path)
        assert config.telegram.enabled
        assert agent_name(config, None)  # `candor desk` still has an agent
    assert config is not None
    assert config.telegram.staff_group_id == -1001234567890
    assert "telegram" in config.desk.channels
    assert all(agent.user_id_on("telegram") for agent in config.desk.agents)


def test_pasting_a_readme_section_twice_is_what_toml_refuses() -> None:
    """(Why the README says "edit": a second [telegram] is not valid TOML.)"""
    with pytest.raises(tomllib.TOMLDecodeError, match="twice"):
        tomllib.loads(EXAMPLE.read_text(encoding="utf-8") + "\n[telegram]\nenabled = true\n")


def test_the_commands_the_readme_says_telegram_shows_are_the_ones_registered() -> None:
    section = telegram_section(README.read_text(encoding="utf-8"))
    said = section.split("so they show in Telegram's menu", 1)[1].split("\n\n", 1)[0]
    said = said.split("\n4.", 1)[0]
    listed = set(re.findall(r"`/([a-z_]+)`", said))
    registered = {command.command for command in menu(Registry(FEATURES))}
    assert listed == registered
