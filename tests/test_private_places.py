"""What is private where (issue 14, findings 1, 12 and 13): words said in a private
place never reach a shared one; a button acts only for whom it was shown to, while
its question is open; a home-workspace colleague in a shared channel is no customer.

The Slack attacks go through the real slack-bolt against the fake Slack Web API
(tests/fakes/slack.py), with the fixtures of tests/test_slack.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from adapters.telegram.convert import to_inbound
from bot.app import Candor
from bot.config import Config
from bot.model import Address, Cause, Delivery, Identity, Inbound, Outbound
from bot.outbox import Outbox, unsolicited
from bot.registry import MAX_PAYLOAD, RegistryError, bind, pack, unbind
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite.rows import address_json, address_of, digest
from bot.store.sqlite.schema import migrations, statements
from tests import test_slack as on_slack
from tests import test_telegram as on_telegram
from tests.conftest import Clock, Customer, RecordingSender
from tests.fakes import slack as fakes
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.test_slack import (
    ACME,
    ANN,
    BOB,
    COLLEAGUE,
    DM,
    HOME,
    MARIA,
    SECRET,
    SHARED,
    TRIAGE,
    Slack,
    case_of,
    config_for,
    running,
    text_of,
)

fake = on_slack.fake  # the fake Slack of tests/test_slack.py, with its people and channels
port = on_slack.port


@pytest.fixture
def slack_config(tmp_path: Path, knowledge_dir: Path, fake: FakeSlack, port: int) -> Config:
    return config_for(tmp_path, knowledge_dir, fake, port)


SECRET_WORDS = "PRIVATE: my card ending 4242"


def shown_in(fake: FakeSlack, channel: str) -> list[str]:
    """Everything the bot sent into `channel` that others there can see (every call
    but ephemeral messages), as the fake received it."""
    return [
        json.dumps(call.params, ensure_ascii=False)
        for call in fake.calls
        if call.method != "chat.postEphemeral"
        and channel in (call.params.get("channel"), call.params.get("channel_id"))
    ]


async def private_then_shared(slack: Slack) -> None:
    """Ann tells the bot something in a DM, and gets her answer there."""
    await slack.say(ANN, SECRET_WORDS, channel=DM)
    await slack.reply_to(DM, None)


# -- finding 1: words said in private never reach a shared place ------------------------


async def test_status_in_a_shared_channel_never_shows_what_was_said_in_a_dm(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(slack_config):
        await private_then_shared(slack)
        asked = await slack.say(ANN, "!status")  # the shared Slack Connect channel
        [status] = await slack.only_to(ANN)
        assert status.params["channel"] == SHARED and status.params["thread_ts"] == asked["ts"]
        assert "4242" in text_of(status)  # she sees her case's story, and nobody else
        assert not any("4242" in shown for shown in shown_in(fake, SHARED))


async def test_mydata_in_a_shared_channel_goes_to_the_dm_and_never_into_the_channel(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(slack_config):
        await private_then_shared(slack)
        await slack.say(ANN, "!mydata")
        [upload] = await fake.wait_for("files.completeUploadExternal", 1)
        assert upload.params["channel_id"] == DM
        [file] = fake.files.values()
        assert "4242" in file["data"].decode()
        [note] = await slack.only_to(ANN)  # where she asked: where it went, to her alone
        assert note.params["channel"] == SHARED and "direct message" in note.params["text"]
        summary = fake.sent(channel=DM, text=lambda t: "What I store about you" in t)
        assert len(summary) == 1
        assert not any("4242" in shown for shown in shown_in(fake, SHARED))
        assert not any("What I store" in shown for shown in shown_in(fake, SHARED))


async def test_forget_asked_in_a_shared_channel_is_answered_to_the_customer_alone(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(slack_config) as app:
        await private_then_shared(slack)
        await slack.say(ANN, "!forget")
        [question] = await slack.only_to(ANN)
        await slack.press(ANN, question, "forget:yes")
        [_, done] = await slack.only_to(ANN, 2)
        assert "everything I stored about you is erased" in text_of(done)
        assert done.params["channel"] == SHARED
        assert await app.store.customer_by_identity(Identity("slack", ACME, ANN)) is None
        assert not any("erase" in shown for shown in shown_in(fake, SHARED))


async def test_an_agent_s_reply_goes_where_the_words_it_answers_were_said(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(slack_config) as app:
        await private_then_shared(slack)
        await slack.say(ANN, "/human", channel=DM)
        [*_, proposal] = await slack.reply_to(DM, None, 2)
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        case = await case_of(app, ANN)
        await slack.press(MARIA, card, f"desk:claim:{case.id}", team=HOME)
        await fake.wait_for("chat.postMessage", 1, channel=DM, text=lambda t: "Maria" in t)
        # Ann last wrote in the shared channel, none of the words this case is about
        asked = await slack.say(ANN, "!help")
        await slack.reply_to(SHARED, asked["ts"])
        await slack.say(
            MARIA,
            "About that card ending 4242: refunded.",
            channel=TRIAGE,
            thread_ts=card.result["ts"],
            team=HOME,
        )
        [reply] = await fake.wait_for(
            "chat.postMessage", 1, channel=DM, text=lambda t: "refunded" in t
        )
        assert reply.params.get("thread_ts") is None
        assert not any("refunded" in shown for shown in shown_in(fake, SHARED))
        assert not any("4242" in shown for shown in shown_in(fake, SHARED))


def test_the_outbox_refuses_a_private_message_to_a_shared_place_whatever_made_it() -> None:
    room = Address("test", "room")  # shared: the default
    chat = Address("test", "ann", private=True)
    private = Delivery(private=True)
    made = Outbound(room, "you wrote 4242", Cause.REPLY, customer_id=1, case_id=1, delivery=private)
    assert unsolicited(made, set()) == "private words to a shared place"
    for cause in (Cause.CASE_UPDATE, Cause.INCIDENT, Cause.IDEA):
        other = Outbound(room, "4242", cause, customer_id=1, case_id=1, delivery=private)
        assert unsolicited(other, set()) == "private words to a shared place"
    # in a private place it goes; in a shared one only to the one person
    assert unsolicited(Outbound(chat, "4242", Cause.REPLY, 1, 1, delivery=private), set()) == ""
    alone = Delivery(private=True, private_to="U0ANN")
    assert unsolicited(Outbound(room, "4242", Cause.REPLY, 1, 1, delivery=alone), set()) == ""
    # and what is not private goes to a shared place as before
    assert unsolicited(Outbound(room, "hello", Cause.REPLY, 1, 1), set()) == ""


class ShowsToOne(RecordingSender):
    shows_to_one = True  # as the Slack and Telegram senders declare


async def test_a_private_message_to_a_shared_place_is_never_sent(
    config: Config, clock: Clock
) -> None:
    room = Address("test", "room")
    async with Candor(config, clock=clock) as app:
        plain, alone = RecordingSender(), ShowsToOne("alone")
        outbox = Outbox(app.store, clock)
        outbox.register(plain)
        outbox.register(alone)
        async with app.store.transaction() as tx:
            for delivery in (Delivery(private=True), Delivery(private=True, private_to="ann")):
                for where in (room, replace(room, channel="alone")):
                    leaking = Outbound(where, "you wrote: 4242", Cause.REPLY, delivery=delivery)
                    await tx.outbox.enqueue(leaking, clock())
        assert await outbox.deliver_due() == 1
        # only to the one person, by a sender that can show it to them alone
        [sent] = alone.sent
        assert sent.delivery.private_to == "ann"
        assert plain.sent == []
        for channel in ("test", "alone"):
            assert await outbox.pending_count(channel) == 0  # refused for good


def test_whether_a_place_is_private_is_kept_but_is_not_what_the_place_is() -> None:
    dm = Address("slack", "D0ANN", private=True)
    assert address_of(address_json(dm)).private
    assert not address_of(address_json(Address("slack", "C0ACME", "1.2"))).private
    assert address_of('["slack", "D0ANN", ""]') == dm  # the same place, however learnt
    assert hash(Address("slack", "D0ANN")) == hash(dm)
    delivery = Delivery(private=True, private_to="U0ANN")
    assert Delivery.from_json(delivery.to_json()) == delivery


def test_telegram_private_chats_are_private_and_groups_shared() -> None:
    def update(chat: dict[str, Any]) -> Inbound:
        data = {
            "update_id": 1,
            "message": {
                "message_id": 7,
                "date": 1_700_000_000,
                "chat": chat,
                "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
                "text": "hello",
            },
        }
        found = to_inbound(Update.de_json(data, bot=None), staff_group_id=-100)
        assert isinstance(found, Inbound)
        return found

    assert update({"id": 42, "type": "private"}).address.private
    group = update({"id": -100, "type": "supergroup", "title": "Staff"})
    assert not group.address.private


async def test_addresses_stored_before_migration_9_are_read_as_the_places_they_were(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v8.sqlite3"
    old = sqlite3.connect(path)
    old.create_function("candor_digest", 1, digest)
    for version, _, sql in migrations():
        if version <= 8:
            for statement in statements(sql):
                old.execute(statement)
    old.execute("PRAGMA user_version = 8")
    places = {
        1: (["slack", "D0ANN", ""], True),
        2: (["slack", "C0ACME", "17.1"], False),
        3: (["telegram", "1001", ""], True),
        4: (["telegram", "-1002", ""], False),
        5: (["console", "ann", ""], True),
    }
    for n, (where, _) in places.items():
        old.execute(f"INSERT INTO customers (id, name, created_at) VALUES ({n}, 'c{n}', 0)")
        old.execute(
            "INSERT INTO identities (channel, workspace, user_id, customer_id, address,"
            " last_used_at) VALUES (?, '', ?, ?, ?, 0)",
            (where[0], f"u{n}", n, json.dumps(where)),
        )
        old.execute(
            "INSERT INTO outbox (channel, address, customer_id, cause, text, created_at)"
            " VALUES (?, ?, ?, 'reply', 'hi', 0)",
            (where[0], json.dumps(where), n),
        )
    old.commit()
    old.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        async with store.transaction() as tx:
            for n, (_, private) in places.items():
                address = await tx.customers.address_of(n)
                assert address is not None and address.private is private, n
        for channel in ("slack", "telegram", "console"):
            for message, _ in await store.pending(channel):
                assert message.address.private is places[message.customer_id or 0][1]
    finally:
        await store.close()


# -- finding 12: a button acts for whom it was shown to, while its question is open -----


async def test_a_forged_or_stale_forget_button_erases_nothing(
    customer_factory: Callable[[str], Customer], app: Candor
) -> None:
    """Held before (the question is a state of the case): proved here."""
    ann = customer_factory("ann")
    await ann.send("hello")
    for forged in ("forget:yes", await ann.own("forget:yes")):  # never asked, hers or not
        [answer] = await ann.press(forged)
        assert "everything I stored about you is erased" not in answer
        assert await app.store.customer_by_identity(ann.identity) is not None
    await ann.send("/forget")
    [kept] = await ann.press("forget:no")
    assert "Nothing was erased" in kept
    [stale] = await ann.press("forget:yes")  # the yes of the question answered already
    assert "Nothing was erased" in stale
    assert await app.store.customer_by_identity(ann.identity) is not None


async def test_bob_pressing_ann_s_yes_in_a_shared_channel_erases_nobody(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(slack_config) as app:
        await slack.say(BOB, "hello")
        before = len(fake.calls)
        await slack.say(BOB, "!forget")  # Bob has a question of his own open
        await asked(fake, before)  # (sent before Ann's, so not taken for hers below)
        await slack.say(ANN, "how much does it cost?")
        mark = len(fake.calls)
        await slack.say(ANN, "!forget")
        question = await asked(fake, mark)
        status, _ = await slack.press(BOB, question, "forget:yes")  # Ann's button, Bob's press
        assert status == 200  # acknowledged once what it did was stored: nothing
        assert await app.store.customer_by_identity(Identity("slack", ACME, BOB)) is not None
        assert await app.store.customer_by_identity(Identity("slack", ACME, ANN)) is not None
        [refused] = await fake.wait_for(
            "chat.postEphemeral", 1, user=BOB, text=lambda t: "someone else" in t
        )
        assert refused.params["channel"] == SHARED
        # and Ann's own press still works
        await slack.press(ANN, question, "forget:yes")
        await fake.wait_for("chat.postEphemeral", 1, user=ANN, text=lambda t: "is erased" in t)
        assert await app.store.customer_by_identity(Identity("slack", ACME, ANN)) is None
        assert await app.store.customer_by_identity(Identity("slack", ACME, BOB)) is not None


async def asked(fake: FakeSlack, since: int) -> Any:
    """The /forget question the bot sent after call number `since`, however it was
    sent (waiting for what the bot does, within a generous bound)."""
    for _ in range(500):
        for call in fake.calls[since:]:
            sent = call.method in ("chat.postMessage", "chat.postEphemeral")
            if sent and call.ok and "Erase everything now?" in text_of(call):
                return call
        await asyncio.sleep(0.02)
    raise AssertionError("no /forget question was sent")


def test_a_bound_payload_fits_telegram_s_64_bytes() -> None:
    longest = pack("k" * 15, "f" * (MAX_PAYLOAD - 12 - 16))
    assert len(bind(longest, 99_999_999_999).encode()) <= MAX_PAYLOAD
    try:
        pack("k", "f" * (MAX_PAYLOAD - 12))
    except RegistryError:
        pass
    else:
        raise AssertionError("a payload with no room for its owner was packed")
    assert unbind(bind("rate:4", 12)) == ("rate:4", 12)
    assert unbind("rate:4") == ("rate:4", None)
    assert unbind("rate:4@x") == ("rate:4@x", None)


# -- finding 13: a home-workspace colleague in a shared channel is no customer ---------


async def test_a_colleague_s_press_or_slash_command_in_a_shared_channel_makes_no_customer(
    fake: FakeSlack, slack_config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(slack_config) as app:
        await slack.say(ANN, "what is the capital of peru")
        [unknown] = await fake.wait_for(
            "chat.postMessage", 1, channel=SHARED, text=lambda t: "know" in t
        )
        owed = len(await app.store.outbox_rows())
        # each is acknowledged only once what it does is stored: nothing, here
        status, _ = await slack.press(COLLEAGUE, unknown, "human", team=HOME)
        assert status == 200
        fields = fakes.slash_command("/candor", "mydata", user=COLLEAGUE, channel=SHARED, team=HOME)
        status, body = await fakes.post_command(slack.url, fields, SECRET)
        assert status == 200 and "staff" in body  # told so, to them alone
        assert await app.store.customer_by_identity(Identity("slack", HOME, COLLEAGUE)) is None
        assert len(await app.store.outbox_rows()) == owed  # nothing to send to anyone
        assert (await case_of(app, ANN)).state.value == "bot"  # her case was not handed over


async def test_telegram_shows_a_private_message_asked_in_a_group_in_the_private_chat(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """Customers are answered in private chats only today; if one ever asked in a
    group, what is for their eyes alone would go to their private chat."""
    async with FakeTelegram(on_telegram.TOKEN) as server:
        config = on_telegram.telegram_config(tmp_path, knowledge_dir, server)
        async with on_telegram.running(config) as (app, _):
            async with app.store.transaction() as tx:
                message = Outbound(
                    Address("telegram", "-500"),
                    "your case: my card ending 4242",
                    Cause.REPLY,
                    delivery=Delivery(private=True, private_to=str(on_telegram.ANN)),
                )
                await tx.outbox.enqueue(message, app.clock())
            app.outbox.wake()
            [sent] = await server.wait_for("sendMessage", 1, include_failed=False)
            assert sent.params["chat_id"] == on_telegram.ANN
            assert server.calls_to("sendMessage", chat_id=-500) == []
