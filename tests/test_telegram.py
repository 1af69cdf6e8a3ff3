"""The Telegram channel end to end: the real python-telegram-bot against a fake Bot
API on 127.0.0.1, asserting on what the fake received and what the store holds."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.telegram.channel import TelegramChannel, make_bot
from bot import config as config_module
from bot.app import Candor
from bot.config import Config
from bot.model import CaseState, EventKind, Identity
from bot.registry import unbind
from tests.conftest import fail_next_commit, write_config
from tests.fakes import telegram as fakes_telegram
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:TEST-token_x"
STAFF = -1001234567890
MARIA, SAM, STRANGER = 501, 502, 777
ANN, BOB = 1001, 1002
SECRET = "s3cret-token-for-tests"

DESK = f"""
channels = ["telegram"]
agents = [
  {{ name = "Maria", telegram = {MARIA} }},
  {{ name = "Sam", telegram = {SAM} }},
]
"""


def telegram_config(
    tmp_path: Path,
    knowledge: Path,
    fake: FakeTelegram,
    *,
    mode: str = "polling",
    topics: bool = True,
    port: int = 0,
    outbox: str = "",
) -> Config:
    extra = f"""
[telegram]
enabled = true
token = "{TOKEN}"
api_base_url = "{fake.base_url}"
file_base_url = "{fake.base_file_url}"
mode = "{mode}"
poll_timeout_seconds = 1
staff_group_id = {STAFF}
staff_topics = {str(topics).lower()}
per_chat_interval_seconds = 0
overall_per_second = 1000
group_per_minute = 6000
webhook_url = "https://support.example.com/telegram"
webhook_secret = "{SECRET}"
webhook_port = {port or 8443}
"""
    path = write_config(tmp_path, knowledge, extra, outbox=outbox, desk=DESK)
    return config_module.load(path)


@asynccontextmanager
async def running(
    config: Config, http_timeout: float | None = None
) -> AsyncIterator[tuple[Candor, TelegramChannel]]:
    """`candor run` with the Telegram channel (and, given `http_timeout`, a bot whose
    calls give up after that many seconds)."""
    async with Candor(config) as app:
        bot = None if http_timeout is None else make_bot(config.telegram, timeout=http_timeout)
        channel = TelegramChannel(app, config.telegram, bot)
        channel.retry_delay = 0.05
        app.start_background(desk=True)
        await channel.start()
        try:
            yield app, channel
        finally:
            await channel.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, knowledge_dir: Path, fake: FakeTelegram) -> Config:
    return telegram_config(tmp_path, knowledge_dir, fake)


def text_of(call: Any) -> str:
    return str(call.params.get("text", ""))


def buttons_of(call: Any) -> list[tuple[str, str]]:
    """(label, data as packed): without whom a customer's button was shown to."""
    return [(label, unbind(data)[0]) for label, data in shown_buttons(call)]


def shown_buttons(call: Any) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


def shown(call: Any, packed: str) -> str:
    """The callback data, as shown, of the button on `call` carrying `packed`."""
    return next(data for _, data in shown_buttons(call) if unbind(data)[0] == packed)


async def said(fake: FakeTelegram, chat: int, count: int) -> list[Any]:
    """The first `count` messages the bot delivered to `chat`."""
    calls = await fake.wait_for("sendMessage", count, chat_id=chat, include_failed=False)
    return calls[:count]


async def case_of(app: Candor, user: int) -> Any:
    customer = await app.store.customer_by_identity(Identity("telegram", "", str(user)))
    assert customer is not None
    return (await app.store.cases_of(customer.id))[-1]


async def hand_over(fake: FakeTelegram, app: Candor, user: int, first: str) -> Any:
    """The customer asks for a person and confirms the summary; returns the card call."""
    before = len(fake.sent(chat_id=user))
    fake.push_message(user, "/human", first_name=first)
    proposal = (await said(fake, user, before + 1))[-1]
    assert ("Send it", "handover:send") in buttons_of(proposal)
    fake.push_callback(
        user,
        shown(proposal, "handover:send"),
        message_id=proposal.result["message_id"],
        first_name=first,
    )
    await said(fake, user, before + 2)
    cards = await fake.wait_for("sendMessage", 1, chat_id=STAFF, include_failed=False)
    return cards[-1]


async def test_a_customer_is_greeted_answered_and_kept_on_one_case(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        [commands] = await fake.wait_for("setMyCommands")
        assert [c["command"] for c in commands.params["commands"]] == [
            "status",
            "human",
            "feedback",
            "link",
            "idea",
            "mute",
            "unmute",
            "quiet",
            "community",
            "mydata",
            "forget",
            "language",
            "help",
        ]  # the registry's public commands, as /help lists them
        assert [c["command"] for c in commands.params["commands"]] == [
            c.name for c in app.registry.public_commands()
        ]
        fake.push_message(ANN, "/start")
        [greeting] = await said(fake, ANN, 1)
        assert "not a person" in text_of(greeting) and "#1" in text_of(greeting)
        assert greeting.params["parse_mode"] == "HTML"
        fake.push_message(ANN, "how much does it cost?")
        answer = (await said(fake, ANN, 2))[1]
        assert "$8 per user" in text_of(answer)
        assert "Source: the article “Plans and prices”" in text_of(answer)
        fake.push_message(ANN, "/status")
        status = (await said(fake, ANN, 3))[2]
        assert "<b>Case #1</b>" in text_of(status)
        assert "Plans and prices" in text_of(status)
        case = await case_of(app, ANN)
        kinds = [e.kind for e in await app.store.events_of(case.id)]
        assert kinds.count(EventKind.CUSTOMER) >= 2 and EventKind.ANSWER in kinds
        # every update was confirmed to Telegram only after it was stored
        assert fake.confirmed_offset is not None and fake.updates == []
    async with running(config) as (app, _):  # a restart: the same customer, the same case
        fake.push_message(ANN, "/start")
        reply = (await said(fake, ANN, 4))[3]
        assert "#1" in text_of(reply)
        assert (await case_of(app, ANN)).id == 1


async def test_what_people_write_is_escaped_and_markup_never_breaks_a_message(
    fake: FakeTelegram, config: Config
) -> None:
    fake.reject_html = True
    async with running(config) as (app, _):
        fake.push_message(ANN, "<b>hi</b> & <a href='x'>", first_name="<i>Ann</i>")
        [reply] = await said(fake, ANN, 1)
        assert "<i>Ann</i>" not in text_of(reply)
        card = await hand_over(fake, app, ANN, "<i>Ann</i>")
        assert "&lt;i&gt;Ann&lt;/i&gt;" in text_of(card)
        assert "&lt;b&gt;hi&lt;/b&gt; &amp; &lt;a href=" in text_of(card)
        assert all(not c.failed for c in fake.calls_to("sendMessage"))


async def test_long_messages_are_split_under_telegrams_limit(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    body = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(12))
    (knowledge_dir / "long.md").write_text(
        f'+++\ntitle = "A long answer"\nquestions = ["tell me everything about onboarding"]\n'
        f"+++\n{body}\n",
        encoding="utf-8",
    )
    config = telegram_config(tmp_path, knowledge_dir, fake)
    async with running(config):
        fake.push_message(ANN, "tell me everything about onboarding")
        await fake.wait_for(
            "sendMessage", 1, chat_id=ANN, text=lambda t: "Source: the article" in t
        )
        pieces = [t for t in fake.texts(ANN) if "Paragraph" in t or "Source" in t]
        assert len(pieces) >= 2
        assert all(len(p) <= 4096 for p in pieces)
        joined = " ".join(pieces)
        assert "Paragraph 0:" in joined and "Paragraph 11:" in joined
        assert "Source: the article “A long answer”" in pieces[-1]


async def test_a_table_whose_aligned_rendering_outgrows_a_message_is_split_further(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """A table's aligned rendering pads its cells: 3,500 characters of Markdown became
    4,204 on Telegram, which refused it ("message is too long") and the answer was
    lost. Each piece is cut again until its rendering fits."""
    rows = ["| Plan | Seats | Price |", "|---|---|---|", "| " + " | ".join(["x" * 20] * 3) + " |"]
    rows += [f"| {i} | 2 | 3 |" for i in range(300)]
    table = "\n".join(rows)
    (knowledge_dir / "table.md").write_text(
        '+++\ntitle = "Every plan"\nquestions = ["show me the table of every plan"]\n'
        f"+++\n{table}\n",
        encoding="utf-8",
    )
    config = telegram_config(tmp_path, knowledge_dir, fake)
    async with running(config):
        fake.push_message(ANN, "show me the table of every plan")
        await fake.wait_for(
            "sendMessage", 1, chat_id=ANN, text=lambda t: "Source: the article" in t
        )
        assert not [c for c in fake.calls_to("sendMessage") if c.failed]
        shown = " ".join(fake.texts(ANN))
        assert all(f"{i} " in shown for i in (0, 150, 299))


async def test_clarify_buttons_answer_and_are_acknowledged(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    for name, title in (("billing-annual", "Paying yearly"), ("billing-monthly", "Paying monthly")):
        period = name.split("-")[1]
        (knowledge_dir / f"{name}.md").write_text(
            f'+++\ntitle = "{title}"\nquestions = ["{period} billing", "pay {period}"]\n+++\n'
            f"Yes, {period} works.\n",
            encoding="utf-8",
        )
    config = telegram_config(tmp_path, knowledge_dir, fake)
    async with running(config) as (app, _):
        fake.push_message(ANN, "billing?")
        [ask] = await fake.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "which" in t)
        options = buttons_of(ask)
        assert ("Paying yearly", "article:billing-annual") in options
        assert options[-1][0] == "None of these" and options[-1][1].startswith("none:")
        press = fake.push_callback(
            ANN, shown(ask, "article:billing-annual"), message_id=ask.result["message_id"]
        )
        await fake.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "annual works" in t)
        [ack] = await fake.wait_for("answerCallbackQuery")
        assert ack.params["callback_query_id"] == press["callback_query"]["id"]
        case = await case_of(app, ANN)
        answers = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.ANSWER]
        assert answers[-1].data["article"] == "billing-annual"


async def test_handover_opens_a_topic_with_the_card_and_agents_work_in_it(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        fake.push_message(ANN, "can I pay with a purchase order from our ERP?", first_name="Ann")
        await said(fake, ANN, 1)
        card = await hand_over(fake, app, ANN, "Ann")
        [topic] = await fake.wait_for("createForumTopic")
        assert topic.params["chat_id"] == STAFF
        assert topic.params["name"].startswith("#1 · Ann")
        thread = topic.result["message_thread_id"]
        assert card.params["message_thread_id"] == thread
        assert "purchase order" in text_of(card)  # the summary the customer confirmed
        assert ("Claim", "desk:claim:1") in buttons_of(card)
        assert (await case_of(app, ANN)).state is CaseState.WAITING

        # someone in the group who is not an agent is told so, and nothing happens
        fake.push_message(
            STRANGER, "I'll take it", chat_id=STAFF, message_thread_id=thread, is_topic_message=True
        )
        refusal = await fake.wait_for("sendMessage", 2, chat_id=STAFF, include_failed=False)
        assert "Only agents" in text_of(refusal[-1])
        assert (await case_of(app, ANN)).state is CaseState.WAITING

        # an agent's message in the topic claims the case and reaches the customer
        fake.push_message(
            MARIA,
            "Hi Ann, yes: we accept POs. <script>",
            first_name="Maria",
            chat_id=STAFF,
            message_thread_id=thread,
            is_topic_message=True,
        )
        relayed = await fake.wait_for(
            "sendMessage", 1, chat_id=ANN, text=lambda t: "we accept POs" in t
        )
        assert "Maria" in text_of(relayed[0]) and "&lt;script&gt;" in text_of(relayed[0])
        case = await case_of(app, ANN)
        assert case.state is CaseState.AGENT and case.agent == "Maria"
        receipts = await fake.wait_for(
            "sendMessage", 1, chat_id=STAFF, text=lambda t: "Delivered to the customer" in t
        )
        assert receipts[0].params["message_thread_id"] == thread

        # an internal note never reaches the customer
        to_ann = len(fake.sent(chat_id=ANN))
        fake.push_message(
            MARIA,
            "/note customer is on the Team plan",
            chat_id=STAFF,
            message_thread_id=thread,
            is_topic_message=True,
        )
        await fake.wait_for("sendMessage", 1, chat_id=STAFF, text=lambda t: "Note" in t)
        notes = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.NOTE]
        assert notes and "Team plan" in notes[0].text

        # the customer writes while a person has the case: relayed, the bot stays quiet
        fake.push_message(ANN, "great, how much does it cost?")
        forwarded = await fake.wait_for(
            "sendMessage", 1, chat_id=STAFF, text=lambda t: "how much does it cost" in t
        )
        assert forwarded[0].params["message_thread_id"] == thread
        await asyncio.sleep(0.3)
        assert len(fake.sent(chat_id=ANN)) == to_ann  # no bot answer over the person

        # resolve with the card's button: the customer gets the rating buttons
        fake.push_callback(
            MARIA,
            "desk:resolve:1",
            chat_id=STAFF,
            message_id=card.result["message_id"],
            message_thread_id=thread,
            first_name="Maria",
        )
        rating = await fake.wait_for(
            "sendMessage", 1, chat_id=ANN, text=lambda t: "resolved" in t.lower()
        )
        assert [d for _, d in buttons_of(rating[0])] == [f"rate:{n}" for n in range(1, 6)]
        fake.push_callback(
            ANN, shown(rating[0], "rate:5"), message_id=rating[0].result["message_id"]
        )
        await fake.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "Thank" in t)
        case = await case_of(app, ANN)
        assert case.state is CaseState.RESOLVED
        ratings = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.RATING]
        assert ratings[0].data["score"] == 5


async def test_without_topics_agents_reply_to_the_card(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = telegram_config(tmp_path, knowledge_dir, fake, topics=False)
    async with running(config) as (app, _):
        card = await hand_over(fake, app, BOB, "Bob")
        assert "message_thread_id" not in card.params
        assert fake.calls_to("createForumTopic") == []
        fake.push_message(
            SAM,
            "Hello Bob, Sam here.",
            first_name="Sam",
            chat_id=STAFF,
            reply_to_message_id=card.result["message_id"],
        )
        await fake.wait_for("sendMessage", 1, chat_id=BOB, text=lambda t: "Sam here" in t)
        assert (await case_of(app, BOB)).agent == "Sam"
        # a reply to no card at all is not guessed from its text
        fake.push_message(SAM, "#1 this is for case 1", chat_id=STAFF)
        answer = await fake.wait_for(
            "sendMessage", 1, chat_id=STAFF, text=lambda t: "which case" in t.lower()
        )
        assert answer
        assert not any("this is for case 1" in t for t in fake.texts(BOB))


async def test_files_edits_stickers_and_other_bots(fake: FakeTelegram, config: Config) -> None:
    async with running(config) as (app, _):
        first = fake.push_message(ANN, "my invoice looks wrong")
        await said(fake, ANN, 1)
        fake.push_photo(ANN, caption="the invoice")
        fake.push_edit(ANN, first["message"]["message_id"], "my invoice total looks wrong")
        fake.push_sticker(ANN)
        fake.push_message(ANN, "beep", is_bot=True)
        await fake.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "sticker" in t)
        await asyncio.sleep(0.3)
        case = await case_of(app, ANN)
        events = await app.store.events_of(case.id)
        [photo] = [e for e in events if e.kind is EventKind.ATTACHMENT]
        assert photo.data["attachments"][0]["kind"] == "photo"
        assert photo.data["attachments"][0]["ref"]  # the Telegram file id, kept
        assert photo.text == "the invoice"
        [edit] = [e for e in events if e.kind is EventKind.EDIT]
        assert edit.text == "my invoice total looks wrong"
        assert not any(e.text == "beep" for e in events)


async def test_rate_limits_are_waited_out_in_order_and_nothing_is_lost(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        fake.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=ANN)
        fake.push_message(ANN, "hi")
        fake.push_message(ANN, "how much does it cost?")
        delivered = await fake.wait_for(
            "sendMessage", 2, chat_id=ANN, include_failed=False, timeout=8
        )
        attempts = fake.calls_to("sendMessage", chat_id=ANN)
        assert attempts[0].failed and not attempts[1].failed
        assert "#1" in text_of(delivered[0]) and "Plans and prices" in text_of(delivered[1])
        for _ in range(600):  # the outbox marks a message sent just after Telegram took it (a
            # generous bound: 30 s)
            rows = await app.store.outbox_rows()
            if {state for _, state in rows} == {"sent"}:
                break
            await asyncio.sleep(0.05)
        assert {state for _, state in rows} == {"sent"}


async def test_a_storm_of_429s_is_waited_out_and_every_reply_arrives_once_in_order(
    fake: FakeTelegram, config: Config
) -> None:
    from adapters.markdown import to_telegram_html

    people = {ANN: "Ann", BOB: "Bob", 1003: "Cem"}
    async with running(config) as (app, _):
        fake.fail_next("sendMessage", error_code=429, retry_after=1, count=None)
        for user, name in people.items():
            for question in ("hi", "how much does it cost?", "is there a free trial"):
                fake.push_message(user, question, first_name=name)
        await fake.wait_for("sendMessage", 6, timeout=8)  # refused, every one
        await asyncio.sleep(1.5)  # the storm goes on a while
        assert all(call.failed for call in fake.calls_to("sendMessage"))
        fake.clear_failures()
        for user in people:
            await fake.wait_for("sendMessage", 3, chat_id=user, include_failed=False, timeout=15)
        for _ in range(600):  # the outbox marks a message sent just after Telegram took it (a
            # generous bound: 30 s)
            rows = await app.store.outbox_rows()
            if {state for _, state in rows} == {"sent"}:
                break
            await asyncio.sleep(0.05)
        assert {state for _, state in rows} == {"sent"}
        for user in people:
            mine = [o for o, _ in rows if o.address.chat_id == str(user)]
            # each reply arrived once, in the order it was written
            assert fake.texts(user) == [to_telegram_html(o.text) for o in mine]
            # and no chat was tried again before the wait Telegram asked for
            calls = fake.calls_to("sendMessage", chat_id=user)
            for refused, following in itertools.pairwise(calls):
                if refused.failed:
                    assert following.at - refused.at >= 0.95, (user, refused, following)


async def test_a_customer_who_blocked_the_bot_is_reported_to_the_agent(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        card = await hand_over(fake, app, ANN, "Ann")
        thread = card.params["message_thread_id"]
        fake.block(ANN)
        fake.push_message(
            MARIA, "Are you there?", chat_id=STAFF, message_thread_id=thread, is_topic_message=True
        )
        notice = await fake.wait_for(
            "sendMessage", 1, chat_id=STAFF, text=lambda t: "NOT delivered" in t
        )
        assert "blocked" in text_of(notice[0])
        rows = await app.store.outbox_rows((await case_of(app, ANN)).id)
        assert any(state == "failed" and "Are you there" in o.text for o, state in rows)


async def test_an_update_that_fails_to_commit_is_not_confirmed_and_comes_again(
    fake: FakeTelegram, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(config) as (app, _):
        fail_next_commit(app, monkeypatch)
        update = fake.push_message(ANN, "how much does it cost?")
        await said(fake, ANN, 1)
        polls = [c for c in fake.calls_to("getUpdates") if c.params.get("offset")]
        assert polls[0].params["offset"] == update["update_id"]  # offered again, not skipped
        case = await case_of(app, ANN)
        customer_events = [
            e for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER
        ]
        assert [e.text for e in customer_events] == ["how much does it cost?"]  # once


async def webhook_post(port: int, update: dict[str, Any], secret: str | None) -> int:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/telegram", json=update, headers=headers) as r,
    ):
        return r.status


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_checks_the_secret_and_commits_before_answering(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    port = free_port()
    config = telegram_config(tmp_path, knowledge_dir, fake, mode="webhook", port=port)
    async with running(config) as (app, _):
        [hook] = await fake.wait_for("setWebhook")
        assert hook.params["url"] == "https://support.example.com/telegram"
        assert hook.params["secret_token"] == SECRET
        update = fake.build_message(ANN, "how much does it cost?")
        assert await webhook_post(port, update, "wrong") == 401
        assert await webhook_post(port, update, None) == 401
        assert await app.store.customer_by_identity(Identity("telegram", "", str(ANN))) is None
        assert await webhook_post(port, update, SECRET) == 200
        assert (await case_of(app, ANN)).id == 1  # stored before the 200
        assert await webhook_post(port, update, SECRET) == 200  # Telegram's retry
        assert await webhook_post(port, {"nonsense": True}, SECRET) == 400
        await said(fake, ANN, 1)
        await asyncio.sleep(0.3)
        case = await case_of(app, ANN)
        asked = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
        assert len(asked) == 1
        assert len(fake.sent(chat_id=ANN)) == 1


def test_cli_refuses_a_bad_token_before_starting(tmp_path: Path, knowledge_dir: Path) -> None:
    path = write_config(tmp_path, knowledge_dir, '[telegram]\nenabled = true\ntoken = "oops"\n')
    with pytest.raises(config_module.ConfigError, match=r"telegram\.token: not a bot token"):
        config_module.load(path)


async def test_a_crash_in_a_burst_loses_nothing_and_repeats_no_question(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """SIGKILL `candor run` while it works through a burst of updates: after a restart
    every update is on its case exactly once and every reply was sent at least once."""
    import signal
    import sqlite3

    from tests.conftest import candor_command

    config = telegram_config(tmp_path, knowledge_dir, fake)
    assert config.source is not None
    users = {2001: "Ann", 2002: "Bob", 2003: "Cem"}
    questions = ["hi", "how much does it cost?", "is there a free trial", "price list", "/status"]
    for n, question in enumerate(questions):
        for user, name in users.items():
            fake.push_message(user, f"{question} ({n})", first_name=name)

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *candor_command(),
            "run",
            "--config",
            str(config.source),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    first = await start()
    await fake.wait_for("sendMessage", 4, include_failed=False, timeout=20)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    # the crash falls in the middle: replies (and perhaps updates) are still to come
    assert len(fake.sent()) < len(users) * len(questions)

    second = await start()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while fake.updates or len(fake.sent()) < len(users) * len(questions):
            assert asyncio.get_running_loop().time() < deadline, fake.updates
            await asyncio.sleep(0.1)
        while True:  # the outbox records the last sends (not: sleep and hope it did)
            with sqlite3.connect(config.storage.path) as db:
                owed = db.execute("SELECT count(*) FROM outbox WHERE state <> 'sent'")
                if owed.fetchone() == (0,):
                    break
            assert asyncio.get_running_loop().time() < deadline, "replies left unrecorded"
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(second.communicate(), 15)
    assert second.returncode == 0, stderr.decode()

    with sqlite3.connect(config.storage.path) as db:
        for user in users:
            texts = [
                row[0]
                for row in db.execute(
                    "SELECT e.text FROM events e JOIN cases c ON c.id = e.case_id"
                    " JOIN identities i ON i.customer_id = c.customer_id"
                    " WHERE i.channel = 'telegram' AND i.user_id = ? AND e.kind = 'customer'"
                    " ORDER BY e.id",
                    (str(user),),
                )
            ]
            assert texts == [f"{q} ({n})" for n, q in enumerate(questions)]
            rows = db.execute(
                "SELECT state, COUNT(*) FROM outbox WHERE json_extract(address, '$[1]') = ?"
                " GROUP BY state",
                (str(user),),
            ).fetchall()
            assert dict(rows).keys() == {"sent"}
            assert len(fake.sent(chat_id=user)) >= dict(rows)["sent"]


async def test_mydata_arrives_as_a_json_document(fake: FakeTelegram, config: Config) -> None:
    import json

    async with running(config):
        fake.push_message(ANN, "how much does it cost?")
        fake.push_message(ANN, "/mydata")
        [document] = await fake.wait_for("sendDocument", 1, chat_id=ANN)
        upload = document.params["document"]
        assert upload.filename.endswith(".json")
        export = json.loads(upload.data)
        assert export["identities"][0]["user_id"] == str(ANN)
        texts = [e["text"] for case in export["cases"] for e in case["events"]]
        assert "how much does it cost?" in texts


# -- nobody's words or name become markup in Telegram's HTML (issue 14, #6) ---------------

HTML_ATTACK = '<a href="https://evil.example">Reset your password</a> <b>x</b> &lt;i&gt; &amp; *y*'
EVIL_NAME = '<a href="tg://user?id=1">Boss</a> & <b>'


async def test_a_name_and_words_made_of_html_stay_text_in_every_message(
    fake: FakeTelegram, config: Config
) -> None:
    """Tags and entities in a customer's name and words, through the greeting, the
    handover, the card and a relay: every message parses, shows them as they were
    written, and has no link or formatting of theirs (only the bot's own bold)."""
    async with running(config) as (app, _):
        fake.push_message(ANN, HTML_ATTACK, first_name=EVIL_NAME)
        await said(fake, ANN, 1)
        await hand_over(fake, app, ANN, EVIL_NAME)
        fake.push_message(ANN, f"again: {HTML_ATTACK}", first_name=EVIL_NAME)
        await fake.wait_for("sendMessage", 1, chat_id=STAFF, text=lambda t: "again" in t)
        sent = [c for c in fake.calls_to("sendMessage") if c.params.get("parse_mode") == "HTML"]
        assert sent and all(not c.failed for c in sent)
        shown = [fakes_telegram.parse_html(str(c.params["text"])) for c in sent]
        plain = "\n".join(text for text, _ in shown)
        assert HTML_ATTACK in plain and EVIL_NAME in plain  # as written, nothing lost
        for text, entities in shown:
            for entity in entities:
                assert entity["type"] in ("bold", "italic", "code", "text_link"), entity
                assert "evil.example" not in str(entity.get("url", ""))
                assert "tg://" not in str(entity.get("url", ""))
                covered = text[entity["offset"] : entity["offset"] + entity["length"]]
                assert "Reset your password" not in covered  # their words: never formatted
                assert entity["type"] != "text_link" or "Boss" not in covered


async def test_a_chat_handed_to_another_process_waits_telegrams_spacing(
    tmp_path: Path, knowledge_dir: Path, fake: FakeTelegram
) -> None:
    """What the next owner of a chat waits after the last send there (`bot.sharing`,
    several processes on one database): a private chat's interval; in a group, the
    rate limiter's share of its minute."""
    config = telegram_config(tmp_path, knowledge_dir, fake)
    settings = config.telegram.model_copy(
        update={"per_chat_interval_seconds": 0.5, "group_per_minute": 30}
    )
    async with Candor(config) as app:
        sender = TelegramChannel(app, settings).sender
        assert sender.spacing("6001") == 0.5
        assert sender.spacing(str(STAFF)) == 2.0
        assert sender.spacing("not a number") == 0.5  # (never raises)
