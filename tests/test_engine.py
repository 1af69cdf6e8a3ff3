"""The engine and dialog through a real SQLite store, one customer at a time and many."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Candor
from bot.config import Config
from bot.model import CaseState, EventKind, Identity, InboundKind
from bot.registry import unbind
from tests.conftest import Clock, Customer, RecordingSender, case_of


async def test_greeting_says_it_is_a_bot_and_gives_the_case_number(
    customer_factory: Callable[[str], Customer], app: Candor
) -> None:
    ann = customer_factory("ann")
    [reply] = await ann.send("", InboundKind.START)
    case = await case_of(app, ann)
    assert "bot" in reply and "not a person" in reply
    assert f"#{case.id}" in reply
    assert "/human" in reply
    [again] = await ann.send("hello!")
    # nothing was asked yet: "again" would be untrue (it is after a question)
    assert f"#{case.id}" in again and "Hi!" in again and "again" not in again


async def test_answer_names_its_article_and_is_on_the_timeline(
    customer_factory: Callable[[str], Customer], app: Candor
) -> None:
    ann = customer_factory("ann")
    [reply] = await ann.send("how much does it cost?")
    assert "$8 per user" in reply
    assert "“Plans and prices”" in reply
    case = await case_of(app, ann)
    assert case.subject == "how much does it cost?"
    kinds = [(e.kind, e.data.get("article")) for e in await app.store.events_of(case.id)]
    # a new customer's first reply first says that this is a bot (a greeting)
    assert kinds == [
        (EventKind.CUSTOMER, None),
        (EventKind.GREETING, None),
        (EventKind.ANSWER, "pricing-plans"),
    ]


async def test_unknown_question_is_admitted_and_offers_a_person(
    customer_factory: Callable[[str], Customer], sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    [reply] = await ann.send("what is the capital of peru")
    assert "I don't know" in reply
    assert unbind(sender.sent[-1].buttons[0].payload)[0] == "human"


async def test_handover_article_offers_a_person_at_once(
    customer_factory: Callable[[str], Customer], sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    [article, offer] = await ann.send("I want my money back")
    assert "unused months" in article and "“Refunds”" in article
    assert "a person should look at" in offer
    assert [unbind(b.payload)[0] for b in sender.sent[-1].buttons] == [
        "handover:send",
        "handover:add",
        "handover:cancel",
    ]


async def test_one_case_per_customer_across_messages_and_restarts(
    config: Config, clock: Clock
) -> None:
    sender = RecordingSender()
    async with Candor(config, clock=clock) as app:
        app.outbox.register(sender)
        ann = Customer(app, sender, "ann")
        await ann.send("is there a free trial")
        await ann.send("how much does it cost")
        first = await case_of(app, ann)
    async with Candor(config, clock=clock) as app:
        app.outbox.register(sender)
        ann = Customer(app, sender, "ann")
        [welcome] = await ann.send("", InboundKind.START)
        again = await case_of(app, ann)
        assert again.id == first.id
        assert len(await app.store.cases_of(again.customer_id)) == 1
    assert f"#{first.id}" in welcome and "Welcome back" in welcome
    assert "is there a free trial" in welcome  # what the case is about
    assert "“The free trial”" in welcome


async def test_a_repeated_platform_event_is_ignored(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    inbound = ann.inbound("is there a free trial")
    first = await app.engine.receive(inbound)
    second = await app.engine.receive(inbound)
    await app.outbox.deliver_due()
    assert not first.duplicate and second.duplicate
    # the message, the bot's introduction, the answer: once each
    assert len(await app.store.events_of(first.case_id or 0)) == 3
    assert len(sender.sent) == 1


async def test_status_shows_number_state_history_and_next_step(
    customer_factory: Callable[[str], Customer], app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("is there a free trial")
    [status] = await ann.send("/status")
    case = await case_of(app, ann)
    assert f"**Case #{case.id}**: open, handled by the bot" in status
    assert "you wrote “is there a free trial”" in status
    assert "I answered with the article “The free trial”" in status
    assert "What happens next:" in status and "/human" in status


async def test_human_puts_the_case_in_the_queue_with_its_position(
    customer_factory: Callable[[str], Customer], app: Candor, clock: Clock
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await ann.send("/human")
    [a] = await ann.press("handover:send")
    clock.advance(seconds=5)
    await bob.send("can I talk to a real person please")
    [b] = await bob.press("handover:send")
    assert "number 1 in the queue" in a
    assert "number 2 in the queue" in b
    case = await case_of(app, bob)
    assert case.state is CaseState.WAITING
    assert case.handover_reason == "the customer asked for a person"
    [status] = await bob.send("/status")
    assert "waiting for a person" in status and "number 2 in the queue" in status
    [more] = await bob.send("also, it's urgent")
    assert "Added to case" in more
    events = await app.store.events_of(case.id)
    assert any(e.kind is EventKind.HANDOVER for e in events)
    assert events[-2].text == "also, it's urgent"


async def test_clarify_offers_options_and_a_pick_answers(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
) -> None:
    ann = customer_factory("ann")
    await ann.send("hi")
    replies = await ann.press(await ann.own("article:free-trial"))
    assert "14 days" in replies[0]
    # "None of these" names the menu it was on: one with no menu named (a payload of
    # an older version, or forged) is no longer active
    replies = await ann.press(await ann.own("none"))
    assert "no longer active" in replies[0]
    replies = await ann.press(await ann.own("human"))
    assert "This is what I will pass on" in replies[0]


async def test_bad_input_gets_a_clear_reply(
    customer_factory: Callable[[str], Customer], app: Candor
) -> None:
    ann = customer_factory("ann")
    [empty] = await ann.send("   ")
    assert "empty message" in empty
    [unknown] = await ann.send("/frobnicate now")
    assert "I don't know the command /frobnicate" in unknown
    for text in ("x" * 100_000, "\x00\x07\x1b[31m", "مرحبا كيف حالك", "😀😀😀", "<b>&amp;</b>"):
        replies = await ann.send(text)
        assert len(replies) == 1
    case = await case_of(app, ann)
    stored = [e.text for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
    assert "[31m" in stored  # control characters removed, the rest kept
    assert len(stored[2]) == 64_000  # a huge message is kept up to the limit, not dropped


async def test_customers_are_handled_concurrently_and_each_in_order(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    people = [customer_factory(f"c{i}") for i in range(20)]

    async def talk(person: Customer) -> None:
        for n in range(5):
            await app.engine.receive(person.inbound(f"message {n} from {person.name}"))

    await asyncio.gather(*(talk(p) for p in people))
    await app.outbox.deliver_due()
    for person in people:
        case = await case_of(app, person)
        said = [e.text for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
        assert said == [f"message {n} from {person.name}" for n in range(5)]
        assert len(sender.texts(person.name)) == 5


async def test_a_failing_dialog_keeps_the_message_and_apologises(
    customer_factory: Callable[[str], Customer], app: Candor
) -> None:
    ann = customer_factory("ann")

    def broken() -> None:
        raise RuntimeError("knowledge base exploded")

    app.dialog.services._knowledge = broken  # type: ignore[assignment]
    [reply] = await ann.send("how much does it cost")
    assert "Sorry, something went wrong" in reply
    case = await case_of(app, ann)
    [event] = await app.store.events_of(case.id)
    assert event.text == "how much does it cost" and event.data["error"] is True


async def test_resolved_case_reopens_within_the_window_and_not_after(
    customer_factory: Callable[[str], Customer], app: Candor, clock: Clock
) -> None:
    ann = customer_factory("ann")
    await ann.send("is there a free trial")
    case = await case_of(app, ann)
    async with app.store.transaction() as tx:
        from dataclasses import replace

        await tx.cases.update(replace(case, state=CaseState.RESOLVED, resolved_at=clock.now))
    clock.advance(hours=1)
    await ann.send("one more thing about the trial")
    reopened = await case_of(app, ann)
    assert reopened.id == case.id and reopened.state is CaseState.BOT
    async with app.store.transaction() as tx:
        await tx.cases.update(replace(reopened, state=CaseState.RESOLVED, resolved_at=clock.now))
    clock.advance(hours=100)
    [welcome] = await ann.send("", InboundKind.START)  # opening the chat reopens nothing
    assert f"Your last case **#{case.id}** was resolved" in welcome
    assert "open a new case" in welcome
    assert (await case_of(app, ann)).state is CaseState.RESOLVED
    await ann.send("a new question: is there a free trial")
    fresh = await case_of(app, ann)
    assert fresh.id != case.id and fresh.state is CaseState.BOT
    [status] = await ann.send("/status")
    assert re.search(rf"Case #{fresh.id}\b", status)
    assert f"the earlier case was #{case.id}" in status


async def test_identity_is_per_channel_user(app: Candor, sender: RecordingSender) -> None:
    a = Customer(app, sender, "ann")
    b = Customer(app, sender, "ann2")
    b.identity = Identity("test", "other-workspace", "ann")
    await a.send("hi")
    await b.send("hi")
    ca = await app.store.customer_by_identity(a.identity)
    cb = await app.store.customer_by_identity(b.identity)
    assert ca is not None and cb is not None and ca.id != cb.id


async def test_a_locked_database_stores_nothing_and_the_message_comes_again(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    import sqlite3

    from bot import config as config_module
    from bot.store import StoreError
    from tests.conftest import write_config

    path = write_config(tmp_path, knowledge_dir, "")
    text = path.read_text(encoding="utf-8").replace(
        "[storage]\n", "[storage]\nbusy_timeout_seconds = 0.2\n"
    )
    path.write_text(text, encoding="utf-8")
    config = config_module.load(path)
    async with Candor(config) as app:
        sender = RecordingSender()
        app.outbox.register(sender)
        ann = Customer(app, sender, "ann")
        other = sqlite3.connect(config.storage.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # a backup or another process holds it
        message = ann.inbound("how much does it cost?")
        with pytest.raises(StoreError, match="is busy"):
            await app.engine.receive(message)
        other.execute("ROLLBACK")
        other.close()
        assert await app.store.customer_by_identity(ann.identity) is None
        receipt = await app.engine.receive(message)  # the platform sends it again
        assert not receipt.duplicate
        await app.outbox.deliver_due()
        assert any("Plans and prices" in t for t in sender.texts("ann"))


async def test_a_full_disk_stores_nothing_corrupts_nothing_and_the_message_comes_again(
    app: Candor, sender: RecordingSender
) -> None:
    from bot.store import SQLiteStore

    ann = Customer(app, sender, "ann")
    await ann.send("hello")
    assert isinstance(app.store, SQLiteStore)
    db = app.store.db
    [(pages,)] = await db.execute_fetchall("PRAGMA page_count")
    # SQLite's own limit on the file size stands in for a full disk (SQLITE_FULL)
    await db.execute(f"PRAGMA max_page_count = {pages}")
    message = ann.inbound("how much does it cost? " + "and more " * 2000)
    with pytest.raises(Exception, match="full"):
        await app.engine.receive(message)
    await db.execute("PRAGMA max_page_count = 1073741823")
    [(check,)] = await db.execute_fetchall("PRAGMA integrity_check")
    assert check == "ok"
    events = await app.store.events_of(1)
    assert not any(e.text.startswith("how much does it cost?") for e in events)
    receipt = await app.engine.receive(message)  # delivered again once there is room
    assert not receipt.duplicate
    events = await app.store.events_of(1)
    assert [e.text for e in events].count(message.text.strip()) == 1
