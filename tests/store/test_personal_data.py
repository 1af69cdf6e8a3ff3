"""Contract: a customer's data across every repository that holds some of it, for
`/mydata` (`tx.export_customer`), `/forget` (`tx.forget_customer`) and `/link`
(`tx.merge_customers`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from bot.model import (
    Address,
    CaseState,
    Cause,
    Conversation,
    Delivery,
    EventKind,
    Identity,
    Outbound,
)
from bot.store import Store, Transaction
from tests.store.conftest import BOB, NOW, THERE, Backend

ANN = Identity("test", "w", "ann-4711")
HERE = Address("test", "ann-4711")
DESK = Address("slack", "C0DESK", "")


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def event(minutes: float, kind: str, by: str, text: str, **data: object) -> dict[str, object]:
    """An event as the export shows it."""
    return {"at": at(minutes).isoformat(), "kind": kind, "by": by, "text": text, "data": data}


@dataclass
class Ann:
    """What `lived` stored about Ann: a resolved case she rated, an open one with a
    person, feedback, ideas, an incident, notice settings, a link code, messages."""

    id: int
    old_case: int
    open_case: int
    shared_idea: int
    own_idea: int
    incident: int
    pending: int  # a /link waiting for a yes


async def lived(tx: Transaction, identity: Identity = ANN, address: Address = HERE) -> Ann:
    ann, _ = await tx.customers.for_identity(identity, "Ann Secretname", address, at(0))
    old = await tx.cases.new(ann.id, at(0))
    await tx.timeline.append(old.id, EventKind.CUSTOMER, "customer", "secret question", at(0))
    await tx.timeline.append(old.id, EventKind.ANSWER, "bot", "an answer", at(1), {"article": "x"})
    await tx.cases.update(
        replace(old, state=CaseState.RESOLVED, subject="secret subject", resolved_at=at(2))
    )
    await tx.timeline.append(old.id, EventKind.STATE, "bot", "resolved", at(2))
    await tx.timeline.append(old.id, EventKind.RATING, "customer", "4", at(3), {"score": 4})
    await tx.timeline.append(
        old.id, EventKind.RATING, "customer", "secret comment", at(4), {"comment": True}
    )
    case = await tx.cases.new(ann.id, at(10))
    await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "secret invoice", at(10))
    await tx.timeline.append(
        case.id,
        EventKind.HANDOVER,
        "bot",
        "the customer asked for a person",
        at(11),
        {"summary": "secret summary"},
    )
    await tx.timeline.append(case.id, EventKind.CLAIM, "Maria", "claimed", at(12))
    await tx.timeline.append(case.id, EventKind.NOTE, "Maria", "VIP, be quick", at(13))
    await tx.timeline.append(case.id, EventKind.AGENT, "Maria", "secret agent reply", at(14))
    await tx.cases.update(
        replace(
            case,
            state=CaseState.AGENT,
            subject="secret invoice",
            handover_reason="the customer asked for a person",
            handed_over_at=at(11),
            agent="Maria",
            claimed_at=at(12),
            summary="secret summary",
            draft_summary="secret draft",
            pending_reason="secret pending",
            unanswered=1,
            conversation=Conversation.ADDING_TO_SUMMARY,
            conversation_until=at(60),
            conversation_note="secret held-back question",
        )
    )
    await tx.feedback.add(ann.id, case.id, "secret feedback", at(15))
    own = await tx.ideas.add(ann.id, "secret idea only ann wants", at(16))
    shared = await tx.ideas.add(ann.id, "an idea others want too", at(16))
    bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, at(0))
    await tx.ideas.vote(shared, bob.id, at(17))
    incident = await tx.incidents.open("Card payments fail", "", ["card"], "Maria", at(5))
    await tx.incidents.subscribe(incident, ann.id, at(18))
    await tx.notices.set_quiet(
        ann.id, muted_until=at(600), until_write=False, quiet_hours="22:00-07:00"
    )
    await tx.notices.set_community_off(ann.id, True)
    await tx.links.add_code(ann.id, "SECR-ETCD", at(19), at(29))
    await tx.links.add_failure(identity, at(19))
    pending = await tx.links.pend(ann.id, bob.id, at(19), at(49))
    sent = await tx.outbox.enqueue(
        Outbound(address, "secret reply", Cause.REPLY, ann.id, case.id), at(20)
    )
    await tx.outbox.mark_sent(sent, "p-1", at(20))
    await tx.outbox.enqueue(Outbound(address, "secret pending", Cause.REPLY, ann.id), at(21))
    card = await tx.outbox.enqueue(
        Outbound(DESK, "secret card", Cause.DESK, None, case.id, delivery=Delivery(card=True)),
        at(22),
    )
    await tx.outbox.mark_sent(card, "999.1", at(22))
    await tx.desk.map_thread(replace(DESK, thread_id="999.1"), case.id, card=True)
    return Ann(ann.id, old.id, case.id, shared, own, incident, pending)


async def test_the_export_is_everything_the_customer_may_see(store: Store) -> None:
    async with store.transaction() as tx:
        ann = await lived(tx)
        bob = await tx.customers.for_identity(BOB, "Bob", THERE, at(30))
        await tx.feedback.add(bob[0].id, None, "bob's own words", at(30))
        await tx.customers.touch(ann.id, at(25))
    async with store.transaction() as tx:
        export = await tx.export_customer(ann.id)

    assert export == {
        "customer": {
            "id": ann.id,
            "name": "Ann Secretname",
            "first_seen": at(0).isoformat(),
            "last_seen": at(25).isoformat(),
            "language": "",
            "language_chosen": False,
        },
        "identities": [
            {
                "channel": "test",
                "workspace": "w",
                "user_id": "ann-4711",
                "last_used": at(0).isoformat(),
            }
        ],
        "cases": [
            {
                "id": ann.old_case,
                "state": "resolved",
                "subject": "secret subject",
                "opened": at(0).isoformat(),
                "resolved": at(2).isoformat(),
                "handover_reason": "",
                "agent": "",
                "summary_you_confirmed": "",
                "summary_not_yet_sent": None,
                "waiting_for_you": None,
                "your_message_waiting": None,
                "events": [
                    event(0, "customer", "customer", "secret question"),
                    event(1, "answer", "bot", "an answer", article="x"),
                    event(2, "state", "bot", "resolved"),
                    event(3, "rating", "customer", "4", score=4),
                    event(4, "rating", "customer", "secret comment", comment=True),
                ],
            },
            {
                "id": ann.open_case,
                "state": "agent",
                "subject": "secret invoice",
                "opened": at(10).isoformat(),
                "resolved": None,
                "handover_reason": "the customer asked for a person",
                "agent": "Maria",
                "summary_you_confirmed": "secret summary",
                "summary_not_yet_sent": "secret draft",
                "waiting_for_you": "adding_to_summary",
                "your_message_waiting": "secret held-back question",
                "events": [  # the internal note is the team's, not the customer's
                    event(10, "customer", "customer", "secret invoice"),
                    event(
                        11,
                        "handover",
                        "bot",
                        "the customer asked for a person",
                        summary="secret summary",
                    ),
                    event(12, "claim", "Maria", "claimed"),
                    event(14, "agent", "Maria", "secret agent reply"),
                ],
            },
        ],
        "feedback": [{"at": at(15).isoformat(), "text": "secret feedback"}],
        "ideas_voted_for": [
            {"id": ann.own_idea, "text": "secret idea only ann wants", "state": "open"},
            {"id": ann.shared_idea, "text": "an idea others want too", "state": "open"},
        ],
        "incidents_followed": [
            {"id": ann.incident, "title": "Card payments fail", "state": "open"}
        ],
        "preferences": {
            "notices_muted_until": at(600).isoformat(),
            "notices_muted_until_you_write": False,
            "quiet_hours": "22:00-07:00",
            "community_places_offered": False,
        },
    }
    assert list(export) == [  # the order the file shows them in
        "customer",
        "identities",
        "cases",
        "feedback",
        "ideas_voted_for",
        "incidents_followed",
        "preferences",
    ]


async def test_forget_leaves_no_trace_and_keeps_the_anonymous_counts(
    store: Store, backend: Backend, tmp_path: Path
) -> None:
    async with store.transaction() as tx:
        ann = await lived(tx)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, at(0))
        bob_case = await tx.cases.new(bob.id, at(1))
        await tx.timeline.append(bob_case.id, EventKind.CUSTOMER, "customer", "bob asks", at(1))
        await tx.feedback.add(bob.id, None, "bob's feedback", at(2))
    async with store.transaction() as tx:
        assert sorted(await tx.forget_customer(ann.id, at(40))) == [ann.old_case, ann.open_case]
    dump = backend.dump(tmp_path)
    for trace in ("secret", "Secretname", "ann-4711", "VIP", "22:00", "p-1", "999.1"):
        assert trace not in dump, trace
    assert "bob asks" in dump and "bob's feedback" in dump  # bob is untouched
    async with store.transaction() as tx:
        assert await tx.export_customer(ann.id) == {
            "customer": {
                "id": ann.id,
                "name": "",
                "first_seen": at(0).isoformat(),
                "last_seen": None,
                "language": "",
                "language_chosen": False,
            },
            "identities": [],
            "cases": [
                {
                    "id": ann.old_case,
                    "state": "resolved",
                    "subject": "",
                    "opened": at(0).isoformat(),
                    "resolved": at(2).isoformat(),
                    "handover_reason": "",
                    "agent": "",
                    "summary_you_confirmed": "",
                    "summary_not_yet_sent": None,
                    "waiting_for_you": None,
                    "your_message_waiting": None,
                    "events": [
                        event(2, "state", "bot", ""),
                        event(3, "rating", "customer", "", score=4),
                        event(4, "rating", "customer", ""),
                    ],
                },
                {
                    "id": ann.open_case,
                    "state": "resolved",  # closed, at the time of forgetting
                    "subject": "",
                    "opened": at(10).isoformat(),
                    "resolved": at(40).isoformat(),
                    "handover_reason": "the customer asked for a person",
                    "agent": "Maria",
                    "summary_you_confirmed": "",
                    "summary_not_yet_sent": None,
                    "waiting_for_you": None,
                    "your_message_waiting": None,
                    "events": [
                        event(11, "handover", "bot", ""),
                        event(12, "claim", "Maria", ""),
                    ],
                },
            ],
            "feedback": [],
            "ideas_voted_for": [],
            "incidents_followed": [],
            "preferences": {
                "notices_muted_until": None,
                "notices_muted_until_you_write": False,
                "quiet_hours": "",
                "community_places_offered": True,
            },
        }
        assert await tx.customers.address_of(ann.id) is None
        # wrong /link tries stay, by a digest of the identity, for the hour they count
        assert await tx.links.failures(ANN, at(0)) == 1
        assert await tx.links.take_code("SECR-ETCD", at(20)) is None
        assert await tx.links.pending(ann.pending, at(20)) is None
        assert await tx.incidents.subscribers(ann.incident) == []
        # an idea only she wanted is gone; one others want stays, with their votes
        assert await tx.ideas.get(ann.own_idea) is None
        shared = await tx.ideas.get(ann.shared_idea)
        assert shared is not None and shared.votes == 1
        assert await tx.cases.latest(bob.id) == bob_case
    assert await store.outbox_rows() == []  # her messages, and the desk's about her case
    for case in await store.cases_of(ann.id):
        assert (case.unanswered, case.draft_summary, case.pending_reason) == (0, "", "")
        assert (case.conversation, case.conversation_until, case.conversation_note) == (
            Conversation.NONE,
            None,
            "",
        )


async def test_merge_joins_two_customers_and_their_open_cases_in_time_order(
    store: Store,
) -> None:
    elsewhere = Identity("slack", "T1", "U-ann")
    there = Address("slack", "D-ann")
    async with store.transaction() as tx:
        keep, _ = await tx.customers.for_identity(ANN, "Ann", HERE, at(0))
        keep_case = await tx.cases.new(keep.id, at(0))
        for minutes, text in ((0, "keep 1"), (20, "keep 2")):
            await tx.timeline.append(
                keep_case.id, EventKind.CUSTOMER, "customer", text, at(minutes)
            )
        incident = await tx.incidents.open("Outage", "", [], "Maria", at(0))
        await tx.incidents.subscribe(incident, keep.id, at(0))
        both = await tx.ideas.add(keep.id, "both want it", at(0))
        drop = await lived(tx, elsewhere, there)
        await tx.ideas.vote(both, drop.id, at(1))
        await tx.incidents.subscribe(incident, drop.id, at(1))
    async with store.transaction() as tx:
        assert await tx.merge_customers(keep.id, drop.id, at(50)) == (keep_case.id, drop.open_case)
    async with store.transaction() as tx:
        assert await tx.customers.get(drop.id) is None
        found, new = await tx.customers.for_identity(elsewhere, "", there, at(51))
        assert found.id == keep.id and not new
        # her open case has both histories, in time order; the other is resolved as merged
        texts = [e.text for e in await tx.timeline.recent(keep_case.id, limit=100)]
        assert texts == [
            "keep 1",
            "secret invoice",
            "the customer asked for a person",
            "claimed",
            "VIP, be quick",
            "secret agent reply",
            "keep 2",
        ]
        merged = await tx.cases.get(drop.open_case)
        assert merged is not None and merged.state is CaseState.RESOLVED
        assert merged.resolved_at == at(50) and merged.customer_id == keep.id
        assert await tx.timeline.recent(drop.open_case) == []
        assert await tx.cases.latest(keep.id) == await tx.cases.get(keep_case.id)
        # the desk thread of the merged case now finds the open one
        assert await tx.desk.case_for_thread(replace(DESK, thread_id="999.1")) == keep_case.id
        # everything else of hers is the kept customer's, counted once
        assert await tx.incidents.subscribers(incident) == [keep.id]
        assert sorted(await tx.incidents.subscriptions(keep.id)) == [incident, drop.incident]
        assert sorted(await tx.ideas.votes_of(keep.id)) == sorted(
            [both, drop.own_idea, drop.shared_idea]
        )
        assert (await tx.ideas.get(both)) is not None
        assert (await tx.ideas.get(both)).votes == 1  # type: ignore[union-attr]
        assert await tx.links.pending(drop.pending, at(20)) is None
        export = await tx.export_customer(keep.id)
    assert [f["text"] for f in export["feedback"]] == ["secret feedback"]
    assert [c["id"] for c in export["cases"]] == sorted(
        [keep_case.id, drop.old_case, drop.open_case]
    )
    assert {(i["channel"], i["user_id"]) for i in export["identities"]} == {
        ("test", "ann-4711"),
        ("slack", "U-ann"),
    }
    assert all(m.customer_id == keep.id for m, _ in await store.outbox_rows() if m.customer_id)


async def test_merge_moves_an_open_case_when_only_one_has_one(store: Store) -> None:
    async with store.transaction() as tx:
        keep, _ = await tx.customers.for_identity(ANN, "Ann", HERE, at(0))
        drop, _ = await tx.customers.for_identity(BOB, "Ann too", THERE, at(0))
        case = await tx.cases.new(drop.id, at(1))
        assert await tx.merge_customers(keep.id, drop.id, at(2)) == (case.id, None)
        moved = await tx.cases.latest(keep.id)
        assert moved is not None and moved.id == case.id and moved.state is CaseState.BOT
    async with store.transaction() as tx:
        nobody, _ = await tx.customers.for_identity(Identity("test", "w", "x"), "X", HERE, at(3))
        other, _ = await tx.customers.for_identity(Identity("test", "w", "y"), "Y", HERE, at(3))
        assert await tx.merge_customers(nobody.id, other.id, at(4)) == (None, None)
