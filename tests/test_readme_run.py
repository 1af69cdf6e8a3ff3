"""The README's Telegram and Slack paths, followed literally, end to end (issue 15,
"Done when"): a copy of config.example.toml with exactly the README's edits (and
`readme_path.test_only_edits`, which points the platform at its fake), only the
variables the README names, the real `candor run` in a subprocess, a customer who
writes and gets the pricing article, and a SIGTERM that stops it with exit 0."""

from __future__ import annotations

import json
import signal
import tomllib
from pathlib import Path

import aiohttp
import pytest

from adapters.console.desk import agent_name
from bot import config as config_module
from tests.fakes import slack as fakes
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.readme_path import (
    CUSTOMER_TEAM,
    EXAMPLE,
    PATHS,
    SLACK_CUSTOMER,
    SLACK_DM,
    SLACK_SHARED,
    TELEGRAM_CUSTOMER,
    Deployment,
    candor,
    command,
    deployment,
    fake_platform,
    follow,
    readme_value,
    shown,
    slack_delivers,
    steps,
    telegram_delivers,
    terminal,
    until_shown,
)
from tests.test_slack import text_of

QUESTION = "how much does it cost?"
ARTICLE = "Plans and prices"  # the shipped knowledge/pricing-plans.md
WAIT = 60.0  # seconds: a generous bound on a loaded machine, not a measure of speed

#: What each path needs, and so what the README must name: no more, no less.
NEEDED = {
    ("telegram", "polling"): {"TELEGRAM_BOT_TOKEN"},
    ("telegram", "webhook"): {"TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"},
    ("slack", "http"): {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"},
    ("slack", "socket"): {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"},
}

IDS = [f"{platform} {mode}" for platform, mode in PATHS]


@pytest.mark.parametrize(("platform", "mode"), PATHS, ids=IDS)
async def test_the_readme_path_gives_a_config_that_loads_with_only_the_variables_it_names(
    tmp_path: Path, platform: str, mode: str
) -> None:
    async with fake_platform(platform) as fake:
        made = deployment(tmp_path, platform, mode, fake)
    assert set(made.variables) == NEEDED[platform, mode]
    config = config_module.load(made.config, secrets=False)
    settings = config.settings_for(next(p for p in config.platforms if p.name == platform))
    assert getattr(settings, "enabled", None) is True
    assert getattr(settings, "mode", None) == mode
    assert platform in config.desk.channels
    assert all(agent.user_id_on(platform) for agent in config.desk.agents)
    assert agent_name(config, None)  # `candor desk` still has an agent


@pytest.mark.parametrize("platform", ["telegram", "slack"])
def test_every_config_block_of_the_readme_says_edit_and_edits_keys_the_example_has(
    platform: str,
) -> None:
    """Followed literally, a block without "edit these keys" is pasted, and TOML refuses
    a second [slack] ("Cannot declare ('slack',) twice"); every mode's blocks edit
    keys that are in config.example.toml."""
    example = EXAMPLE.read_text(encoding="utf-8")
    for where, mode in PATHS:
        if where == platform:
            tomllib.loads(follow(example, steps(platform, mode)))


# -- a customer writes, the way each path brings it to Candor -----------------------------


async def telegram_customer_writes(made: Deployment, fake: FakeTelegram) -> None:
    if made.mode == "polling":
        await fake.wait_for("deleteWebhook", 1, timeout=WAIT)  # no webhook left to compete
    else:
        # Candor registered the webhook itself, with the README's URL and the secret
        [hook] = await fake.wait_for("setWebhook", 1, timeout=WAIT)
        assert hook.params["url"] == "https://support.example.com/telegram"
        assert hook.params["secret_token"] == made.variables["TELEGRAM_WEBHOOK_SECRET"]
        update = fake.build_message(TELEGRAM_CUSTOMER, QUESTION, first_name="Ann")
        url = f"http://127.0.0.1:{made.port}/telegram"
        async with aiohttp.ClientSession() as session, session.post(url, json=update) as refused:
            assert refused.status == 401  # without the secret
    await telegram_delivers(made, fake, fake.build_message(TELEGRAM_CUSTOMER, QUESTION))


async def slack_customer_writes(
    made: Deployment, fake: FakeSlack, channel: str, text: str = QUESTION
) -> None:
    """A customer of another company writes in the channel it shares with yours, or in a
    DM to the bot."""
    dm = channel == SLACK_DM
    event = fakes.message_event(
        SLACK_CUSTOMER,
        text,
        channel=channel,
        channel_type="im" if dm else "channel",
        team=CUSTOMER_TEAM,
        user_team=None if dm else CUSTOMER_TEAM,
    )
    payload = fakes.event_callback(event, team_id=fake.team_id, is_ext_shared_channel=not dm)
    await slack_delivers(made, fake, payload)


async def customer_answered(made: Deployment, fake: FakeTelegram | FakeSlack) -> list[str]:
    """Customers write the way the path delivers messages; the bot's answers, as the
    fake received them."""
    if isinstance(fake, FakeTelegram):
        await telegram_customer_writes(made, fake)
        [answer] = await fake.wait_for(
            "sendMessage",
            1,
            timeout=WAIT,
            include_failed=False,
            chat_id=TELEGRAM_CUSTOMER,
            text=lambda text: ARTICLE in text,
        )
        return [str(answer.params["text"])]
    if made.mode == "http":
        # "Slack checks it at once, and Candor answers the check"
        url = f"http://127.0.0.1:{made.port}/slack/events"
        check = {"token": fakes.VERIFICATION_TOKEN, "type": "url_verification"}
        secret = made.variables["SLACK_SIGNING_SECRET"]
        status, body = await fakes.post_event(url, check | {"challenge": "readme-check"}, secret)
        assert status == 200 and "readme-check" in body, (status, body)
    answers = []
    for channel in (SLACK_SHARED, SLACK_DM):
        await slack_customer_writes(made, fake, channel)
        [posted] = await fake.wait_for(
            "chat.postMessage",
            1,
            timeout=WAIT,
            include_failed=False,
            channel=channel,
            blocks=lambda blocks: ARTICLE in json.dumps(blocks, ensure_ascii=False),
        )
        if channel == SLACK_SHARED:  # answered in a thread under the message
            assert posted.params.get("thread_ts"), posted.params
        answers.append(text_of(posted))
    return answers


@pytest.mark.parametrize(("platform", "mode"), PATHS, ids=IDS)
async def test_on_the_readme_path_candor_run_answers_a_customer_and_stops_cleanly(
    tmp_path: Path, platform: str, mode: str
) -> None:
    async with fake_platform(platform) as fake:
        made = deployment(tmp_path, platform, mode, fake)
        async with candor(made):
            answers = await customer_answered(made, fake)
            # what the README says the terminal shows once it runs
            said = [line for line in shown(steps(platform, mode)) if "candor is running" in line]
            assert said, "the README does not say what `candor run` shows"
            for line in said:
                await until_shown(made, line)
        assert all(ARTICLE in answer for answer in answers), answers
        on_terminal = terminal(made)
        assert "Traceback" not in on_terminal, on_terminal
        assert "is not set" not in on_terminal, on_terminal  # no secret it does not need
    log = (tmp_path / "data" / "candor.log").read_text(encoding="utf-8")  # the example's
    assert "candor is running" in log
    for secret in made.variables.values():
        assert secret not in log and secret not in on_terminal


async def test_the_readme_step_that_runs_candor_once_shows_the_staff_group_id(
    tmp_path: Path,
) -> None:
    """Telegram, step 2: with only step 1's edits, Candor runs, logs the group's id as the
    README shows it (after a message in the group, as the README says to write one if
    no such line shows), never writes in that group, and stops on Ctrl-C."""
    async with fake_platform("telegram") as fake:
        assert isinstance(fake, FakeTelegram)
        made = deployment(tmp_path, "telegram", "polling", fake, upto="### 3. Configure and run")
        readme_line = next(line for line in shown(steps("telegram", "polling")) if "(id " in line)
        group = int(readme_line.split("(id ", 1)[1].split(")", 1)[0])
        assert group in fake.chats  # the group the README's edits name is the one it shows
        async with candor(made, stop=signal.SIGINT):
            fake.push_message(TELEGRAM_CUSTOMER, "hello team", chat_id=group)
            await until_shown(made, readme_line)
        assert not [c for c in fake.calls if str(c.params.get("chat_id")) == str(group)]


@pytest.mark.parametrize(("platform", "mode"), PATHS, ids=IDS)
async def test_on_the_readme_path_the_commands_that_talk_to_no_platform_need_no_secret(
    tmp_path: Path, platform: str, mode: str
) -> None:
    """(Configuration: "`candor chat`, `desk`, `kb` and `report` need none".)"""
    async with fake_platform(platform) as fake:
        made = deployment(tmp_path, platform, mode, fake)
    bare = {name: value for name, value in made.env.items() if name not in made.variables}
    code, output = await command(made, "kb", "check", env=bare)
    assert code == 0, output
    code, output = await command(made, "report", env=bare)  # before any run: no database
    assert "is not set" not in output and "Traceback" not in output, output


# -- and a person of the README's desk takes over -----------------------------------------

REPLY = "Hello Ann, Maria here from the desk"


async def telegram_handover(made: Deployment, fake: FakeTelegram) -> None:
    """The customer asks for a person and sends the summary; the case opens a topic in
    the README's staff group; the README's first agent writes in it; the customer gets it."""
    staff = readme_value("telegram", "telegram", "staff_group_id")
    maria = readme_value("telegram", "desk", "agents")[0]
    await telegram_delivers(made, fake, fake.build_message(TELEGRAM_CUSTOMER, "/human"))
    [proposal] = await fake.wait_for(
        "sendMessage",
        1,
        timeout=WAIT,
        include_failed=False,
        chat_id=TELEGRAM_CUSTOMER,
        reply_markup=lambda markup: "handover:send" in json.dumps(markup),
    )
    send = next(
        button["callback_data"]
        for row in proposal.params["reply_markup"]["inline_keyboard"]
        for button in row
        if "handover:send" in button["callback_data"]
    )
    message_id = proposal.result["message_id"]
    press = fake.build_callback(TELEGRAM_CUSTOMER, send, message_id=message_id)
    await telegram_delivers(made, fake, press)
    [topic] = await fake.wait_for("createForumTopic", 1, timeout=WAIT, chat_id=staff)
    thread = topic.result["message_thread_id"]
    await fake.wait_for("sendMessage", 1, timeout=WAIT, chat_id=staff, message_thread_id=thread)
    said = fake.build_message(
        maria["telegram"],
        REPLY,
        first_name=maria["name"],
        chat_id=staff,
        message_thread_id=thread,
        is_topic_message=True,
    )
    await telegram_delivers(made, fake, said)
    await fake.wait_for(
        "sendMessage",
        1,
        timeout=WAIT,
        include_failed=False,
        chat_id=TELEGRAM_CUSTOMER,
        text=lambda text: REPLY in text,
    )


async def slack_handover(made: Deployment, fake: FakeSlack) -> None:
    """The same on Slack: `!human` in a DM, Send it, the card in the README's triage
    channel, the README's first agent writes in its thread, the customer gets it."""
    triage = readme_value("slack", "slack", "triage_channel")
    maria = readme_value("slack", "desk", "agents")[0]
    await slack_customer_writes(made, fake, SLACK_DM, "!human")
    [proposal] = await fake.wait_for(
        "chat.postMessage",
        1,
        timeout=WAIT,
        include_failed=False,
        channel=SLACK_DM,
        blocks=lambda blocks: "handover:send" in json.dumps(blocks),
    )
    action, value = next(
        (element["action_id"], element["value"])
        for block in proposal.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if "handover:send" in element["value"]
    )
    assert proposal.result is not None
    press = fakes.block_actions(
        SLACK_CUSTOMER,
        action,
        value,
        channel=SLACK_DM,
        message_ts=proposal.result["ts"],
        team=fake.team_id,
        user_team=CUSTOMER_TEAM,
    )
    await slack_delivers(made, fake, press, "interactive")
    [card] = await fake.wait_for("chat.postMessage", 1, timeout=WAIT, channel=triage)
    assert card.result is not None
    event = fakes.message_event(
        maria["slack"], REPLY, channel=triage, thread_ts=card.result["ts"], team=fake.team_id
    )
    await slack_delivers(made, fake, fakes.event_callback(event, team_id=fake.team_id))
    await fake.wait_for(
        "chat.postMessage",
        1,
        timeout=WAIT,
        include_failed=False,
        channel=SLACK_DM,
        blocks=lambda blocks: REPLY in json.dumps(blocks, ensure_ascii=False),
    )


@pytest.mark.parametrize(("platform", "mode"), PATHS, ids=IDS)
async def test_on_the_readme_path_a_customer_reaches_an_agent_of_the_readme_desk(
    tmp_path: Path, platform: str, mode: str
) -> None:
    async with fake_platform(platform) as fake:
        made = deployment(tmp_path, platform, mode, fake)
        async with candor(made):
            if isinstance(fake, FakeTelegram):
                await telegram_handover(made, fake)
            else:
                await slack_handover(made, fake)
        assert "Traceback" not in terminal(made)
