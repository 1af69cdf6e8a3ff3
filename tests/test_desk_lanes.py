"""A desk shared fairly between cases, and a case whose desk thread was deleted:
the real python-telegram-bot against the fake Bot API (issue 14, findings 8 and 16).

The staff group is paced by Telegram (20 messages a minute); each case's desk
messages are a lane of their own, a new card goes first, the cases take turns, and
a burst of one customer's words is joined into few messages. A forum topic someone
deleted is opened again with the case's card, and the message goes into it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Candor
from bot.config import Config
from bot.model import Address, Purpose
from tests.fakes.telegram import FakeTelegram
from tests.test_telegram import (
    ANN,
    BOB,
    MARIA,
    STAFF,
    TOKEN,
    buttons_of,
    case_of,
    hand_over,
    running,
    said,
    shown,
    telegram_config,
    text_of,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, knowledge_dir: Path, fake: FakeTelegram) -> Config:
    return telegram_config(tmp_path, knowledge_dir, fake)


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30) -> None:
    """Wait until `check()` holds (a generous bound that measures behaviour)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, f"still not so after {seconds}s: {what}"
        await asyncio.sleep(0.02)


HOLD = 120.0  # seconds a call may wait for its answer while the staff group is held


def hold_the_staff_group(fake: FakeTelegram) -> asyncio.Event:
    """Telegram takes nothing into the staff group until the event is set (as if the
    group's budget were spent); what the bot sends there waits, in its order. (Run
    with `running(config, HOLD)`, so that no held call times out and is tried again.)"""
    release = asyncio.Event()

    async def send_message(params: dict[str, Any]) -> Any:
        if params.get("chat_id") == STAFF:
            await release.wait()
        return fake._m_send_message(params)

    fake.on("sendMessage", send_message)
    return release


async def claimed(fake: FakeTelegram, app: Candor, user: int, name: str) -> int:
    """The customer hands over and Maria claims the case in its topic; its thread."""
    await hand_over(fake, app, user, name)
    [card] = await fake.wait_for(
        "sendMessage", 1, chat_id=STAFF, text=lambda t: "Case #" in t and f" · {name} · " in t
    )
    thread = int(card.params["message_thread_id"])
    fake.push_message(
        MARIA,
        f"Hi {name}, Maria here.",
        first_name="Maria",
        chat_id=STAFF,
        message_thread_id=thread,
        is_topic_message=True,
    )
    await fake.wait_for("sendMessage", 1, chat_id=user, text=lambda t: "Maria here" in t)
    await fake.wait_for(
        "sendMessage", 1, chat_id=STAFF, text=lambda t: "Delivered" in t and f"Hi {name}" in t
    )
    return thread


async def relays_stored(app: Candor, case_id: int, count: int) -> bool:
    rows = await app.store.outbox_rows(case_id)
    return sum(o.delivery.purpose is Purpose.RELAY for o, _ in rows) >= count


async def test_one_customers_burst_does_not_hold_up_another_customers_new_card(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config, HOLD) as (app, _):
        await claimed(fake, app, ANN, "Ann")
        ann_case = (await case_of(app, ANN)).id
        release = hold_the_staff_group(fake)
        # 90 long messages (too long to join: one desk message each) while the desk's
        # budget is spent
        words = [f"message{n:02d} " + "x" * 2000 for n in range(90)]
        for text in words:
            fake.push_message(ANN, text, first_name="Ann")
        await until(lambda: relays_stored(app, ann_case, 90), "Ann's 90 messages stored")
        # then Bob asks for a person: his card waits behind them
        fake.push_message(BOB, "/human", first_name="Bob")
        [proposal] = await said(fake, BOB, 1)
        assert ("Send it", "handover:send") in buttons_of(proposal)
        fake.push_callback(
            BOB,
            shown(proposal, "handover:send"),
            message_id=proposal.result["message_id"],
            first_name="Bob",
        )
        await said(fake, BOB, 2)

        async def bob_card_waits() -> bool:
            bob = (await case_of(app, BOB)).id
            rows = await app.store.outbox_rows(bob)
            return any(o.delivery.card and state == "pending" for o, state in rows)

        await until(bob_card_waits, "Bob's card in the outbox")
        release.set()

        async def all_through() -> bool:
            texts = fake.texts(STAFF)
            return any("Case #2" in t for t in texts) and any("message89" in t for t in texts)

        await until(all_through, "Bob's card and all of Ann's messages on the desk", 60)
        texts = fake.texts(STAFF)
        card_at = next(i for i, t in enumerate(texts) if "Case #2" in t)
        ann_at = [i for i, t in enumerate(texts) if "message" in t and "x" * 100 in t]
        print(f"Bob's card is desk message {card_at}; Ann's are {ann_at[0]}..{ann_at[-1]}")
        # the card did not wait for the 90 written before it: it came (nearly) at once
        assert card_at < ann_at[-1]
        assert sum(i < card_at for i in ann_at) <= 10, (card_at, ann_at[:12])
        # and Ann's words all arrived, once each, in the order she wrote them
        relayed = [t for t in texts if "x" * 100 in t]
        assert [t.split(" ")[1] for t in relayed] == [w.split(" ")[0] for w in words]


async def test_a_burst_of_one_customers_words_reaches_the_desk_as_few_messages(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config, HOLD) as (app, _):
        thread = await claimed(fake, app, ANN, "Ann")
        case = (await case_of(app, ANN)).id
        release = hold_the_staff_group(fake)
        fake.push_message(ANN, "first, before the burst", first_name="Ann")
        await until(lambda: relays_stored(app, case, 1), "the first message stored")
        words = [f"and then word {n}" for n in range(30)]
        for text in words:
            fake.push_message(ANN, text, first_name="Ann")
        await until(lambda: relays_stored(app, case, 31), "all 31 stored")
        before = len(fake.texts(STAFF))
        release.set()

        async def all_sent() -> bool:
            rows = await app.store.outbox_rows(case)
            return all(state == "sent" for _, state in rows)

        await until(all_sent, "every row of the case sent")
        desk = fake.calls_to("sendMessage", include_failed=False, chat_id=STAFF)[before:]
        relayed = [c for c in desk if "word" in text_of(c) or "first" in text_of(c)]
        # the one already on its way, then the 30 waiting as one message
        assert len(relayed) == 2, [text_of(c) for c in relayed]
        joined = text_of(relayed[1])
        assert [line for line in joined.split("\n") if line] == [
            f"<b>Ann:</b> {w}" for w in words
        ]  # each line still says who wrote it, in order
        assert all(c.params["message_thread_id"] == thread for c in relayed)
        rows = [(o, s) for o, s in await app.store.outbox_rows(case)]
        assert {s for _, s in rows} == {"sent"}  # every row marked sent, none lost


async def test_a_deleted_forum_topic_is_opened_again_with_the_card_and_the_new_words(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        old = await claimed(fake, app, ANN, "Ann")
        fake.push_message(ANN, "my invoice is wrong", first_name="Ann")
        await fake.wait_for("sendMessage", 1, chat_id=STAFF, text=lambda t: "invoice" in t)
        case = await case_of(app, ANN)
        fake.delete_topic(STAFF, old)  # someone on the staff deletes the topic

        fake.push_message(ANN, "are you still there?", first_name="Ann")
        [refused] = await fake.wait_for(
            "sendMessage", 1, chat_id=STAFF, text=lambda t: "still there" in t, timeout=10
        )
        assert refused.failed and refused.description == "Bad Request: message thread not found"
        topics = await fake.wait_for("createForumTopic", 2, timeout=10)
        new = topics[1].result["message_thread_id"]
        assert new != old and topics[1].params["name"].startswith("#1 · Ann")
        [card] = await fake.wait_for(
            "sendMessage", 1, include_failed=False, chat_id=STAFF, message_thread_id=new
        )
        assert "Case #1" in text_of(card) and "deleted" in text_of(card)  # says why
        assert "my invoice is wrong" in text_of(card)  # the recent timeline, up to now
        assert "are you still there?" in text_of(card)
        [words] = await fake.wait_for(
            "sendMessage",
            1,
            include_failed=False,
            chat_id=STAFF,
            text=lambda t: "still there" in t and "Case #1" not in t,
            timeout=10,
        )
        assert words.params["message_thread_id"] == new
        assert fake.calls.index(card) < fake.calls.index(words)
        # the store maps the new topic to the case, and its card is the case's thread
        async with app.store.transaction() as tx:
            topic = Address("telegram", str(STAFF), str(new))
            assert await tx.desk.case_for_thread(topic) == case.id
            assert await tx.desk.thread_of("telegram", str(STAFF), case.id) == str(new)

        async def recorded() -> bool:
            rows = await app.store.outbox_rows(case.id)
            return {s for o, s in rows if "still there" in o.text} == {"sent"}

        await until(recorded, "the relayed words recorded as sent")
        # an agent's answer in the new topic reaches the customer
        fake.push_message(
            MARIA,
            "Yes, looking at it now.",
            first_name="Maria",
            chat_id=STAFF,
            message_thread_id=new,
            is_topic_message=True,
        )
        await fake.wait_for("sendMessage", 1, chat_id=ANN, text=lambda t: "looking at it" in t)
        # one new topic, not one per message
        await asyncio.sleep(0)
        assert len(fake.calls_to("createForumTopic")) == 2


async def test_a_429_in_the_staff_group_holds_every_case_back_for_the_wait(
    fake: FakeTelegram, config: Config
) -> None:
    async with running(config) as (app, _):
        await claimed(fake, app, ANN, "Ann")
        await claimed(fake, app, BOB, "Bob")
        before = len(fake.calls_to("sendMessage", chat_id=STAFF))
        fake.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=STAFF)
        fake.push_message(ANN, "ann writes", first_name="Ann")
        fake.push_message(BOB, "bob writes", first_name="Bob")
        for words in ("ann writes", "bob writes"):
            await fake.wait_for(
                "sendMessage",
                1,
                include_failed=False,
                chat_id=STAFF,
                text=lambda t, w=words: w in t,
            )
        calls = fake.calls_to("sendMessage", chat_id=STAFF)[before:]
        assert calls[0].failed and calls[0].error_code == 429
        # no case tried again, nor another case sent, before the wait Telegram asked for
        assert all(c.at - calls[0].at >= 0.95 for c in calls[1:]), [
            (c.at - calls[0].at, text_of(c)) for c in calls
        ]
        assert len(calls) == 3  # the refused one, then each case's words once
