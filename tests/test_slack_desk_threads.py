"""A Slack triage thread whose parent (the card) was deleted (issue 14, finding 16):
Slack refuses replies into it; the case is posted again, and the words go into the
new card's thread. The real slack-bolt and slack-sdk against the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.model import Address
from tests.fakes.slack import FakeSlack, SlackError
from tests.test_slack import (
    ANN,
    HOME,
    MARIA,
    TRIAGE,
    Slack,
    case_of,
    config_for,
    free_port,
    running,
    text_of,
    values_of,
)
from tests.test_slack import fake as slack_fake


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async for server in slack_fake.__wrapped__():  # the Slack tests' workspace
        yield server


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def config(tmp_path: Path, knowledge_dir: Path, fake: FakeSlack, port: int) -> Config:
    return config_for(tmp_path, knowledge_dir, fake, port)


@pytest.mark.parametrize("answer", ["thread_not_found", "message_not_found"])
async def test_a_deleted_card_thread_is_posted_again_and_the_words_go_into_it(
    fake: FakeSlack, config: Config, port: int, answer: str
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        event = await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)  # the summary is theirs alone
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        old = card.result["ts"]
        case = await case_of(app, ANN)
        # someone deletes the card: Slack refuses replies into its thread from now on
        post = fake._post_message

        def refuse_the_gone_thread(params: dict[str, Any]) -> dict[str, Any]:
            if params.get("channel") == TRIAGE and params.get("thread_ts") == old:
                raise SlackError(answer)
            return post(params)

        fake.on("chat.postMessage", refuse_the_gone_thread)
        await slack.say(ANN, "is anyone there?", thread_ts=event["ts"])
        posts = await fake.wait_for("chat.postMessage", 4, channel=TRIAGE, timeout=10)
        refused, again, words = posts[1], posts[2], posts[3]
        assert refused.error == answer and refused.params["thread_ts"] == old
        assert not again.params.get("thread_ts")  # a new card, a new thread
        assert f"Case #{case.id}" in text_of(again) and "deleted" in text_of(again)
        new = again.result["ts"]
        assert "is anyone there?" in text_of(words) and words.params["thread_ts"] == new
        async with app.store.transaction() as tx:
            thread = Address("slack", TRIAGE, new)
            assert await tx.desk.case_for_thread(thread) == case.id
            assert await tx.desk.thread_of("slack", TRIAGE, case.id) == new


async def test_forget_leaves_the_card_a_neutral_line_without_buttons(
    fake: FakeSlack, config: Config, port: int
) -> None:
    """As on Telegram: /forget is a change of the case the card follows. The card
    (its thread's parent, which Candor can edit) keeps nothing of the customer and
    offers no buttons; the person on the case is told in its thread."""
    slack = Slack(fake, port)
    async with running(config):
        await slack.say(ANN, "can I pay with a purchase order?")
        await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        thread = card.result["ts"]
        await slack.say(ANN, "!forget")
        question = (await slack.only_to(ANN, 2))[-1]
        await slack.press(ANN, question, "forget:yes")
        [update] = await fake.wait_for("chat.update", 1, channel=TRIAGE, ts=thread)
        shown = text_of(update) + str(update.params.get("text"))
        assert "erased" in shown and "Ann" not in shown and "purchase order" not in shown
        assert values_of(update) == []
        [told] = await fake.wait_for("chat.postMessage", 1, channel=TRIAGE, text=lambda t: "🗑" in t)
        assert told.params["thread_ts"] == thread


async def test_a_second_handover_goes_on_in_the_cases_thread(
    fake: FakeSlack, config: Config, port: int
) -> None:
    """Handed over, resolved, reopened, handed over again: one thread for the case,
    its card updated to say it waits (with its buttons), the new summary in it."""
    slack = Slack(fake, port)
    async with running(config) as app:
        event = await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        thread = card.result["ts"]
        await slack.say(MARIA, "!resolve", channel=TRIAGE, thread_ts=thread, team=HOME)
        await fake.wait_for("chat.update", 1, channel=TRIAGE, ts=thread, text=resolved)
        await slack.say(ANN, "the purchase order is still refused", thread_ts=event["ts"])
        await fake.wait_for("chat.update", 1, channel=TRIAGE, ts=thread, text=with_the_bot)
        await slack.say(ANN, "/human", thread_ts=event["ts"])
        proposals = await slack.only_to(ANN, 2)
        await slack.press(ANN, proposals[-1], "handover:send")
        [again] = await fake.wait_for(
            "chat.postMessage", 1, channel=TRIAGE, text=lambda t: "Handed over again" in t
        )
        assert again.params["thread_ts"] == thread
        assert again.params.get("reply_broadcast") is True  # the channel sees it, as a card
        assert "reply_broadcast" not in card.params  # only that one
        updates = await fake.wait_for("chat.update", 3, channel=TRIAGE, ts=thread)
        assert "waiting" in text_of(updates[-1])
        case = await case_of(app, ANN)
        assert values_of(updates[-1]) == [
            f"desk:{a}:{case.id}" for a in ("claim", "resolve", "bot")
        ]
        cards = [c for c in fake.sent("chat.postMessage", channel=TRIAGE) if not c.get("thread_ts")]
        assert len(cards) == 1  # no second card, no second thread


def resolved(text: str) -> bool:
    return "resolved" in text


def with_the_bot(text: str) -> bool:
    return "with the bot" in text
