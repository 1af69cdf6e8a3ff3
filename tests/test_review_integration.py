"""Where the pieces of issue 14 meet: attacks that no single fix could see, each on
the merged code (the review of the six branches)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import signals
from bot.app import Candor
from bot.config import Config
from bot.outbox import DeliveryError
from bot.registry import unbind
from bot.text import clean
from tests import test_slack as on_slack
from tests.conftest import Customer, RecordingSender
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.test_intake_channels import both_config, run
from tests.test_private_places import shown_in
from tests.test_slack import (
    ANN,
    BOB,
    HOME,
    SHARED,
    TRIAGE,
    Slack,
    config_for,
    free_port,
    running,
    text_of,
)
from tests.test_telegram import ANN as TELEGRAM_ANN
from tests.test_telegram import TOKEN, said

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


async def test_the_link_question_to_the_one_who_asked_in_a_shared_channel_is_theirs_alone(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    """Once the code is entered elsewhere and confirmed there, the one who asked for
    it is asked too, where they last wrote: it names the accounts being joined, so in
    a shared channel it is shown to them alone."""
    slack = Slack(fake, port)
    async with running(slack_config):
        await slack.say(ANN, "!link")
        [shown] = await slack.only_to(ANN)
        found = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", text_of(shown))
        assert found is not None, text_of(shown)
        await slack.say(BOB, f"!link {found.group(1)}", channel="D0BOB")
        [ask] = await slack.reply_to("D0BOB", None)
        yes = next(
            unbind(b["value"])[0]
            for block in ask.params["blocks"]
            if block["type"] == "actions"
            for b in block["elements"]
            if b["text"]["text"].startswith("Yes")
        )
        await slack.press(BOB, ask, yes)
        [_, question] = await slack.only_to(ANN, 2)
        assert "Join" in text_of(question) or "join" in text_of(question), text_of(question)
        in_the_channel = shown_in(fake, SHARED)
        assert not any("join" in text.lower() for text in in_the_channel), in_the_channel


async def test_the_fallback_text_of_every_slack_message_is_escaped_too(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    """Finding 6: Slack shows a message's `text` in notifications and previews, and
    reads <!channel>, <@U…> and <url|label> there as it does in blocks."""
    slack = Slack(fake, port)
    attack = "<!channel> <@U0MARIA> <https://evil.example|Reset your password>"
    async with running(slack_config):
        event = await slack.say(ANN, attack)
        await slack.reply_to(SHARED, event["ts"])
        await slack.say(ANN, "I want a person", thread_ts=event["ts"])
        [proposal] = await slack.only_to(ANN)
        status, _ = await slack.press(ANN, proposal, "handover:send")
        assert status == 200
        await slack.reply_to(TRIAGE, None)
        texts = [str(call.params.get("text") or "") for call in fake.calls]
        assert any("evil.example" in text for text in texts)
        for text in texts:
            assert "<!channel>" not in text and "<@U0MARIA>" not in text, text
            assert "<https://evil.example" not in text, text


async def test_a_channel_started_again_after_a_failed_start_registers_its_sender_once(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """A start that fails after the channel registered its sender (Telegram's
    deleteWebhook, Slack's port or socket) is tried again in the background: each try
    registered the sender again, and every outbox pass then read the channel's whole
    queue once per try ever made."""
    async with (
        FakeTelegram(TOKEN) as telegram,
        FakeSlack(bot_token="xoxb-test", team_id=HOME) as slack,
    ):
        config = both_config(tmp_path, knowledge_dir, telegram, slack, free_port())
        telegram.fail_next("deleteWebhook", error_code=500, count=3)
        async with run(config) as (app, channels):
            for _ in range(400):
                if "telegram" in channels.running:
                    break
                await asyncio.sleep(0.05)
            assert channels.running == {"telegram", "slack"}
            channels_registered = [sender.channel for sender, _ in app.outbox._senders]
            assert sorted(channels_registered) == ["slack", "telegram"]
            telegram.push_message(TELEGRAM_ANN, "how much does it cost?")
            [answer] = await said(telegram, TELEGRAM_ANN, 1)
            assert "$8 per user" in str(answer.params["text"])


@pytest.mark.parametrize(
    "attack",
    [
        "hi" + "." * 39_990 + "x",  # the issue's: 3.5-5 s per check, run twice a message
        "hello" + " !" * 19_990 + "x",
        "hey" + "\t" * 39_990 + "?x",
        # a judgement's or request's clause was found by scanning all before it, for
        # each of thousands in one message: 6-10 s
        "terrible " * 4_440 + "?",
        "i never want to talk to a person " * 1_210,
    ],
)
def test_no_signal_takes_long_over_the_longest_slack_message(attack: str) -> None:
    """Finding 4: the greeting's pattern has runs of separators that overlap, so over
    unbounded text it backtracks quadratically (7.8 s here for the issue's attack,
    which blocks every other customer's event). A generous bound: linear checks take
    milliseconds; the quadratic one took seconds."""
    text = clean(attack)
    started = time.perf_counter()
    for check in (
        signals.is_greeting,
        signals.wants_person,
        signals.not_helpful,
        signals.frustrated,
        signals.not_solved,
        signals.looks_like_question,
    ):
        check(text)
    assert time.perf_counter() - started < 1.5


def test_a_greeting_is_still_a_greeting() -> None:
    assert signals.is_greeting("Hi there!") and signals.is_greeting("good morning, team.")
    assert not signals.is_greeting("hi" + "." * 500)


async def test_a_forget_confirmation_that_cannot_be_delivered_keeps_no_row_naming_them(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    """The "Done: erased" reply's row names the forgotten customer's chat (and, in a
    shared channel, their user id): it is dropped once sent, and must be so also when it
    is given up (the chat is gone, the bot was blocked), not kept as a failed row."""
    ann = customer_factory("ann")
    await ann.send("hello")
    await ann.send("/forget")
    sender.failures.append(DeliveryError("Telegram refused: blocked", permanent=True))
    await ann.press("forget:yes")
    with sqlite3.connect(app.store.path) as db:
        rows = db.execute("SELECT address, state FROM outbox").fetchall()
    assert not [row for row in rows if '"ann"' in row[0]], rows


async def test_one_word_does_not_draw_out_an_idea_below_the_listing(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    """Finding 11's class through finding 14's question: token_set_ratio scores a word
    against any idea holding it at 100, so "/idea pricing" was asked "is it the same
    as …?" about, and shown, an idea the listing does not show, its words whole."""
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await ann.send("/idea call me on +44 7700 900123 about bulk pricing")
    for n in range(5):  # five ideas more wanted: Ann's is not in the listing
        for fan in (customer_factory(f"fan{n}{k}") for k in range(2)):
            await fan.send(f"/idea feature number {'abcde'[n] * 3} {n}")
    [listing] = await bob.send("/idea")
    assert "7700" not in listing
    for probe in ("pricing", "call me", "about bulk pricing"):
        [reply] = await bob.send(f"/idea {probe}")
        assert "7700" not in reply, reply
