"""Where the pieces of issue 14 meet: attacks that no single fix could see, each on
the merged code (the review of the six branches)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Config
from tests import test_slack as on_slack
from tests.fakes.slack import FakeSlack
from tests.test_private_places import shown_in
from tests.test_slack import ANN, SHARED, Slack, config_for, running, text_of

fake = on_slack.fake
port = on_slack.port


@pytest.fixture
def slack_config(tmp_path: Path, knowledge_dir: Path, fake: FakeSlack, port: int) -> Config:
    return config_for(tmp_path, knowledge_dir, fake, port)


async def test_a_link_code_asked_for_in_a_shared_channel_is_shown_to_the_customer_alone(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    """Anyone in a shared channel who read Ann's code could enter it on their own
    account and have her asked to join them: the code is for her eyes only."""
    slack = Slack(fake, port)
    async with running(slack_config):
        await slack.say(ANN, "!link")
        [shown] = await slack.only_to(ANN)
        found = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", text_of(shown))
        assert found is not None, text_of(shown)
        assert not any(found.group(1) in call for call in shown_in(fake, SHARED))
