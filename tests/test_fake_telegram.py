"""The fake Telegram Bot API, driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram import FakeTelegram, parse_html

TOKEN = "123:ABC"
STAFF = -1001234567890


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(
        TOKEN,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=fake.request(),  # quicker to make than Bot's default
        get_updates_request=fake.request(),
    )
    async with client:
        yield client


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that it will become a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def test_get_me_with_a_plain_bot(fake: FakeTelegram) -> None:
    assert fake.url.startswith("http://127.0.0.1:") and fake.port > 0
    assert f"{fake.url}/bot" == fake.base_url
    async with Bot(TOKEN, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot") as bot:
        me = await bot.get_me()
        assert bot.username == "candor_test_bot"  # initialize() called getMe
    assert me.is_bot and me.username == "candor_test_bot" and me.id == 123
    assert me.can_join_groups is True
    assert [c.method for c in fake.calls] == ["getMe", "getMe"]


async def test_ext_bot_helper(fake: FakeTelegram) -> None:
    async with fake.bot() as ext_bot:
        assert isinstance(ext_bot, ExtBot)
        assert (await ext_bot.send_message(42, "hi")).message_id == 1


async def test_send_message_is_recorded_and_answered(fake: FakeTelegram, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="rate:5")]])
    first = await bot.send_message(
        42, "<b>Hello</b> &amp; welcome", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    second = await bot.send_message(42, "again")
    other = await bot.send_message(7, "elsewhere")

    assert isinstance(first, Message)
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.id == 42 and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert first.text == "Hello & welcome"  # as Telegram stores it: tags become entities
    assert [(e.type, e.offset, e.length) for e in first.entities] == [("bold", 0, 5)]
    assert first.reply_markup == keyboard

    [params] = fake.sent(chat_id=42, text=lambda t: "Hello" in t)
    assert params["chat_id"] == 42 and params["parse_mode"] == "HTML"
    assert params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "rate:5"}]]
    }
    assert fake.texts(42) == ["<b>Hello</b> &amp; welcome", "again"]
    assert len(fake.sent()) == 3
    assert [c.params["text"] for c in await fake.wait_for("sendMessage", 2, chat_id=42)] == [
        "<b>Hello</b> &amp; welcome",
        "again",
    ]


async def test_topics_threads_and_replies(fake: FakeTelegram, bot: Bot) -> None:
    topic = await bot.create_forum_topic(STAFF, "#12 · Ann · pricing")
    assert topic.name == "#12 · Ann · pricing" and topic.icon_color == 0x6FB9F0
    sent = await bot.send_message(STAFF, "card", message_thread_id=topic.message_thread_id)
    assert sent.chat.type == "supergroup" and sent.chat.is_forum
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    assert sent.message_id > topic.message_thread_id

    reply = await bot.send_message(STAFF, "re", reply_parameters=ReplyParameters(sent.message_id))
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == sent.message_id
    with pytest.raises(BadRequest, match="replied not found"):
        await bot.send_message(STAFF, "re", reply_parameters=ReplyParameters(999))
    lenient = ReplyParameters(999, allow_sending_without_reply=True)
    assert (await bot.send_message(STAFF, "re", reply_parameters=lenient)).text == "re"
    with pytest.raises(BadRequest, match="supergroup"):
        await bot.create_forum_topic(42, "no topics in private chats")

    # An agent writes in the topic: the update carries the thread, as Telegram's does.
    fake.push_message(
        5, "on it", chat_id=STAFF, message_thread_id=topic.message_thread_id, is_topic_message=True
    )
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.is_topic_message
    assert update.message.reply_to_message is not None
    assert update.message.reply_to_message.forum_topic_created is not None


async def test_a_deleted_topic_refuses_messages_as_telegram_does(
    fake: FakeTelegram, bot: Bot
) -> None:
    topic = await bot.create_forum_topic(STAFF, "#12 · Ann · pricing")
    thread = topic.message_thread_id
    await bot.send_message(STAFF, "card", message_thread_id=thread)
    fake.delete_topic(STAFF, thread)  # someone on the staff deletes it in the app
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(STAFF, "relay", message_thread_id=thread)
    [refused] = fake.calls_to("sendMessage", text="relay")
    assert refused.failed and refused.description == "Bad Request: message thread not found"
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(STAFF, "never made", message_thread_id=9999)
    other = await bot.create_forum_topic(STAFF, "#13 · Bob")
    assert await bot.delete_forum_topic(STAFF, other.message_thread_id)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.delete_forum_topic(STAFF, other.message_thread_id)
    assert (await bot.send_message(STAFF, "the group itself")).text == "the group itself"


async def test_get_updates_returns_pushed_updates(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(
        42,
        "Rate us",
        reply_markup=InlineKeyboardMarkup.from_button(
            InlineKeyboardButton("5", callback_data="rate:5")
        ),
    )
    text = fake.push_message(42, "hello", username="ann")
    fake.push_message(42, "/status")
    fake.push_callback(42, "rate:5", message_id=sent.message_id)
    fake.push_edit(42, text["message"]["message_id"], "hello there")
    fake.push_photo(42, caption="the error")
    fake.push_document(42, "invoice.pdf")
    fake.push_voice(42)
    fake.push_sticker(42)

    updates = await bot.get_updates(timeout=5, allowed_updates=["message", "callback_query"])
    assert all(isinstance(u, Update) for u in updates)
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 8
    message, command, press, edit, photo, document, voice, sticker = updates

    assert message.message is not None and message.message.text == "hello"
    assert message.effective_user is not None and message.effective_user.username == "ann"
    assert message.message.chat.type == "private" and message.message.chat.id == 42
    assert command.message is not None and command.message.entities[0].type == "bot_command"
    assert press.callback_query is not None and press.callback_query.data == "rate:5"
    assert isinstance(press.callback_query.message, Message)
    assert press.callback_query.message.text == "Rate us"
    assert await press.callback_query.answer()
    assert edit.edited_message is not None and edit.edited_message.text == "hello there"
    assert edit.edited_message.message_id == message.message.message_id
    assert edit.edited_message.edit_date is not None
    assert photo.message is not None and photo.message.caption == "the error"
    assert len(photo.message.photo) == 3 and photo.message.photo[-1].width == 1280
    assert document.message is not None and document.message.document is not None
    assert document.message.document.file_name == "invoice.pdf"
    assert voice.message is not None and voice.message.voice is not None
    assert sticker.message is not None and sticker.message.sticker is not None
    assert fake.allowed_updates == ["message", "callback_query"]

    # The largest photo can be fetched and downloaded like on Telegram.
    file = await bot.get_file(photo.message.photo[-1].file_id)
    assert (await file.download_as_bytearray()).startswith(b"\xff\xd8")

    # The offset confirms: what is below it is gone for good.
    assert len(await bot.get_updates(offset=ids[2])) == 6
    assert fake.confirmed_offset == ids[2]
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
    assert fake.confirmed_offset == ids[-1] + 1 and fake.updates == []


async def test_long_poll_waits_for_a_push_and_is_capped(fake: FakeTelegram, bot: Bot) -> None:
    fake.max_poll_timeout = 0.3  # 1 second unless told
    started = time.monotonic()
    assert await bot.get_updates(timeout=30) == ()
    assert 0.25 < time.monotonic() - started < 15  # capped: well short of the 30 asked
    fake.max_poll_timeout = 5

    async def later() -> None:
        await asyncio.sleep(0.1)
        fake.push_message(42, "late")

    pusher = asyncio.create_task(later())
    started = time.monotonic()
    [update] = await bot.get_updates(timeout=30)
    await pusher
    assert update.message is not None and update.message.text == "late"
    assert time.monotonic() - started < 15  # at the push, not at the end of the 30 s


async def test_shutdown_ends_a_pending_long_poll() -> None:
    fake = FakeTelegram(token=TOKEN, max_poll_timeout=30)
    await fake.start()
    async with fake.bot() as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await fake.stop()
        assert await poll == ()
        assert time.monotonic() - started < 15  # at the stop, not at the end of the 30 s


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "hi")
    assert retry_seconds(caught.value) == 3
    await bot.send_message(42, "hi")  # only the next one failed
    attempts = fake.calls_to("sendMessage")
    assert [(c.failed, c.error_code) for c in attempts] == [(True, 429), (False, None)]
    assert len(fake.sent()) == 1 and len(fake.sent(include_failed=True)) == 2


async def test_forbidden_bad_request_and_targeted_failures(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", error_code=403, chat_id=42)
    await bot.send_message(7, "not this chat")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(42, "hi")

    fake.fail_next("sendMessage", error_code=400, count=2)
    for _ in range(2):
        with pytest.raises(BadRequest, match="hat not found"):
            await bot.send_message(42, "hi")
    await bot.send_message(42, "hi")

    fake.block(9)
    with pytest.raises(Forbidden):
        await bot.send_message(9, "hi")
    fake.unblock(9)
    await bot.send_message(9, "hi")

    with pytest.raises(BadRequest, match="text is empty"):
        await bot.send_message(42, "")
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(42, "x" * 4097)


async def test_reject_html(fake: FakeTelegram, bot: Bot) -> None:
    fake.reject_html = True
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(42, "<b>open", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="unsupported start tag"):
        await bot.send_message(42, "<div>x</div>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(42, "<b><i>x</b></i>", parse_mode=ParseMode.HTML)
    ok = await bot.send_message(
        42, '<a href="https://example.com/?a=1&amp;b=2">x</a> 1 &lt; 2', parse_mode="HTML"
    )
    assert ok.text == "x 1 < 2"
    assert ok.entities[0].url == "https://example.com/?a=1&b=2"
    await bot.send_message(42, "<b>unparsed markup is fine without parse_mode")

    fake.reject_html = False
    lax = await bot.send_message(42, "<b>open", parse_mode=ParseMode.HTML)
    assert lax.text == "<b>open"


def test_parse_html_entities_count_utf16() -> None:
    text, entities = parse_html("👍 <i>a<b>b</b></i><tg-spoiler>s</tg-spoiler><pre>p</pre>")
    assert text == "👍 absp"
    assert entities == [
        {"type": "italic", "offset": 3, "length": 2},
        {"type": "bold", "offset": 4, "length": 1},
        {"type": "spoiler", "offset": 5, "length": 1},
        {"type": "pre", "offset": 6, "length": 1},
    ]


async def test_edits_callbacks_commands_and_documents(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("status", "Your case")])
    assert fake.commands == [{"command": "status", "description": "Your case"}]
    assert [c.command for c in await bot.get_my_commands()] == ["status"]

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("1", callback_data="1")]])
    sent = await bot.send_message(42, "Rate", reply_markup=keyboard)
    edited = await bot.edit_message_text("Rated", chat_id=42, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Rated" and edited.reply_markup is None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Rated", chat_id=42, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    again = await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=keyboard)
    assert isinstance(again, Message) and again.reply_markup == keyboard

    with pytest.raises(BadRequest, match="query"):
        await bot.answer_callback_query("unknown")
    press = fake.push_callback(42, "1", message_id=sent.message_id)
    assert await bot.answer_callback_query(press["callback_query"]["id"], text="Thanks")
    assert fake.sent("answerCallbackQuery")[0]["text"] == "Thanks"

    document = await bot.send_document(
        42,
        InputFile(b"a,b\n1,2\n", filename="case.csv"),
        caption="<i>export</i>",
        parse_mode="HTML",
    )
    assert document.document is not None and document.document.file_name == "case.csv"
    assert document.caption == "export"
    [params] = fake.sent("sendDocument", 42)
    assert params["document"].data == b"a,b\n1,2\n" and params["document"].filename == "case.csv"

    assert await bot.delete_message(42, sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bot.delete_message(42, sent.message_id)


async def test_webhooks_and_build(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.com/hook", secret_token="s3cret")
    assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret"
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=False)
    assert fake.webhook is None

    built = fake.build_message(42, "via webhook")
    assert fake.updates == []
    update = Update.de_json(json.loads(json.dumps(built)), bot)
    assert update is not None and update.message is not None
    assert update.message.text == "via webhook"
    assert fake.build_message(42, "next")["update_id"] == built["update_id"] + 1


async def test_wrong_token_and_unknown_method(fake: FakeTelegram) -> None:
    async with fake.bot() as good:
        with pytest.raises(EndPointNotFound):  # PTB's word for Telegram's 404
            await good.do_api_request("sendNothing")
    wrong = fake.bot("999:WRONG")
    try:
        with pytest.raises(InvalidToken):
            await wrong.initialize()
    finally:
        await wrong.shutdown()  # initialize() opened the connections before getMe failed
    assert fake.calls[-1].failed and fake.calls[-1].error_code == 401

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}{TOKEN}/sendNothing", json={}) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with session.get(f"{fake.base_url}999:WRONG/getMe") as response:
            assert response.status == 401
            assert (await response.json())["description"] == "Unauthorized"
        # A JSON body, with a keyboard as a JSON string, like some clients send it.
        markup = json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]})
        body = {"chat_id": "42", "text": "123", "reply_markup": markup}
        async with session.post(f"{fake.base_url}{TOKEN}/sendmessage", json=body) as response:
            result = (await response.json())["result"]
    assert result["text"] == "123" and result["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert fake.sent(chat_id=42)[-1]["text"] == "123"


async def test_wait_for_times_out_with_what_arrived(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(42, "one")

    async def send_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(42, "two")

    task = asyncio.create_task(send_later())
    calls = await fake.wait_for("sendMessage", count=2, chat_id=42)
    await task
    assert [c.params["text"] for c in calls] == ["one", "two"]
    with pytest.raises(AssertionError, match="expected 1 sendMessage"):
        await fake.wait_for("sendMessage", chat_id=7, timeout=0.1)


async def test_a_second_long_poll_ends_the_first_with_conflict(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{TOKEN}/getUpdates"
    async with aiohttp.ClientSession() as session:

        async def poll() -> tuple[int, dict[str, object]]:
            async with session.post(url, data={"timeout": "30"}) as response:
                return response.status, await response.json()

        first = asyncio.create_task(poll())
        await asyncio.sleep(0.05)
        second = asyncio.create_task(poll())
        status, body = await first
        assert status == 409 and "terminated by other getUpdates" in str(body["description"])
        fake.push_message(42, "hi")
        status, body = await second
    assert status == 200 and isinstance(body["result"], list) and len(body["result"]) == 1


async def test_two_consumers_of_one_token_are_told_apart_and_the_older_poll_loses(
    fake: FakeTelegram,
) -> None:
    """Like Telegram: of two getUpdates consumers (two processes of one bot), the one
    whose long poll was running gets 409 Conflict when the other polls."""
    async with aiohttp.ClientSession() as session:

        async def poll(consumer: str) -> int:
            url = f"{fake.base_url_for(consumer)}{TOKEN}/getUpdates"
            async with session.post(url, data={"timeout": "30"}) as response:
                return response.status

        first = asyncio.create_task(poll("a"))
        await fake.wait_for_poller()
        second = asyncio.create_task(poll("b"))
        assert await first == 409
        fake.push_message(42, "hi")
        assert await second == 200
    [lost] = fake.calls_to("getUpdates", consumer="a")
    assert lost.failed and lost.error_code == 409
    [won] = fake.calls_to("getUpdates", consumer="b")
    assert won.ok and len(won.result) == 1


async def test_my_chat_member_and_string_chat_ids(fake: FakeTelegram, bot: Bot) -> None:
    fake.push_my_chat_member(42)
    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    await bot.send_message("42", "by string")
    assert fake.sent(chat_id="42")[0]["text"] == "by string"


async def test_chat_members_as_telegram_gives_them(fake: FakeTelegram, bot: Bot) -> None:
    """getChatMember answers each status with the fields python-telegram-bot requires,
    and refuses as Telegram does: a group the bot is not in, a user it never saw."""
    from telegram import (
        ChatMemberAdministrator,
        ChatMemberBanned,
        ChatMemberLeft,
        ChatMemberMember,
        ChatMemberOwner,
        ChatMemberRestricted,
    )

    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat_member(STAFF, 42)
    fake.set_chat(STAFF, type="supergroup", title="Staff", is_forum=True)
    me = fake.bot_user["id"]
    fake.set_member(STAFF, me, "administrator", can_manage_topics=False)
    admin = await bot.get_chat_member(STAFF, me)
    assert isinstance(admin, ChatMemberAdministrator)
    assert admin.can_manage_topics is False and admin.can_pin_messages is True
    kinds = {
        "creator": ChatMemberOwner,
        "member": ChatMemberMember,
        "restricted": ChatMemberRestricted,
        "left": ChatMemberLeft,
        "kicked": ChatMemberBanned,
    }
    for user_id, (status, kind) in enumerate(kinds.items(), start=1):
        fake.set_member(STAFF, user_id, status)
        assert isinstance(await bot.get_chat_member(STAFF, user_id), kind)
    fake.set_member(STAFF, 9, "restricted", can_send_messages=False)
    restricted = await bot.get_chat_member(STAFF, 9)
    assert isinstance(restricted, ChatMemberRestricted) and not restricted.can_send_messages
    with pytest.raises(ValueError, match="can_manage_topic"):
        fake.set_member(STAFF, 9, "administrator", can_manage_topic=True)  # misspelt
    with pytest.raises(BadRequest, match="User not found"):
        await bot.get_chat_member(STAFF, 4242)
    fake.push_message(4242, "hi")  # now the bot has seen them: not in the group
    assert isinstance(await bot.get_chat_member(STAFF, 4242), ChatMemberLeft)


async def test_get_chat_of_groups_the_bot_is_in_left_or_was_removed_from(
    fake: FakeTelegram, bot: Bot
) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(STAFF)
    fake.set_chat(STAFF, type="supergroup", title="Staff", is_forum=True)
    chat = await bot.get_chat(STAFF)
    assert chat.is_forum and chat.type == "supergroup"
    assert chat.permissions is not None and chat.permissions.can_send_messages
    fake.set_chat(-1009, type="supergroup", title="Plain")
    plain = await bot.get_chat(-1009)
    assert not plain.is_forum
    # the bot's own membership changes (as the app makes them) are what getChat says
    fake.push_my_chat_member(42, chat_id=STAFF, old_status="member", new_status="administrator")
    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    new = update.my_chat_member.new_chat_member
    assert new.status == "administrator" and getattr(new, "can_manage_topics", None) is True
    fake.push_my_chat_member(42, chat_id=STAFF, old_status="administrator", new_status="left")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(STAFF)
    fake.push_my_chat_member(42, chat_id=STAFF, old_status="left", new_status="kicked")
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.get_chat(STAFF)


async def test_webhook_info_tells_telegrams_last_error(fake: FakeTelegram, bot: Bot) -> None:
    fake.webhook_error = (1_790_000_000, "Wrong response from the webhook: 502 Bad Gateway")
    assert (await bot.get_webhook_info()).last_error_message is None  # no webhook, no error
    await bot.set_webhook("https://example.com/hook")
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
    assert info.last_error_date is not None and info.last_error_date.year == 2026
