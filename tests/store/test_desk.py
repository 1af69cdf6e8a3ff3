"""Contract: desk threads mapped to cases (`tx.desk`)."""

from __future__ import annotations

from datetime import timedelta

from bot.model import Address, Cause, Outbound
from bot.store import Store
from tests.store.conftest import NOW, new_customer


async def test_threads_map_to_their_case_and_the_card_s_thread_is_the_case_s(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        one, two = [(await tx.cases.new(await new_customer(tx, name), NOW)).id for name in "ab"]
        card = Address("slack", "C1", "100.1")
        reply = Address("slack", "C1", "100.2")
        assert await tx.desk.case_for_thread(card) is None
        assert await tx.desk.thread_of("slack", "C1", one) is None
        await tx.desk.map_thread(card, one, card=True)
        await tx.desk.map_thread(reply, one)
        assert await tx.desk.case_for_thread(card) == one
        assert await tx.desk.case_for_thread(reply) == one
        assert await tx.desk.case_for_thread(Address("slack", "C2", "100.1")) is None
        assert await tx.desk.thread_of("slack", "C1", one) == "100.1"  # never a reply
        assert await tx.desk.thread_of("telegram", "C1", one) is None
        await tx.desk.map_thread(card, one)  # mapped again, not as a card: still the card
        assert await tx.desk.thread_of("slack", "C1", one) == "100.1"
        again = Address("slack", "C1", "200.1")
        await tx.desk.map_thread(again, one, card=True)  # the card sent again
        assert await tx.desk.thread_of("slack", "C1", one) == "200.1"
        await tx.desk.map_thread(reply, two, card=True)  # moved to another case
        assert await tx.desk.case_for_thread(reply) == two
        assert await tx.desk.thread_of("slack", "C1", two) == "100.2"


async def test_a_card_s_own_message_is_kept_with_its_thread(store: Store) -> None:
    """Where the card is not the thread's first message (a Telegram forum topic), its
    message id is kept for the card's updates; kept when the thread is mapped again
    without it, replaced when given anew, gone with a move to another case."""
    async with store.transaction() as tx:
        one, two = [(await tx.cases.new(await new_customer(tx, name), NOW)).id for name in "ab"]
        topic = Address("telegram", "-100", "7")
        assert await tx.desk.card_message_of("telegram", "-100", one) == ""
        await tx.desk.map_thread(topic, one, card=True, card_message="8")
        assert await tx.desk.thread_of("telegram", "-100", one) == "7"
        assert await tx.desk.card_message_of("telegram", "-100", one) == "8"
        assert await tx.desk.card_message_of("telegram", "-200", one) == ""
        await tx.desk.map_thread(topic, one)  # a message into the topic: the card stays
        assert await tx.desk.card_message_of("telegram", "-100", one) == "8"
        await tx.desk.map_thread(topic, one, card=True, card_message="12")  # sent again in it
        assert await tx.desk.card_message_of("telegram", "-100", one) == "12"
        slack = Address("slack", "C1", "100.1")
        await tx.desk.map_thread(slack, one, card=True)  # the thread is the card
        assert await tx.desk.card_message_of("slack", "C1", one) == ""
        await tx.desk.map_thread(topic, two, card=True)  # moved to another case
        assert await tx.desk.card_message_of("telegram", "-100", two) == ""
        assert await tx.desk.card_message_of("telegram", "-100", one) == ""


async def test_each_viewer_is_shown_every_desk_message_once(store: Store) -> None:
    """`watch` / `unseen` / `saw`: every terminal desk's own account of what it showed.
    A viewer starts with the oldest message not sent yet; a message sent (by anyone) stays
    unseen by each viewer until that one saw it; a failed one is never shown; other
    chats' messages are not the desk's; watching again changes nothing."""
    desk, other = Address("desk", "terminal"), Address("desk", "elsewhere")
    async with store.transaction() as tx:
        old = await tx.outbox.enqueue(Outbound(desk, "before anyone watched", Cause.DESK), NOW)
        await tx.outbox.mark_sent(old, "", NOW)
        waiting = await tx.outbox.enqueue(Outbound(desk, "not sent yet", Cause.DESK), NOW)
        await tx.desk.watch("maria", desk)
        sent = await tx.outbox.enqueue(Outbound(desk, "sent", Cause.DESK), NOW)
        await tx.outbox.mark_sent(sent, "", NOW)
        failed = await tx.outbox.enqueue(Outbound(desk, "failed", Cause.DESK), NOW)
        await tx.outbox.mark_failed(failed, "refused", NOW)
        await tx.outbox.enqueue(Outbound(other, "another chat", Cause.DESK), NOW)
        await tx.desk.watch("sam", desk)  # later: from the oldest not sent yet on, still
        assert [m.id for m in await tx.desk.unseen("maria", desk)] == [waiting, sent]
        assert [m.text for m in await tx.desk.unseen("sam", desk)] == ["not sent yet", "sent"]
        await tx.desk.saw("maria", [waiting])
        await tx.desk.watch("maria", desk)  # again (a restart): where it was
        assert [m.id for m in await tx.desk.unseen("maria", desk)] == [sent]
        assert [m.id for m in await tx.desk.unseen("sam", desk)] == [waiting, sent]
        await tx.outbox.mark_sent(waiting, "", NOW)
        await tx.desk.watch("cat", desk)  # nothing left to send: only what comes next
        assert await tx.desk.unseen("cat", desk) == []
        await tx.desk.saw("maria", [sent, sent])
        assert await tx.desk.unseen("maria", desk) == []
        assert await tx.desk.unseen("maria", desk, limit=1) == []


async def test_a_viewer_s_marks_are_folded_but_never_past_a_message_it_has_not_seen(
    store: Store,
) -> None:
    """What a viewer saw, with everything before it, is kept as a floor (not one mark
    a message): never past a message it has not been shown, whatever it saw after."""
    desk = Address("desk", "terminal")
    later = NOW + timedelta(minutes=5)
    async with store.transaction() as tx:
        await tx.desk.watch("maria", desk)
        a, b = [await tx.outbox.enqueue(Outbound(desk, t, Cause.DESK), NOW) for t in "ab"]
        c = await tx.outbox.enqueue(Outbound(desk, "c", Cause.DESK), later)
        await tx.desk.saw("maria", [a])
        await tx.desk.saw("maria", [c])  # b, made long before c, was not shown
        assert [m.id for m in await tx.desk.unseen("maria", desk)] == [b]
        await tx.desk.saw("maria", [b])
        d = await tx.outbox.enqueue(Outbound(desk, "d", Cause.DESK), later + timedelta(minutes=5))
        await tx.desk.saw("maria", [d])  # a, b, c fold into the floor
        assert await tx.desk.unseen("maria", desk) == []
        e = await tx.outbox.enqueue(Outbound(desk, "e", Cause.DESK), later)
        assert [m.id for m in await tx.desk.unseen("maria", desk)] == [e]
