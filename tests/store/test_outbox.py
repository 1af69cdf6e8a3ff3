"""Contract: the outbox (`tx.outbox`, and `Store.pending` reading it): pending until
sent or failed, in order, due when it says."""

from __future__ import annotations

from datetime import timedelta

from bot.model import (
    Address,
    Attachment,
    Button,
    Cause,
    Delivery,
    Outbound,
    Purpose,
    SentFile,
)
from bot.store import Store
from bot.store.protocols import Sendable
from tests.store.conftest import ANN, HERE, NOW


async def test_outbox_rows_move_from_pending_to_sent_or_failed(store: Store) -> None:
    async with store.transaction() as tx:
        ids = [await tx.outbox.enqueue(Outbound(HERE, f"m{i}", Cause.REPLY), NOW) for i in range(3)]
    assert [m.text for m, _ in await store.pending("test")] == ["m0", "m1", "m2"]
    assert await store.pending("test", chat_id="bob") == []
    async with store.transaction() as tx:
        await tx.outbox.mark_sent(ids[0], "p1", NOW)
        await tx.outbox.mark_retry(ids[1], NOW + timedelta(seconds=30), "429")
        await tx.outbox.mark_failed(ids[2], "blocked", NOW)
    [(message, due)] = await store.pending("test")
    assert message.text == "m1" and message.attempts == 1
    assert due == NOW + timedelta(seconds=30)
    states = [state for _, state in await store.outbox_rows()]
    assert states == ["sent", "pending", "failed"]


async def test_a_message_reads_back_as_enqueued_with_growing_ids(store: Store) -> None:
    thread = Address("slack", "C1", "1700000000.000100")
    message = Outbound(
        thread,
        "Hello *there*",
        Cause.CASE_UPDATE,
        customer_id=None,
        case_id=None,
        buttons=(Button("Claim", "desk:claim:1"), Button("Résoudre", "desk:resolve:1")),
        delivery=Delivery(  # every field set: all of it comes back
            purpose=Purpose.AGENT_REPLY,
            in_thread=True,
            card=True,
            card_update=True,
            title="#1 · Ann · pricing",
            receipt_to=Address("desk", "terminal", "1"),
            only_to="U1",
            file=SentFile("data.json", '{"a": "é"}', "application/json"),
            attachments=(Attachment("photo", "F1", "the screen", "a.png"),),
            incident=3,
            idea=4,
            erase_when_sent=True,
            summary_of=(5, 6),
            delivered=False,
        ),
    )
    async with store.transaction() as tx:
        first = await tx.outbox.enqueue(message, NOW)
        second = await tx.outbox.enqueue(Outbound(HERE, "plain", Cause.REPLY), NOW)
    assert second > first
    [(stored, due)] = await store.pending("slack")
    assert stored == Outbound(
        thread, message.text, message.cause, None, None, message.buttons, message.delivery, first, 0
    )
    assert due <= NOW  # at once
    assert [(m.id, m.text) for m, _ in await store.pending("test")] == [(second, "plain")]


async def test_pending_pages_by_id_and_chat(store: Store) -> None:
    async with store.transaction() as tx:
        ids = [
            await tx.outbox.enqueue(Outbound(Address("test", chat), f"{chat}{n}", Cause.REPLY), NOW)
            for n in range(3)
            for chat in ("ann", "bob")
        ]
        await tx.outbox.enqueue(Outbound(Address("other", "ann"), "elsewhere", Cause.REPLY), NOW)
    assert [m.text for m, _ in await store.pending("test", limit=3)] == ["ann0", "bob0", "ann1"]
    after = [m.text for m, _ in await store.pending("test", after=ids[2])]
    assert after == ["bob1", "ann2", "bob2"]
    assert [m.text for m, _ in await store.pending("test", chat_id="bob")] == [
        "bob0",
        "bob1",
        "bob2",
    ]


async def test_every_outcome_counts_an_attempt(store: Store) -> None:
    async with store.transaction() as tx:
        retried = await tx.outbox.enqueue(Outbound(HERE, "r", Cause.REPLY), NOW)
        await tx.outbox.mark_retry(retried, NOW, "x" * 2000)
        await tx.outbox.mark_retry(retried, NOW + timedelta(seconds=1), "again")
    [(message, due)] = await store.pending("test")
    assert message.attempts == 2 and due == NOW + timedelta(seconds=1)
    async with store.transaction() as tx:
        await tx.outbox.mark_sent(retried, "p9", NOW)
    [(sent, state)] = await store.outbox_rows()
    assert state == "sent" and sent.attempts == 3
    assert await store.pending("test") == []


async def test_a_dropped_message_is_gone(store: Store) -> None:
    async with store.transaction() as tx:
        kept = await tx.outbox.enqueue(Outbound(HERE, "kept", Cause.REPLY), NOW)
        erased = await tx.outbox.enqueue(Outbound(HERE, "erase me", Cause.REPLY), NOW)
    async with store.transaction() as tx:
        await tx.outbox.mark_sent(erased, "p2", NOW)
        await tx.outbox.drop(erased)
    assert [m.id for m, _ in await store.outbox_rows()] == [kept]


async def test_outbox_rows_of_one_case(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        case = await tx.cases.new(ann.id, NOW)
        await tx.outbox.enqueue(Outbound(HERE, "about it", Cause.REPLY, ann.id, case.id), NOW)
        await tx.outbox.enqueue(Outbound(HERE, "not", Cause.REPLY, ann.id), NOW)
    assert [(m.text, state) for m, state in await store.outbox_rows(case.id)] == [
        ("about it", "pending")
    ]


async def test_coalesced_messages_go_as_the_first_one(store: Store) -> None:
    async with store.transaction() as tx:
        ids = [await tx.outbox.enqueue(Outbound(HERE, f"m{i}", Cause.DESK), NOW) for i in range(3)]
    async with store.transaction() as tx:
        await tx.outbox.coalesce(ids[0], "m0\n\nm1\n\nm2", ids[1:], NOW)
    [(kept, _)] = await store.pending("test")
    assert kept.id == ids[0] and kept.text == "m0\n\nm1\n\nm2" and kept.attempts == 0
    rows = await store.outbox_rows()
    assert [(m.text, state) for m, state in rows] == [
        ("m0\n\nm1\n\nm2", "pending"),
        ("m1", "sent"),
        ("m2", "sent"),
    ]


async def test_a_senders_progress_comes_back_with_the_pending_message(store: Store) -> None:
    async with store.transaction() as tx:
        first = await tx.outbox.enqueue(Outbound(HERE, "long", Cause.REPLY), NOW)
        second = await tx.outbox.enqueue(Outbound(HERE, "other", Cause.REPLY), NOW)
    async with store.transaction() as tx:
        await tx.outbox.progress(first, {"pieces": 2, "thread": "77", "of": "abc"})
    [(one, _), (two, _)] = await store.pending("test")
    assert dict(one.progress) == {"pieces": 2, "thread": "77", "of": "abc"}
    assert dict(two.progress) == {}
    async with store.transaction() as tx:
        await tx.outbox.mark_sent(first, "p1", NOW)
        await tx.outbox.progress(first, {"pieces": 3})  # too late: it is sent
        await tx.outbox.mark_retry(second, NOW, "timed out")
    [(left, _)] = await store.pending("test")
    assert left.id == second and dict(left.progress) == {}


async def test_pending_leaves_out_the_ids_in_hand(store: Store) -> None:
    """`skip`: the rows the outbox is sending already are not read again; the limit
    counts the rows read."""
    async with store.transaction() as tx:
        ids = [
            await tx.outbox.enqueue(Outbound(Address("test", "ann"), f"m{n}", Cause.REPLY), NOW)
            for n in range(5)
        ]
    read = await store.pending("test", limit=2, skip={ids[0], ids[2]})
    assert [m.text for m, _ in read] == ["m1", "m3"]
    rest = await store.pending("test", after=ids[3], skip=set(ids[:4]))
    assert [m.text for m, _ in rest] == ["m4"]
    assert await store.pending("test", skip=set(ids)) == []


async def test_pending_for_an_owner_reads_its_own_chats_and_those_nobody_owns(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        for chat in ("ann", "bob"):
            await tx.outbox.enqueue(Outbound(Address("test", chat), chat, Cause.REPLY), NOW)
    await store.join("p1", 30)
    assert await store.claim("p1", [("test", "ann")], 30) == {("test", "ann")}
    read = await store.pending("test", owner="p1")
    assert [m.text for m, _ in read] == ["ann", "bob"]


async def test_a_record_says_whether_it_found_the_message_pending(store: Store) -> None:
    """`mark_*` change a pending row only: one erased meanwhile (`/forget`) or
    recorded already (by the process that took its chat over) is left as it is, and
    the caller learns so (it then writes nothing more about it: no receipt)."""
    async with store.transaction() as tx:
        sent, retried, failed, erased = [
            await tx.outbox.enqueue(Outbound(HERE, text, Cause.REPLY), NOW)
            for text in ("sent", "retried", "failed", "erased")
        ]
    async with store.transaction() as tx:
        assert await tx.outbox.mark_sent(sent, "p1", NOW)
        assert await tx.outbox.mark_retry(retried, NOW + timedelta(seconds=5), "429")
        assert await tx.outbox.mark_failed(failed, "blocked", NOW)
        await tx.outbox.drop(erased)
    async with store.transaction() as tx:
        assert not await tx.outbox.mark_sent(sent, "p2", NOW)  # recorded already
        assert not await tx.outbox.mark_failed(sent, "late", NOW)
        assert not await tx.outbox.mark_retry(failed, NOW, "late")
        assert not await tx.outbox.mark_sent(failed, "p3", NOW)
        for record in (
            tx.outbox.mark_sent(erased, "p4", NOW),
            tx.outbox.mark_retry(erased, NOW, "x"),
            tx.outbox.mark_failed(erased, "x", NOW),
        ):
            assert not await record
        assert await tx.outbox.mark_sent(retried, "p5", NOW)  # a retried one is pending
    rows = {m.text: (state, m.attempts) for m, state in await store.outbox_rows()}
    assert rows == {"sent": ("sent", 1), "retried": ("sent", 2), "failed": ("failed", 1)}


async def test_sendable_says_whether_a_message_may_go_now(store: Store) -> None:
    async with store.transaction() as tx:
        waiting, sent, erased = [
            await tx.outbox.enqueue(Outbound(HERE, text, Cause.REPLY), NOW)
            for text in ("waiting", "sent", "erased")
        ]
        await tx.outbox.mark_sent(sent, "p1", NOW)
    async with store.transaction() as tx:
        await tx.outbox.drop(erased)
    assert await store.sendable(waiting) is Sendable.YES
    assert await store.sendable(sent) is Sendable.GONE
    assert await store.sendable(erased) is Sendable.GONE
    assert await store.sendable(10**9) is Sendable.GONE  # never was
    await store.join("p1", 30)
    assert await store.claim("p1", [("test", "ann")], 30) == {("test", "ann")}
    assert await store.sendable(waiting, owner="p1") is Sendable.YES
    assert await store.sendable(sent, owner="p1") is Sendable.GONE
    # another process: where one process owns every chat (SQLite) it owns this one
    # too; where processes share chats (PostgreSQL) it is p1's, not p2's
    await store.join("p2", 30)
    theirs = ("test", "ann") in await store.claim("p2", [("test", "ann")], 30)
    expected = Sendable.YES if theirs else Sendable.ANOTHERS
    assert await store.sendable(waiting, owner="p2") is expected
    await store.release("p1")
    if not theirs:  # nobody owns it now: not p2's until p2 claims it
        assert await store.sendable(waiting, owner="p2") is Sendable.ANOTHERS
        assert await store.claim("p2", [("test", "ann")], 30) == {("test", "ann")}
        assert await store.sendable(waiting, owner="p2") is Sendable.YES
