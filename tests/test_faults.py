"""Network faults from the platforms: calls that hang past the client's timeout and
connections reset under a call, from the fake Telegram Bot API and Slack Web API,
met by the real adapters (python-telegram-bot, slack-sdk) with short timeouts.

Each fault says whether the platform carried the call out (see `tests.fakes.faults`).
Where it did not, whatever the call was for happens exactly once after the retries;
where it did and only the answer was lost, a retry repeats it: the documented
at-least-once window, and the only place a repeat is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from telegram.error import NetworkError, TimedOut

from adapters.markdown import to_telegram_html
from adapters.progress import Resumable
from adapters.slack.channel import HTTP_TIMEOUT as SLACK_HTTP_TIMEOUT
from adapters.telegram.channel import HTTP_TIMEOUT, TelegramChannel
from bot.app import Candor
from bot.config import Config
from bot.model import Address, Cause, EventKind, Identity, Outbound
from bot.outbox import DeliveryError
from tests.fakes import slack as slack_fakes
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.test_slack import ACME, SECRET, SHARED, TRIAGE, config_for, free_port
from tests.test_slack import running as running_slack
from tests.test_telegram import (
    ANN,
    BOB,
    STAFF,
    TOKEN,
    hand_over,
    running,
    shown,
    telegram_config,
)

TIMEOUT = 0.5  # the Telegram bot's HTTP timeout in these tests (seconds)
SLACK_TIMEOUT = 1  # slack-sdk's timeout is whole seconds
FAULTS = ["hang", "reset", "close"]  # close: an orderly close before any answer


def inject(fake: FakeTelegram | FakeSlack, fault: str, method: str, **options: Any) -> None:
    """Make the next call(s) of `method` meet `fault` ("hang", "reset" or "close")."""
    if fault == "hang":
        fake.hang_next(method, **options)
    else:
        fake.reset_next(method, graceful=fault == "close", **options)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait until the async `check()` is true (the outbox marks a message sent just
    after the platform took it)."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.02)


def outbox_left(config: Config) -> list[str]:
    """The states of the outbox rows, read from the database of a stopped Candor."""
    with contextlib.closing(sqlite3.connect(config.storage.path)) as db:
        return [row[0] for row in db.execute("SELECT state FROM outbox ORDER BY id")]


async def outbox_states(app: Candor) -> set[str]:
    return {state for _, state in await app.store.outbox_rows()}


async def all_sent(app: Candor) -> bool:
    return await outbox_states(app) == {"sent"}


# -- the fakes' faults, as the client libraries meet them ------------------------------------


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


async def test_fake_telegram_hangs_and_resets_reach_the_library_as_network_errors(
    telegram: FakeTelegram,
) -> None:
    bot = telegram.bot(request=telegram.request(read_timeout=0.2))
    async with bot:
        telegram.hang_next("sendMessage", chat_id=ANN)
        start = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(ANN, "lost in a hang")
        assert 0.2 <= time.monotonic() - start < 30  # the read timeout, not a hang for ever
        telegram.reset_next("sendMessage")
        with pytest.raises(NetworkError, match="ReadError") as reset:
            await bot.send_message(ANN, "lost in a reset")
        assert not isinstance(reset.value, TimedOut)
        telegram.reset_next("sendMessage", graceful=True)
        with pytest.raises(NetworkError, match="disconnected without sending a response"):
            await bot.send_message(ANN, "lost in a close")
        # Telegram never saw those: nothing was sent; the calls are recorded as faults
        assert telegram.texts(ANN) == []
        faults = [(c.fault, c.failed) for c in telegram.calls_to("sendMessage")]
        assert faults == [("hang", True), ("reset", True), ("reset", True)]
        # processed: Telegram sent it, and only the answer was lost
        telegram.hang_next("sendMessage", processed=True)
        with pytest.raises(TimedOut):
            await bot.send_message(ANN, "sent, answer lost")
        assert telegram.texts(ANN) == ["sent, answer lost"]
        assert telegram.calls[-1].fault == "hang" and telegram.calls[-1].ok
        # the faults were used up, and one for another chat leaves this one alone
        telegram.reset_next("sendMessage", chat_id=BOB)
        sent = await bot.send_message(ANN, "through")
        assert telegram.texts(ANN) == ["sent, answer lost", "through"]
        assert sent.message_id == 2


async def test_a_call_held_by_the_fake_telegram_is_let_go_when_it_stops() -> None:
    async with FakeTelegram(TOKEN) as fake, fake.bot(request=fake.request(read_timeout=30)) as bot:
        fake.hang_next("sendMessage")
        sending = asyncio.create_task(bot.send_message(ANN, "held"))
        await fake.wait_for("sendMessage")
        start = time.monotonic()
        await fake.stop()
        assert time.monotonic() - start < 15  # let go, not left to its 30 s timeout
        with pytest.raises(NetworkError):
            await sending
        assert fake.texts() == []


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token="xoxb-test") as server:
        yield server


async def test_fake_slack_hangs_and_resets_reach_the_sdk_as_network_errors(
    slack: FakeSlack,
) -> None:
    client = AsyncWebClient(
        token="xoxb-test", base_url=slack.api_url, timeout=SLACK_TIMEOUT, retry_handlers=[]
    )
    slack.hang_next("chat.postMessage", channel="C1")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel="C1", text="lost in a hang")
    assert SLACK_TIMEOUT <= time.monotonic() - start < 30  # the timeout, not a hang for ever
    slack.reset_next("chat.postMessage")
    with pytest.raises(aiohttp.ClientOSError, match="reset by peer"):
        await client.chat_postMessage(channel="C1", text="lost in a reset")
    slack.reset_next("chat.postMessage", graceful=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel="C1", text="lost in a close")
    assert slack.texts("C1") == [] and slack.messages == {}
    faults = [(c.fault, c.ok, c.status) for c in slack.calls_to("chat.postMessage")]
    assert faults == [("hang", False, 0), ("reset", False, 0), ("reset", False, 0)]
    slack.reset_next("chat.postMessage", processed=True)
    with pytest.raises(aiohttp.ClientOSError):
        await client.chat_postMessage(channel="C1", text="posted, answer lost")
    assert slack.texts("C1") == ["posted, answer lost"]
    assert slack.calls[-1].fault == "reset" and slack.calls[-1].ok
    slack.hang_next("chat.postMessage", channel="C2")
    await client.chat_postMessage(channel="C1", text="through")
    assert slack.texts("C1") == ["posted, answer lost", "through"]


async def test_a_call_held_by_the_fake_slack_is_let_go_when_it_stops() -> None:
    async with FakeSlack(bot_token="xoxb-test") as fake:
        client = AsyncWebClient(
            token="xoxb-test", base_url=fake.api_url, timeout=30, retry_handlers=[]
        )
        fake.hang_next("chat.postMessage")
        sending = asyncio.create_task(client.chat_postMessage(channel="C1", text="held"))
        await fake.wait_for("chat.postMessage")
        start = time.monotonic()
        await fake.stop()
        assert time.monotonic() - start < 15  # let go, not left to its 30 s timeout
        with pytest.raises(aiohttp.ClientError):
            await sending
        assert fake.messages == {}


# -- Telegram ---------------------------------------------------------------------------------


def telegram_running(
    config: Config, http_timeout: float = TIMEOUT
) -> AbstractAsyncContextManager[tuple[Candor, TelegramChannel]]:
    return running(config, http_timeout)


@pytest.fixture
def tg_config(tmp_path: Path, knowledge_dir: Path, telegram: FakeTelegram) -> Config:
    return telegram_config(tmp_path, knowledge_dir, telegram)


async def customer_texts(app: Candor, user: int) -> list[str]:
    customer = await app.store.customer_by_identity(Identity("telegram", "", str(user)))
    assert customer is not None
    return [
        e.text
        for case in await app.store.cases_of(customer.id)
        for e in await app.store.events_of(case.id)
        if e.kind is EventKind.CUSTOMER
    ]


async def replies_owed(app: Candor, chat: int) -> list[str]:
    """What the outbox holds for the chat, as Telegram receives it (HTML)."""
    return [
        to_telegram_html(o.text)
        for o, _ in await app.store.outbox_rows()
        if o.address.chat_id == str(chat)
    ]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_reply_telegram_never_got_is_delivered_on_retry_exactly_once(
    telegram: FakeTelegram, tg_config: Config, fault: str
) -> None:
    async with telegram_running(tg_config) as (app, _):
        inject(telegram, fault, "sendMessage", chat_id=ANN)
        telegram.push_message(ANN, "hi")
        telegram.push_message(ANN, "how much does it cost?")
        await telegram.wait_for("sendMessage", 2, chat_id=ANN, include_failed=False)
        await eventually(lambda: all_sent(app))
        first, *retries = telegram.calls_to("sendMessage", chat_id=ANN)
        assert first.fault == ("hang" if fault == "hang" else "reset") and first.failed
        assert all(c.ok and c.fault is None for c in retries)
        # each reply reached the customer once, in order: the first after its retry
        owed = await replies_owed(app, ANN)
        assert len(owed) == 2 and "#1" in owed[0] and "Plans and prices" in owed[1]
        assert telegram.texts(ANN) == owed
        assert retries[0].params["text"] == first.params["text"]


async def test_a_reply_telegram_took_before_the_answer_was_lost_may_come_twice_only_then(
    telegram: FakeTelegram, tg_config: Config
) -> None:
    async with telegram_running(tg_config) as (app, _):
        telegram.hang_next("sendMessage", chat_id=ANN, processed=True)
        telegram.push_message(ANN, "hi")
        telegram.push_message(ANN, "how much does it cost?")
        await telegram.wait_for("sendMessage", 3, chat_id=ANN, include_failed=False)
        await eventually(lambda: all_sent(app))
        greeting, price = await replies_owed(app, ANN)
        # Telegram sent the greeting, the bot timed out waiting for the answer and sent
        # it again: the at-least-once window. The next reply is not repeated.
        assert telegram.texts(ANN) == [greeting, greeting, price]
        assert [c.fault for c in telegram.calls_to("sendMessage")] == ["hang", None, None]


async def test_each_hung_try_costs_one_timeout_and_the_reply_goes_out_once(
    telegram: FakeTelegram, tg_config: Config
) -> None:
    async with telegram_running(tg_config) as (app, _):
        telegram.hang_next("sendMessage", chat_id=ANN, count=3)
        telegram.push_message(ANN, "hi")
        await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False, timeout=8)
        await eventually(lambda: all_sent(app))
        calls = telegram.calls_to("sendMessage", chat_id=ANN)
        assert [c.fault for c in calls] == ["hang", "hang", "hang", None]
        # each try waited about the timeout, then the outbox tried again
        gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
        assert all(TIMEOUT * 0.9 <= gap < TIMEOUT + 1.0 for gap in gaps), gaps
        [(row, _)] = await app.store.outbox_rows()
        assert row.attempts == 4  # three that hung, and the one that went through
        assert len(telegram.texts(ANN)) == 1


def faulted(fake: FakeTelegram | FakeSlack, method: str) -> list[Any]:
    return [c for c in fake.calls_to(method) if c.fault is not None]


@pytest.mark.parametrize("fault", ["hang", "reset"])
@pytest.mark.parametrize("processed", [False, True], ids=["unseen", "processed"])
async def test_polling_goes_on_after_getupdates_fails_and_no_update_is_lost_or_doubled(
    telegram: FakeTelegram,
    tg_config: Config,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    processed: bool,
) -> None:
    async with telegram_running(tg_config) as (app, channel):
        committed: dict[str, float] = {}
        receive = app.engine.receive

        async def recording(inbound: Any) -> Any:
            result = await receive(inbound)
            committed[inbound.text] = time.monotonic()
            return result

        monkeypatch.setattr(app.engine, "receive", recording)
        first = telegram.push_message(ANN, "hi")
        await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False)
        # from the next poll on, getUpdates fails; the customer writes while it does
        inject(telegram, fault, "getUpdates", count=None, processed=processed)

        async def polls_failed(count: int) -> bool:
            return len(faulted(telegram, "getUpdates")) >= count

        await eventually(lambda: polls_failed(1))
        second = telegram.push_message(ANN, "how much does it cost?")
        third = telegram.push_message(ANN, "is there a free trial")
        await eventually(lambda: polls_failed(2))
        lost = faulted(telegram, "getUpdates")[1]
        if processed:  # Telegram handed them out; the answer never arrived
            assert [u["update_id"] for u in lost.result] == [
                second["update_id"],
                third["update_id"],
            ]
        telegram.clear_failures()
        await telegram.wait_for("sendMessage", 3, chat_id=ANN, include_failed=False, timeout=8)
        last = third["update_id"]
        await telegram.wait_for("getUpdates", 1, include_failed=False, offset=last + 1)
        await eventually(lambda: all_sent(app))
        # every update is on the case once, in order, and each reply went out once
        assert await customer_texts(app, ANN) == [
            "hi",
            "how much does it cost?",
            "is there a free trial",
        ]
        assert telegram.texts(ANN) == await replies_owed(app, ANN)
        # an update was confirmed (a later offset that reached Telegram) only after it
        # was committed
        seen = [c for c in telegram.calls_to("getUpdates") if c.ok]
        for update in (first, second, third):
            text = update["message"]["text"]
            confirming = [c for c in seen if int(c.params.get("offset") or 0) > update["update_id"]]
            assert confirming and confirming[0].at > committed[text], text
        assert telegram.confirmed_offset == last + 1 and telegram.updates == []
        assert channel._task is not None and not channel._task.done()


async def test_a_button_whose_acknowledgement_is_lost_is_handled_once(
    telegram: FakeTelegram, tg_config: Config
) -> None:
    for name in ("yearly", "monthly"):
        (Path(tg_config.knowledge.directory) / f"billing-{name}.md").write_text(
            f'+++\ntitle = "Paying {name}"\nquestions = ["{name} billing"]\n+++\n'
            f"Yes, {name} works.\n",
            encoding="utf-8",
        )
    async with telegram_running(tg_config) as (app, _):
        telegram.push_message(ANN, "billing?")
        [ask] = await telegram.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "which" in t)
        telegram.reset_next("answerCallbackQuery")
        press = telegram.push_callback(
            ANN, shown(ask, "article:billing-yearly"), message_id=ask.result["message_id"]
        )
        await telegram.wait_for("sendMessage", 1, text=lambda t: "yearly works" in t)
        [ack] = await telegram.wait_for("answerCallbackQuery")
        assert ack.fault == "reset"
        # committed once; the lost acknowledgement did not make the update come again
        await telegram.wait_for("getUpdates", 1, offset=lambda o: int(o or 0) > press["update_id"])
        offered = [
            c
            for c in telegram.calls_to("getUpdates", include_failed=False)
            if any(u["update_id"] == press["update_id"] for u in c.result)
        ]
        assert len(offered) == 1
        assert sum("yearly works" in t for t in telegram.texts(ANN)) == 1
        await eventually(lambda: all_sent(app))


async def test_a_reply_hung_at_shutdown_stays_owed_and_is_sent_once_after_restart(
    telegram: FakeTelegram, tg_config: Config
) -> None:
    telegram.hang_next("sendMessage", chat_id=ANN, count=None)
    # the production timeout (5 s): stopping must not wait for it
    async with telegram_running(tg_config, HTTP_TIMEOUT) as (app, channel):
        telegram.push_message(ANN, "how much does it cost?")
        await telegram.wait_for("sendMessage", 1, chat_id=ANN)
        task = channel._task
        start = time.monotonic()
    assert time.monotonic() - start < HTTP_TIMEOUT  # stopped, not after the hang's timeout
    assert task is not None and task.done()
    assert telegram.texts(ANN) == []
    assert outbox_left(tg_config) == ["pending"]  # owed, neither lost nor given up
    telegram.clear_failures()
    async with telegram_running(tg_config) as (app, _):
        await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False)
        await eventually(lambda: all_sent(app))
        [price] = await replies_owed(app, ANN)
        assert "Plans and prices" in price
        assert telegram.texts(ANN) == [price]
        assert await customer_texts(app, ANN) == ["how much does it cost?"]


async def test_a_long_reply_cut_short_by_a_fault_goes_on_where_it_stopped(
    telegram: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """A reply in several pieces: the second piece's call hangs. The retry sends the
    pieces Telegram does not have, not the ones it took (and answered) again."""
    body = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(12))
    (knowledge_dir / "long.md").write_text(
        f'+++\ntitle = "A long answer"\nquestions = ["tell me everything about onboarding"]\n'
        f"+++\n{body}\n",
        encoding="utf-8",
    )
    config = telegram_config(tmp_path, knowledge_dir, telegram)
    async with telegram_running(config) as (app, _):
        telegram.push_message(ANN, "tell me everything about onboarding")
        await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False)
        telegram.hang_next("sendMessage", chat_id=ANN, text=lambda t: "Paragraph 0:" not in t)
        await telegram.wait_for(
            "sendMessage", 1, chat_id=ANN, include_failed=False, text=lambda t: "Source" in t
        )
        await eventually(lambda: all_sent(app))
        pieces = telegram.texts(ANN)
        assert len(pieces) >= 3
        assert len(set(pieces)) == len(pieces), "a piece Telegram had was sent again"
        joined = " ".join(pieces)
        assert [joined.count(f"Paragraph {i}:") for i in range(12)] == [1] * 12
        assert [c.fault for c in telegram.calls_to("sendMessage")].count("hang") == 1


async def test_a_card_whose_message_failed_keeps_the_topic_opened_for_it(
    telegram: FakeTelegram, tg_config: Config
) -> None:
    """The card is two calls: createForumTopic, then the card in it. When the card's
    call is reset, the retry puts it in that topic rather than opening another."""
    async with telegram_running(tg_config) as (app, _):
        telegram.reset_next("sendMessage", chat_id=STAFF)
        card = await hand_over(telegram, app, ANN, "Ann")
        topics = telegram.calls_to("createForumTopic")
        assert len(topics) == 1, [t.params["name"] for t in topics]
        assert card.params["message_thread_id"] == topics[0].result["message_thread_id"]
        [failed] = [c for c in telegram.calls_to("sendMessage", chat_id=STAFF) if c.failed]
        assert failed.fault == "reset"
        assert len(telegram.sent(chat_id=STAFF)) == 1
        await eventually(lambda: all_sent(app))


def long_article(knowledge_dir: Path) -> None:
    body = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(12))
    (knowledge_dir / "long.md").write_text(
        f'+++\ntitle = "A long answer"\nquestions = ["tell me everything about onboarding"]\n'
        f"+++\n{body}\n",
        encoding="utf-8",
    )


async def test_a_long_reply_cut_short_before_a_restart_goes_on_where_it_stopped(
    telegram: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """Finding 22: the progress was in memory only, and after a restart the pieces
    Telegram had taken were sent again. It is stored with the outbox row now."""
    long_article(knowledge_dir)
    config = telegram_config(tmp_path, knowledge_dir, telegram)
    later = {"text": lambda t: "Paragraph 0:" not in t}
    telegram.hang_next("sendMessage", chat_id=ANN, count=None, **later)
    async with telegram_running(config, HTTP_TIMEOUT) as (app, _):
        telegram.push_message(ANN, "tell me everything about onboarding")
        await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False)
        await telegram.wait_for("sendMessage", 2, chat_id=ANN)  # the second piece hangs
    assert outbox_left(config) == ["pending"]
    [first] = telegram.texts(ANN)
    telegram.clear_failures()
    async with telegram_running(config) as (app, _):  # a new process on the same database
        await telegram.wait_for(
            "sendMessage", 1, chat_id=ANN, include_failed=False, text=lambda t: "Source" in t
        )
        await eventually(lambda: all_sent(app))
    pieces = telegram.texts(ANN)
    assert pieces[0] == first and len(pieces) >= 3
    assert len(set(pieces)) == len(pieces), "a piece Telegram had was sent again"
    joined = " ".join(pieces)
    assert [joined.count(f"Paragraph {i}:") for i in range(12)] == [1] * 12


async def test_a_card_whose_message_failed_before_a_restart_keeps_the_topic_opened_for_it(
    telegram: FakeTelegram, tg_config: Config
) -> None:
    """Finding 20: a topic was made, the card's call failed, and every try after a
    restart made one more empty forum topic. The topic is stored with the card's row."""
    telegram.reset_next("sendMessage", chat_id=STAFF, count=None)
    async with telegram_running(tg_config) as (app, _):
        telegram.push_message(ANN, "/human", first_name="Ann")
        [proposal] = await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False)
        telegram.push_callback(
            ANN,
            shown(proposal, "handover:send"),
            message_id=proposal.result["message_id"],
            first_name="Ann",
        )
        await telegram.wait_for("createForumTopic", 1, include_failed=False)
        await telegram.wait_for("sendMessage", 2, chat_id=STAFF)  # the card, tried twice
    telegram.clear_failures()
    async with telegram_running(tg_config) as (app, _):
        cards = await telegram.wait_for("sendMessage", 1, chat_id=STAFF, include_failed=False)
        await eventually(lambda: all_sent(app))
    topics = telegram.calls_to("createForumTopic")
    assert len(topics) == 1, [t.params["name"] for t in topics]
    assert cards[0].params["message_thread_id"] == topics[0].result["message_thread_id"]


async def test_a_file_whose_upload_failed_does_not_send_its_message_again(
    telegram: FakeTelegram, tg_config: Config
) -> None:
    async with telegram_running(tg_config) as (app, _):
        telegram.push_message(ANN, "hi")
        await telegram.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False)
        telegram.hang_next("sendDocument", chat_id=ANN)
        telegram.push_message(ANN, "/mydata")
        await telegram.wait_for("sendDocument", 1, chat_id=ANN, include_failed=False)
        await eventually(lambda: all_sent(app))
        assert len(telegram.sent("sendDocument", chat_id=ANN)) == 1
        texts = telegram.texts(ANN)
        assert len(texts) == len(set(texts)) == 2, texts


def test_progress_is_kept_for_the_next_try_only_while_one_may_come() -> None:
    """What the tests above rely on, directly: progress survives a failed try, and is
    gone once the message is sent, fails for good, or is another message."""
    resumable = Resumable()
    message = Outbound(Address("telegram", "1001"), "a long text", Cause.REPLY, id=7)

    def fail(error: Exception, pieces: int = 1) -> None:
        with pytest.raises(type(error)), resumable.progress(message) as progress:
            progress.pieces = pieces
            raise error

    fail(DeliveryError("network: timed out"))
    with resumable.progress(message) as progress:
        assert progress.pieces == 1  # goes on where it stopped
    with resumable.progress(message) as progress:
        assert progress.pieces == 0  # the last try worked: nothing kept
    fail(DeliveryError("network: timed out"))
    with resumable.progress(replace(message, text="a summary")) as progress:
        assert progress.pieces == 0  # the same row with another text
    fail(DeliveryError("Telegram said: chat not found", permanent=True), pieces=2)
    with resumable.progress(message) as progress:
        assert progress.pieces == 0  # no try comes after a permanent failure


# -- Slack ------------------------------------------------------------------------------------


def slack_running(
    config: Config, http_timeout: int = SLACK_TIMEOUT
) -> AbstractAsyncContextManager[Candor]:
    return running_slack(config, http_timeout)


@pytest.fixture
async def slack_workspace(slack: FakeSlack) -> FakeSlack:
    slack.add_user("U0ANN", name="ann", real_name="Ann Lee", team_id=ACME)
    slack.add_user("U0BOB", name="bob", real_name="Bob Roe", team_id=ACME)
    slack.add_channel(SHARED, name="acme-support", is_ext_shared=True)
    slack.add_channel(TRIAGE, name="triage")
    return slack


@pytest.fixture
def slack_port() -> int:
    return free_port()


@pytest.fixture
def slack_config(
    tmp_path: Path, knowledge_dir: Path, slack_workspace: FakeSlack, slack_port: int
) -> Config:
    return config_for(tmp_path, knowledge_dir, slack_workspace, slack_port)  # max_retries 1


async def post_message(
    port: int, user: str, text: str, ts: str, thread_ts: str | None = None
) -> int:
    event = slack_fakes.message_event(
        user, text, channel=SHARED, ts=ts, thread_ts=thread_ts, team=ACME, user_team=ACME
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    status, _ = await slack_fakes.post_event(url, slack_fakes.event_callback(event), SECRET)
    return status


async def slack_customer_texts(app: Candor, user: str) -> list[str]:
    customer = await app.store.customer_by_identity(Identity("slack", ACME, user))
    assert customer is not None
    return [
        e.text
        for case in await app.store.cases_of(customer.id)
        for e in await app.store.events_of(case.id)
        if e.kind is EventKind.CUSTOMER
    ]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_slack_reply_slack_never_got_is_retried_and_posted_once(
    slack_workspace: FakeSlack, slack_config: Config, slack_port: int, fault: str
) -> None:
    slack = slack_workspace
    async with slack_running(slack_config) as app:
        # twice: past slack-sdk's own retry (max_retries 1) into the outbox's
        inject(slack, fault, "chat.postMessage", count=2, channel=SHARED)
        assert await post_message(slack_port, "U0ANN", "how much does it cost?", "100.1") == 200
        asked = await post_message(slack_port, "U0ANN", "is there a free trial", "100.2", "100.1")
        assert asked == 200  # in the same thread: its reply must come second
        await slack.wait_for("chat.postMessage", 2, include_failed=False, timeout=8)
        await eventually(lambda: all_sent(app))
        calls = slack.calls_to("chat.postMessage")
        expected = "hang" if fault == "hang" else "reset"
        assert [c.fault for c in calls if not c.ok] == [expected, expected]
        assert all(c.fault is None for c in calls if c.ok)
        posted = [(c.params["thread_ts"], c.params["text"]) for c in calls if c.ok]
        assert [ts for ts, _ in posted] == ["100.1", "100.1"]  # once each, in order
        assert "$8" in posted[0][1] and "14 days" in posted[1][1]
        assert await slack_customer_texts(app, "U0ANN") == [
            "how much does it cost?",
            "is there a free trial",
        ]


async def test_a_slack_post_taken_before_the_reset_may_come_twice_only_then(
    slack_workspace: FakeSlack, slack_config: Config, slack_port: int
) -> None:
    slack = slack_workspace
    async with slack_running(slack_config) as app:
        slack.reset_next("chat.postMessage", channel=SHARED, processed=True)
        assert await post_message(slack_port, "U0ANN", "how much does it cost?", "200.1") == 200
        asked = await post_message(slack_port, "U0ANN", "is there a free trial", "200.2", "200.1")
        assert asked == 200
        await slack.wait_for("chat.postMessage", 3, include_failed=False, timeout=8)
        await eventually(lambda: all_sent(app))
        texts = [c.params["text"] for c in slack.calls_to("chat.postMessage")]
        # Slack posted the first reply; the answer was lost and slack-sdk posted it
        # again: the at-least-once window. The second reply is posted once.
        assert texts[0] == texts[1] and "$8" in texts[0] and "14 days" in texts[2]
        assert len(texts) == 3
        assert [c.fault for c in slack.calls_to("chat.postMessage")] == ["reset", None, None]


@pytest.mark.parametrize("method", ["users.info", "team.info"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_a_name_lookup_lost_on_the_network_does_not_lose_the_message(
    slack_workspace: FakeSlack, slack_config: Config, slack_port: int, fault: str, method: str
) -> None:
    """users.info and team.info only add a name ("Bob Roe (Acme)"): when they hang or
    their connection breaks, every retry too, the message is stored all the same and
    Slack gets its 200 in time."""
    slack = slack_workspace
    slack.on("team.info", lambda params: {"team": {"id": params["team"], "name": "Acme"}})
    async with slack_running(slack_config) as app:
        inject(slack, fault, method, count=None)
        start = time.monotonic()
        assert await post_message(slack_port, "U0BOB", "how much does it cost?", "300.1") == 200
        assert time.monotonic() - start < 3  # within Slack's 3 seconds
        assert faulted(slack, method)
        assert await slack_customer_texts(app, "U0BOB") == ["how much does it cost?"]
        await slack.wait_for("chat.postMessage", 1, include_failed=False, thread_ts="300.1")
        await eventually(lambda: all_sent(app))


async def test_a_slack_file_whose_upload_failed_does_not_post_its_message_again(
    slack_workspace: FakeSlack, slack_config: Config, slack_port: int
) -> None:
    slack = slack_workspace
    async with slack_running(slack_config) as app:
        assert await post_message(slack_port, "U0ANN", "hi", "500.1") == 200
        await slack.wait_for("chat.postMessage", 1, include_failed=False)
        slack.reset_next("files.completeUploadExternal", count=2)
        assert await post_message(slack_port, "U0ANN", "/mydata", "500.2", "500.1") == 200
        await slack.wait_for("files.completeUploadExternal", 1, include_failed=False, timeout=8)
        await eventually(lambda: all_sent(app))
        # the export, asked for in the shared channel, goes to Ann's DM
        texts = slack.texts(SHARED) + slack.texts("D0ANN")
        assert len(texts) == len(set(texts)) == 2, texts
        assert len(slack.sent("files.completeUploadExternal", channel_id="D0ANN")) == 1
        assert len(slack.sent("files.completeUploadExternal")) == 1


async def test_a_slack_reply_hung_at_shutdown_stays_owed_and_is_posted_once_after_restart(
    slack_workspace: FakeSlack, slack_config: Config, slack_port: int
) -> None:
    slack = slack_workspace
    slack.hang_next("chat.postMessage", channel=SHARED, count=None)
    # the production timeout (10 s): stopping must not wait for it
    async with slack_running(slack_config, SLACK_HTTP_TIMEOUT) as app:
        assert await post_message(slack_port, "U0ANN", "how much does it cost?", "400.1") == 200
        await slack.wait_for("chat.postMessage", 1)
        start = time.monotonic()
    assert time.monotonic() - start < SLACK_HTTP_TIMEOUT  # not after the hang's timeout
    assert slack.texts(SHARED) == []
    assert outbox_left(slack_config) == ["pending"]
    slack.clear_failures()
    async with slack_running(slack_config) as app:
        [reply] = await slack.wait_for("chat.postMessage", 1, include_failed=False)
        await eventually(lambda: all_sent(app))
        assert reply.params["thread_ts"] == "400.1" and "$8" in reply.params["text"]
        assert len(slack.sent("chat.postMessage")) == 1


async def test_a_slack_file_cut_short_before_a_restart_does_not_post_its_message_again(
    slack_workspace: FakeSlack, slack_config: Config, slack_port: int
) -> None:
    """Finding 22 on Slack: /mydata is a message, then a file. The upload hangs and
    Candor stops; the next run uploads the file without posting the message again."""
    slack = slack_workspace
    url = f"http://127.0.0.1:{slack_port}/slack/events"

    async def in_dm(text: str, ts: str) -> None:
        event = slack_fakes.message_event(
            "U0ANN", text, channel="D0ANN", channel_type="im", ts=ts, team=ACME, user_team=ACME
        )
        status, _ = await slack_fakes.post_event(url, slack_fakes.event_callback(event), SECRET)
        assert status == 200

    slack.hang_next("files.completeUploadExternal", count=None)
    async with slack_running(slack_config) as app:
        await in_dm("hi", "600.1")
        await slack.wait_for("chat.postMessage", 1, include_failed=False)
        await in_dm("/mydata", "600.2")
        await slack.wait_for("files.completeUploadExternal", 1, timeout=8)
    posted = slack.texts("D0ANN")
    assert len(posted) == 2 and outbox_left(slack_config)[-1] == "pending"
    slack.clear_failures()
    async with slack_running(slack_config) as app:
        await slack.wait_for("files.completeUploadExternal", 1, include_failed=False, timeout=8)
        await eventually(lambda: all_sent(app))
    assert slack.texts("D0ANN") == posted  # the message is not posted again
    assert len(slack.sent("files.completeUploadExternal")) == 1
