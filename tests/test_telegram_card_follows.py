"""The Telegram card and forum topic follow the case (issue 15, finding 8): the real
python-telegram-bot against the fake Bot API.

On every change of where a handed-over case stands (claimed, transferred, back to
the bot, resolved, reopened) the card in the staff group is edited (its text, and
the buttons that fit: none on a resolved card), its topic renamed with the state,
closed on resolve and opened again on reopen. A retried update does not redo what
Telegram took; a deleted topic loses nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Candor
from bot.config import Config
from bot.model import Address, CaseState
from tests.fakes.telegram import NOT_MODIFIED, FakeTelegram, TelegramApiError
from tests.test_telegram import (
    ANN,
    BOB,
    MARIA,
    SAM,
    STAFF,
    TOKEN,
    case_of,
    hand_over,
    running,
    said,
    shown,
    telegram_config,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, knowledge_dir: Path, fake: FakeTelegram) -> Config:
    return telegram_config(tmp_path, knowledge_dir, fake)


async def until(
    check: Callable[[], bool | Awaitable[bool]], what: str, seconds: float = 30
) -> None:
    """Wait until `check()` holds (a generous bound that measures behaviour)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        held = check()
        if held if isinstance(held, bool) else await held:
            return
        assert loop.time() < deadline, f"still not so after {seconds}s: {what}"
        await asyncio.sleep(0.02)


def card_now(fake: FakeTelegram, card_id: int) -> tuple[str, list[str]]:
    """The card as the staff group shows it now: its text, its buttons' labels."""
    message = fake.messages[(STAFF, card_id)]
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return str(message["text"]), [b["text"] for row in markup["inline_keyboard"] for b in row]


def topic_now(fake: FakeTelegram, thread: int) -> tuple[str, bool]:
    """The topic as the staff group shows it now: its name, whether it is closed."""
    topic = fake.topics[(STAFF, thread)]
    return str(topic["name"]), bool(topic.get("is_closed"))


def press(fake: FakeTelegram, who: int, action: str, card_id: int, thread: int | None) -> None:
    """An agent presses one of the card's buttons."""
    extra: dict[str, Any] = {"message_thread_id": thread} if thread else {}
    fake.push_callback(
        who, f"desk:{action}:1", chat_id=STAFF, message_id=card_id, first_name="Maria", **extra
    )


def say_in_topic(fake: FakeTelegram, who: int, text: str, thread: int) -> None:
    fake.push_message(
        who,
        text,
        first_name="Maria",
        chat_id=STAFF,
        message_thread_id=thread,
        is_topic_message=True,
    )


async def handed_over(fake: FakeTelegram, app: Candor) -> tuple[int, int]:
    """Ann asks about a purchase order and hands over; the card's id and its topic."""
    fake.push_message(ANN, "can I pay with a purchase order from our ERP?", first_name="Ann")
    await said(fake, ANN, 1)
    card = await hand_over(fake, app, ANN, "Ann")
    return int(card.result["message_id"]), int(card.params["message_thread_id"])


async def state_is(app: Candor, state: CaseState) -> bool:
    return (await case_of(app, ANN)).state is state


async def test_the_card_and_its_topic_follow_the_case_through_every_change(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        name, closed = topic_now(fake, thread)
        assert name.startswith("#1 · Ann · waiting · ") and not closed
        assert card_now(fake, card)[1] == ["Claim", "Resolve", "Back to bot"]

        press(fake, MARIA, "claim", card, thread)
        await until(lambda: "with Maria" in card_now(fake, card)[0], "the card says claimed")
        text, buttons = card_now(fake, card)
        assert "· waiting" not in text and buttons == ["Resolve", "Back to bot"]
        await until(lambda: topic_now(fake, thread)[0].startswith("#1 · Ann · with Maria · "), "")

        say_in_topic(fake, MARIA, "/transfer Sam", thread)
        await until(lambda: "with Sam" in card_now(fake, card)[0], "the card says transferred")
        await until(lambda: topic_now(fake, thread)[0].startswith("#1 · Ann · with Sam · "), "")

        press(fake, SAM, "bot", card, thread)
        await until(lambda: "with the bot" in card_now(fake, card)[0], "the card says back to bot")
        assert card_now(fake, card)[1] == []  # as on Slack: nothing to press for the bot's case
        await until(lambda: topic_now(fake, thread)[0].startswith("#1 · Ann · with the bot"), "")

        say_in_topic(fake, SAM, "/resolve", thread)
        await until(lambda: "· resolved" in card_now(fake, card)[0], "the card says resolved")
        assert card_now(fake, card)[1] == []  # no live Claim or Resolve on a resolved card
        await until(lambda: topic_now(fake, thread)[1], "the topic closed")
        assert topic_now(fake, thread)[0].startswith("#1 · Ann · resolved · ")
        # the customer's rating still reaches the closed topic (the bot manages topics)
        rating = await fake.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "1 (poor)" in t)
        assert rating

        # the customer writes about it again: the case reopens, and so does its topic
        fake.push_message(ANN, "the purchase order is still refused", first_name="Ann")
        await until(lambda: state_is(app, CaseState.BOT), "the case reopened")
        await until(lambda: not topic_now(fake, thread)[1], "the topic open again")
        await until(lambda: "with the bot" in card_now(fake, card)[0], "the card says reopened")
        assert "reopened" in card_now(fake, card)[0]  # its recent timeline says so
        await until(lambda: topic_now(fake, thread)[0].startswith("#1 · Ann · with the bot"), "")
        # each step once, in order: opened before anything else of that update
        steps = ("editMessageText", "editForumTopic", "closeForumTopic", "reopenForumTopic")
        calls = [c.method for c in fake.calls if c.method in steps and c.ok]
        assert calls.count("closeForumTopic") == 1 and calls.count("reopenForumTopic") == 1
        assert calls[-3:] == ["reopenForumTopic", "editMessageText", "editForumTopic"]
        assert calls.count("editMessageText") == 5 and calls.count("editForumTopic") == 5


async def test_without_topics_the_card_message_itself_is_edited(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = telegram_config(tmp_path, knowledge_dir, fake, topics=False)
    async with running(config) as (app, _):
        sent = await hand_over(fake, app, BOB, "Bob")
        card = int(sent.result["message_id"])
        press(fake, SAM, "claim", card, None)
        await until(lambda: "with Sam" in card_now(fake, card)[0], "the card says claimed")
        assert card_now(fake, card)[1] == ["Resolve", "Back to bot"]
        press(fake, SAM, "resolve", card, None)
        await until(lambda: "· resolved" in card_now(fake, card)[0], "the card says resolved")
        assert card_now(fake, card)[1] == []
        forum = [c for c in fake.calls if "Forum" in c.method]
        assert forum == []  # no topics in this group: nothing to rename or close


async def test_a_retried_update_goes_on_where_telegram_stopped(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        # the rename fails once (Telegram's 5xx): the edit it came after is not repeated
        fake.fail_next("editForumTopic", error_code=500, description="Internal Server Error")
        press(fake, MARIA, "claim", card, thread)
        await until(lambda: topic_now(fake, thread)[0].startswith("#1 · Ann · with Maria"), "")
        assert "with Maria" in card_now(fake, card)[0]
        assert len(fake.calls_to("editMessageText")) == 1
        assert [c.ok for c in fake.calls_to("editForumTopic")] == [False, True]

        # closing fails once: the card is not edited again, nor the topic renamed twice
        fake.fail_next("closeForumTopic", error_code=502, description="Bad Gateway")
        press(fake, MARIA, "resolve", card, thread)
        await until(lambda: topic_now(fake, thread)[1], "the topic closed")
        assert "· resolved" in card_now(fake, card)[0]
        assert len(fake.calls_to("editMessageText")) == 2
        assert [c.ok for c in fake.calls_to("editForumTopic")] == [False, True, True]
        assert [c.ok for c in fake.calls_to("closeForumTopic")] == [False, True]

        async def all_sent() -> bool:
            rows = await app.store.outbox_rows(1)
            return {s for _, s in rows} == {"sent"}

        await until(all_sent, "every message of the case sent, none failed")


async def test_telegrams_not_modified_answers_are_success(
    fake: FakeTelegram, config: Config
) -> None:
    """The card or topic is already as the update wants it (someone closed the topic by
    hand; a try whose answer was lost): "not modified" is done, not a failure."""
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        fake.topics[(STAFF, thread)]["is_closed"] = True  # closed by hand in the app
        fake.fail_next("editMessageText", error_code=400, description=NOT_MODIFIED)
        press(fake, MARIA, "resolve", card, thread)
        await until(lambda: topic_now(fake, thread)[0].startswith("#1 · Ann · resolved"), "")

        async def all_sent() -> bool:
            rows = await app.store.outbox_rows(1)
            return {s for o, s in rows if o.delivery.card_update} == {"sent"}

        await until(all_sent, "the update recorded as sent")
        assert topic_now(fake, thread)[1]
        [close] = fake.calls_to("closeForumTopic")
        assert close.description == "Bad Request: TOPIC_NOT_MODIFIED"


async def test_a_deleted_topic_gets_a_new_one_with_the_card_as_it_stands(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        _, old = await handed_over(fake, app)
        fake.delete_topic(STAFF, old)  # someone on the staff deletes the topic
        fake.push_message(MARIA, "/claim 1", first_name="Maria", chat_id=STAFF)
        topics = await fake.wait_for("createForumTopic", 2, timeout=15)
        new = int(topics[1].result["message_thread_id"])
        assert topics[1].params["name"].startswith("#1 · Ann · with Maria · ")
        [card] = await fake.wait_for(
            "sendMessage", 1, include_failed=False, chat_id=STAFF, message_thread_id=new
        )
        assert "with Maria" in str(card.params["text"])  # the card as it stands now
        [claimed] = await fake.wait_for(
            "sendMessage",
            1,
            include_failed=False,
            chat_id=STAFF,
            message_thread_id=new,
            text=lambda t: "claimed case #1" in t,
        )
        assert claimed
        async with app.store.transaction() as tx:
            assert await tx.desk.thread_of("telegram", str(STAFF), 1) == str(new)
            topic = Address("telegram", str(STAFF), str(new))
            assert await tx.desk.case_for_thread(topic) == 1

        # the case follows on in the new topic: resolved there, its card edited
        card_id = int(card.result["message_id"])
        press(fake, MARIA, "resolve", card_id, new)
        await until(lambda: topic_now(fake, new)[1], "the new topic closed")
        assert "· resolved" in card_now(fake, card_id)[0]

        async def all_sent() -> bool:
            rows = await app.store.outbox_rows(1)
            return {s for _, s in rows} == {"sent"}

        await until(all_sent, "every message of the case sent, none lost")


async def test_several_updates_waiting_at_once_go_as_the_latest(
    fake: FakeTelegram, config: Config
) -> None:
    """While the staff group's budget is spent, the card changes twice: once it is
    free, the card is edited once, to where the case stands (Telegram's calls cost
    the group's 20 a minute)."""
    async with running(config, 120.0) as (app, _):
        card, thread = await handed_over(fake, app)
        release, arrived = asyncio.Event(), asyncio.Event()

        async def held(params: dict[str, Any]) -> Any:
            if params.get("chat_id") == STAFF:
                arrived.set()
                await release.wait()
            return fake._m_send_message(params)

        fake.on("sendMessage", held)
        fake.push_message(ANN, "one more thing about the order", first_name="Ann")
        await asyncio.wait_for(arrived.wait(), 30)  # Ann's words on their way, held
        press(fake, MARIA, "claim", card, thread)
        await until(lambda: state_is(app, CaseState.AGENT), "claimed")
        say_in_topic(fake, MARIA, "/resolve", thread)
        await until(lambda: state_is(app, CaseState.RESOLVED), "resolved")

        async def two_updates() -> bool:
            rows = await app.store.outbox_rows(1)
            return sum(o.delivery.card_update for o, _ in rows) == 2

        await until(two_updates, "both updates stored")
        release.set()
        await until(lambda: topic_now(fake, thread)[1], "the topic closed")
        assert "· resolved" in card_now(fake, card)[0]
        edits = [c.params["name"] for c in fake.calls_to("editForumTopic", include_failed=False)]
        assert len(fake.calls_to("editMessageText")) == 1
        assert len(edits) == 1 and edits[0].startswith("#1 · Ann · resolved · ")


async def test_a_card_sent_before_its_message_was_kept_still_has_its_topic_follow(
    fake: FakeTelegram, config: Config
) -> None:
    """A case handed over before this Candor (its card's message id not stored, as
    after the upgrade): the topic is renamed and closed, nothing fails."""
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)

        async def recorded() -> bool:
            async with app.store.transaction() as tx:
                return await tx.desk.card_message_of("telegram", str(STAFF), 1) == str(card)

        await until(recorded, "the card recorded")
        with sqlite3.connect(config.storage.path) as db:
            db.execute("UPDATE desk_threads SET card_message = ''")
        press(fake, MARIA, "resolve", card, thread)
        await until(lambda: topic_now(fake, thread)[1], "the topic closed")
        assert topic_now(fake, thread)[0].startswith("#1 · Ann · resolved · ")
        assert fake.calls_to("editMessageText", chat_id=STAFF) == []  # not guessed

        async def all_sent() -> bool:
            rows = await app.store.outbox_rows(1)
            return {s for _, s in rows} == {"sent"}

        await until(all_sent, "every message of the case sent, none failed")


async def test_an_agent_writing_in_a_new_topic_before_its_card_is_in_finds_the_case(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """The topic appears in the staff group before the card is posted in it; Maria
    wrote there at once and was told "Which case?" (the topic was mapped to the case
    only once the card was recorded as sent): her words never reached the customer."""
    release, arrived = asyncio.Event(), asyncio.Event()

    async def send_message(params: dict[str, Any]) -> Any:
        if params.get("chat_id") == STAFF and "Case #" in str(params.get("text")):
            arrived.set()
            await release.wait()  # the card is on its way, not in yet
        return fake._m_send_message(params)

    fake.on("sendMessage", send_message)
    config = telegram_config(tmp_path, knowledge_dir, fake)
    async with running(config, 120) as (app, _):
        fake.push_message(ANN, "/human", first_name="Ann")
        [proposal] = await fake.wait_for("sendMessage", 1, chat_id=ANN)
        fake.push_callback(
            ANN,
            shown(proposal, "handover:send"),
            message_id=proposal.result["message_id"],
            first_name="Ann",
        )
        [topic] = await fake.wait_for("createForumTopic", 1, chat_id=STAFF)
        thread = topic.result["message_thread_id"]
        await asyncio.wait_for(arrived.wait(), 60)
        fake.push_message(
            MARIA,
            "Hi Ann, Maria here.",
            first_name="Maria",
            chat_id=STAFF,
            message_thread_id=thread,
            is_topic_message=True,
        )
        [event] = await fake.wait_for(
            "sendMessage", 1, chat_id=ANN, text=lambda t: "Maria here" in t
        )
        release.set()
        await fake.wait_for("sendMessage", 1, chat_id=STAFF, text=lambda t: "Delivered" in t)
        assert not [t for t in fake.texts(STAFF) if t.startswith("Which case?")]
        assert event.params["chat_id"] == ANN
        case = await case_of(app, ANN)  # her first reply claimed it, as always
        assert case.state is CaseState.AGENT and case.agent == "Maria"


async def test_forget_closes_the_topic_under_a_neutral_name_and_leaves_a_dead_card(
    fake: FakeTelegram, config: Config
) -> None:
    """/forget closes the case ("🗑 Case #1 is closed"), but its card still says
    "waiting" with live Claim/Resolve buttons, its topic stays open under the
    customer's name, and the "closed" notice lands outside the topic (General)."""
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        fake.push_message(ANN, "/forget", first_name="Ann")
        ask = await fake.wait_for(
            "sendMessage", 1, chat_id=ANN, text=lambda t: "Erase everything now?" in t
        )
        markup = ask[-1].params["reply_markup"]
        data = next(b["callback_data"] for row in markup["inline_keyboard"] for b in row)
        fake.push_callback(ANN, data, message_id=ask[-1].result["message_id"], first_name="Ann")
        [gone] = await fake.wait_for(
            "sendMessage", 1, include_failed=False, chat_id=STAFF, text=lambda t: "🗑" in t
        )

        async def all_done() -> bool:
            rows = await app.store.outbox_rows(1)
            return bool(rows) and all(s != "pending" for _, s in rows)

        await until(all_done, "what the erasure sent to the desk done")
        wrong = []
        if gone.params.get("message_thread_id") != thread:  # it should be in the topic
            wrong.append(f"the notice went to thread {gone.params.get('message_thread_id')}")
        text, buttons = card_now(fake, card)
        if buttons:
            wrong.append(f"the card still says {text.splitlines()[0]!r} and offers {buttons}")
        name, closed = topic_now(fake, thread)
        if not closed or "Ann" in name:
            wrong.append(f"the topic is {name!r}, closed={closed}")
        if "Ann" in text or "purchase order" in text:
            wrong.append(f"the card still shows the customer: {text!r}")
        if {s for _, s in await app.store.outbox_rows(1)} != {"sent"}:
            wrong.append("something for the desk failed")
        assert not wrong, wrong


async def test_a_second_handover_after_a_reopen_goes_on_in_the_cases_topic(
    fake: FakeTelegram, config: Config
) -> None:
    """Resolved, reopened by the customer (the topic opens again, "with the bot"),
    then handed over again: a second topic is opened for the same case, and the
    first one stays open, saying "with the bot", forever."""
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        press(fake, MARIA, "resolve", card, thread)
        await until(lambda: topic_now(fake, thread)[1], "the topic closed")
        fake.push_message(ANN, "the purchase order is still refused", first_name="Ann")
        await until(lambda: state_is(app, CaseState.BOT), "the case reopened")
        await until(lambda: not topic_now(fake, thread)[1], "the topic open again")
        await hand_over(fake, app, ANN, "Ann")
        await until(lambda: state_is(app, CaseState.WAITING), "handed over again")

        async def all_sent() -> bool:
            rows = await app.store.outbox_rows(1)
            return all(s != "pending" for _, s in rows)

        await until(all_sent, "every message of the case done")
        topics = fake.calls_to("createForumTopic")
        assert len(topics) == 1, [t.params["name"] for t in topics]
        # the case goes on in its topic: open, named and carded as it stands, and the
        # new summary posted in it
        name, closed = topic_now(fake, thread)
        assert name.startswith("#1 · Ann · waiting · ") and not closed
        text, buttons = card_now(fake, card)
        assert "· waiting" in text and buttons == ["Claim", "Resolve", "Back to bot"]
        [again] = fake.calls_to(
            "sendMessage", chat_id=STAFF, text=lambda t: "Handed over again" in t
        )
        assert again.params["message_thread_id"] == thread
        assert {s for _, s in await app.store.outbox_rows(1)} == {"sent"}


async def test_a_lost_close_answer_then_a_reopen_leaves_the_topic_open(
    fake: FakeTelegram, config: Config
) -> None:
    """Resolve: Telegram closes the topic but its answer is lost (a 502 after the
    work, as a proxy gives). While the close is retried the customer writes again:
    the case reopens. The two updates are due together, the close is coalesced away,
    and the reopen skips reopenForumTopic because Cards remembers the topic as open
    (it only learns "closed" from an answer). The case is with the bot, the topic
    stays closed: agents who are not admins cannot write in it."""
    released = asyncio.Event()
    tries: list[int] = []

    async def close(params: dict) -> object:
        tries.append(1)
        if len(tries) == 1:
            fake._m_close_forum_topic(params)  # Telegram did it ...
            raise TelegramApiError(502, "Bad Gateway")  # ... the answer was lost
        if not released.is_set():
            raise TelegramApiError(502, "Bad Gateway")
        return fake._m_close_forum_topic(params)

    fake.on("closeForumTopic", close)
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        press(fake, MARIA, "resolve", card, thread)
        await until(lambda: bool(tries), "the close tried")
        assert topic_now(fake, thread)[1]  # closed on Telegram
        fake.push_message(ANN, "the purchase order is still refused", first_name="Ann")
        await until(lambda: state_is(app, CaseState.BOT), "the case reopened")

        async def two_updates() -> bool:
            rows = await app.store.outbox_rows(1)
            return sum(o.delivery.card_update for o, _ in rows) == 2

        await until(two_updates, "both updates stored")
        released.set()

        async def all_sent() -> bool:
            rows = await app.store.outbox_rows(1)
            return all(s != "pending" for _, s in rows)

        await until(all_sent, "every message of the case done")
        assert "with the bot" in card_now(fake, card)[0]
        calls = [
            c.method for c in fake.calls if "Forum" in c.method or c.method == "editMessageText"
        ]
        assert not topic_now(fake, thread)[1], f"the reopened case's topic is still closed: {calls}"


async def test_a_message_for_a_resolved_case_whose_topic_was_deleted_is_not_lost(
    fake: FakeTelegram, config: Config
) -> None:
    """The topic of a resolved case is deleted (as done with); then the customer rates
    it. The case is not posted again (it is resolved), and the rating line is not
    lost either: it goes to the group outside any topic, naming the case."""
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        press(fake, MARIA, "resolve", card, thread)
        [rating] = await fake.wait_for(
            "sendMessage", 1, include_failed=False, chat_id=ANN, text=lambda t: "1 (poor)" in t
        )
        await until(lambda: topic_now(fake, thread)[1], "the topic closed")
        fake.delete_topic(STAFF, thread)
        fake.push_callback(
            ANN, shown(rating, "rate:5"), message_id=rating.result["message_id"], first_name="Ann"
        )
        [line] = await fake.wait_for(
            "sendMessage", 1, include_failed=False, chat_id=STAFF, text=lambda t: "rated" in t
        )
        assert "case #1" in str(line.params["text"]) and not line.params.get("message_thread_id")

        async def all_done() -> bool:
            rows = await app.store.outbox_rows(1)
            return all(s != "pending" for _, s in rows)

        await until(all_done, "every message of the case done")
        assert [c for c in fake.calls_to("createForumTopic")][1:] == []  # not posted again
        failed = [o.text for o, s in await app.store.outbox_rows(1) if s == "failed"]
        assert failed == []


async def test_what_waited_for_the_desk_when_the_customer_was_erased_never_goes(
    fake: FakeTelegram, config: Config
) -> None:
    """The staff group is busy: the card's update is on its way, and behind it, read
    already, the customer's words for the agent. Then the customer has their data
    erased. Their words must not reach the group afterwards (their case's topic is
    no longer mapped: they went to the group's General), and the topic ends erased."""
    async with running(config) as (app, _):
        card, thread = await handed_over(fake, app)
        app.outbox.paused = True
        press(fake, MARIA, "claim", card, thread)
        await until(lambda: state_is(app, CaseState.AGENT), "claimed")
        fake.push_message(ANN, "my card number is 4242 4242", first_name="Ann")

        async def relayed() -> bool:
            return any("4242" in o.text for o, _ in await app.store.outbox_rows(1))

        await until(relayed, "her words waiting for the desk")
        release, arrived = asyncio.Event(), asyncio.Event()

        async def held(params: dict[str, Any]) -> Any:
            arrived.set()
            await release.wait()
            return fake._m_edit_message_text(params)

        fake.on("editMessageText", held)
        app.outbox.paused = False
        app.outbox.wake()
        await asyncio.wait_for(arrived.wait(), 30)  # the card's update on its way, held
        fake.push_message(ANN, "/forget", first_name="Ann")
        ask = await fake.wait_for(
            "sendMessage", 1, chat_id=ANN, text=lambda t: "Erase everything now?" in t
        )
        data = shown(ask[-1], "forget:yes")
        fake.push_callback(ANN, data, message_id=ask[-1].result["message_id"], first_name="Ann")
        await fake.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "Done:" in t)
        release.set()
        await until(lambda: topic_now(fake, thread) == ("#1 · erased", True), "the topic erased")

        async def all_done() -> bool:
            return all(s != "pending" for _, s in await app.store.outbox_rows())

        await until(all_done, "the outbox done")
        leaked = [t for t in fake.texts(STAFF) if "4242" in t]
        assert leaked == [], leaked
        assert "erased" in card_now(fake, card)[0]


async def test_forget_without_topics_leaves_the_card_message_a_neutral_line(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    """Without topics the card message is the case's thread: /forget edits it to a
    neutral line without buttons, and the notice replies to it."""
    config = telegram_config(tmp_path, knowledge_dir, fake, topics=False)
    async with running(config) as (app, _):
        sent = await hand_over(fake, app, BOB, "Bob")
        card = int(sent.result["message_id"])
        fake.push_message(BOB, "/forget", first_name="Bob")
        ask = await fake.wait_for(
            "sendMessage", 1, chat_id=BOB, text=lambda t: "Erase everything now?" in t
        )
        fake.push_callback(
            BOB, shown(ask[-1], "forget:yes"), message_id=ask[-1].result["message_id"]
        )
        [told] = await fake.wait_for(
            "sendMessage", 1, include_failed=False, chat_id=STAFF, text=lambda t: "🗑" in t
        )
        assert told.params["reply_parameters"]["message_id"] == card
        await until(lambda: "erased" in card_now(fake, card)[0], "the card erased")
        text, buttons = card_now(fake, card)
        assert buttons == [] and "Bob" not in text
        assert [c for c in fake.calls if "Forum" in c.method] == []
