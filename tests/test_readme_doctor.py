"""Issue 15's "Done when", the doctor's half: on each path the README documents
(tests/readme_path.py: its edits applied to a copy of config.example.toml, only the
variables it names), `candor doctor` passes and exits 0; and on the same deployment
broken the ways operators break it (a wrong token, a staff group the bot is not in,
Topics off, the bot not in the triage channel) it exits 1 and names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.readme_path import PATHS, Deployment, command, deployment, fake_platform, readme_value


def failures(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("✗ ")]


async def doctor(made: Deployment, env: dict[str, str] | None = None) -> tuple[int, str]:
    return await command(made, "doctor", env=env)


@pytest.mark.parametrize(("platform", "mode"), PATHS)
async def test_doctor_passes_on_the_readme_path(tmp_path: Path, platform: str, mode: str) -> None:
    async with fake_platform(platform) as fake:
        made = deployment(tmp_path, platform, mode, fake)
        code, output = await doctor(made)
    assert code == 0, output
    assert not failures(output), output
    assert f"✓ {platform}: " in output  # the platform's own checks ran
    assert output.rstrip().splitlines()[-1].startswith("all ")
    for secret in made.variables.values():
        assert secret not in output


@pytest.mark.parametrize(("platform", "mode"), PATHS)
async def test_a_wrong_token_is_named(tmp_path: Path, platform: str, mode: str) -> None:
    async with fake_platform(platform) as fake:
        made = deployment(tmp_path, platform, mode, fake)
        variable = "TELEGRAM_BOT_TOKEN" if platform == "telegram" else "SLACK_BOT_TOKEN"
        wrong = "123456:AAwrong-token-xyz" if platform == "telegram" else "xoxb-wrong-token-1"
        code, output = await doctor(made, made.env | {variable: wrong})
    assert code == 1, output
    [first, *_] = failures(output)
    key = "telegram.token" if platform == "telegram" else "slack.bot_token"
    assert first.startswith(f"✗ {platform}: ") and f"{key} is refused" in first, output
    assert wrong not in output


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_staff_group_the_bot_is_not_in_is_named(tmp_path: Path, mode: str) -> None:
    async with fake_platform("telegram") as fake:
        assert isinstance(fake, FakeTelegram)
        made = deployment(tmp_path, "telegram", mode, fake)
        group = readme_value("telegram", "telegram", "staff_group_id")
        fake.set_member(group, fake.bot_user["id"], "left")
        code, output = await doctor(made)
    assert code == 1, output
    [missing] = failures(output)
    assert str(group) in missing and "add the bot to the group" in missing


async def test_topics_off_in_the_staff_group_is_named(tmp_path: Path) -> None:
    async with fake_platform("telegram") as fake:
        assert isinstance(fake, FakeTelegram)
        made = deployment(tmp_path, "telegram", "polling", fake)
        group = readme_value("telegram", "telegram", "staff_group_id")
        fake.set_chat(group, is_forum=False)
        code, output = await doctor(made)
    assert code == 1, output
    [off] = failures(output)
    assert "turn on Topics" in off and "staff_topics = false" in off


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_the_bot_not_in_the_triage_channel_is_named(tmp_path: Path, mode: str) -> None:
    async with fake_platform("slack") as fake:
        assert isinstance(fake, FakeSlack)
        made = deployment(tmp_path, "slack", mode, fake)
        triage = readme_value("slack", "slack", "triage_channel")
        fake.channels[triage]["is_member"] = False
        code, output = await doctor(made)
    assert code == 1, output
    [outside] = failures(output)
    assert triage in outside and "/invite" in outside


async def test_a_missing_variable_is_named_before_any_platform_is_asked(tmp_path: Path) -> None:
    async with fake_platform("slack") as fake:
        assert isinstance(fake, FakeSlack)
        made = deployment(tmp_path, "slack", "socket", fake)
        env = {k: v for k, v in made.env.items() if k != "SLACK_APP_TOKEN"}
        code, output = await doctor(made, env)
        assert not fake.calls_to("auth.test")
    assert code == 1, output
    [missing] = failures(output)
    assert "SLACK_APP_TOKEN" in missing and "slack.app_token" in missing
