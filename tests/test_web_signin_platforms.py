"""`/dashboard` typed in a shared desk room never shows the sign-in link to the
others there: on Slack (through the real slack-bolt against the fake Slack Web API
of tests/test_slack.py) it is an ephemeral message to the agent alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.config import Config
from tests import test_slack as on_slack
from tests.fakes.slack import FakeSlack
from tests.test_slack import HOME, MARIA, TRIAGE, Slack, config_for, running, text_of

fake = on_slack.fake
port = on_slack.port
LINK = re.compile(r"/signin/[0-9a-f]{64}")


@pytest.fixture
def slack_config(tmp_path: Path, knowledge_dir: Path, fake: FakeSlack, port: int) -> Config:
    return config_for(tmp_path, knowledge_dir, fake, port)


async def test_dashboard_in_the_triage_channel_is_shown_to_the_agent_alone(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(slack_config):
        await slack.say(MARIA, "!dashboard", channel=TRIAGE, team=HOME)
        shown = await slack.only_to(MARIA, 2)  # the link, and the word that it was sent
        assert sum(bool(LINK.search(text_of(call))) for call in shown) == 1
        assert all(call.params["channel"] == TRIAGE for call in shown)
        seen_by_all = [
            json.dumps(call.params, ensure_ascii=False)
            for call in fake.calls
            if call.method != "chat.postEphemeral"
        ]
        assert not any(LINK.search(text) for text in seen_by_all)


async def test_dashboard_in_the_telegram_staff_group_goes_to_the_agents_private_chat(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """Telegram shows nobody a message alone in a group: the link goes to the agent's
    private chat with the bot, and the group hears only that it was sent."""
    from tests import test_telegram as on_telegram
    from tests.fakes.telegram import FakeTelegram

    async with FakeTelegram(on_telegram.TOKEN) as tg:
        config = on_telegram.telegram_config(tmp_path, knowledge_dir, tg, topics=False)
        async with on_telegram.running(config):
            tg.push_message(
                on_telegram.MARIA, "/dashboard", first_name="Maria", chat_id=on_telegram.STAFF
            )
            [link] = await tg.wait_for(
                "sendMessage", 1, chat_id=on_telegram.MARIA, include_failed=False
            )
            assert LINK.search(on_telegram.text_of(link))
            [note] = await tg.wait_for(
                "sendMessage", 1, chat_id=on_telegram.STAFF, include_failed=False
            )
            assert "I sent you a sign-in link" in on_telegram.text_of(note)
            every = [json.dumps(params) for params in tg.sent(include_failed=True)]
            group = [json.dumps(params) for params in tg.sent(chat_id=on_telegram.STAFF)]
            assert sum(bool(LINK.search(text)) for text in every) == 1  # the private one
            assert group and not any(LINK.search(text) for text in group)
