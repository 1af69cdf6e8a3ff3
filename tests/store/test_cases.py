"""Contract: cases (`tx.cases`): one open case per customer, the latest case, every
field stored, the queue and its order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.model import Case, CaseState, Conversation, EventKind, Identity
from bot.store import Store
from tests.store.conftest import ANN, HERE, NOW, Backend, new_customer


async def test_one_unresolved_case_per_customer(store: Store, backend: Backend) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        first = await tx.cases.new(ann.id, NOW)
        assert first.state is CaseState.BOT and first.opened_at == first.updated_at == NOW
        assert await tx.cases.latest(ann.id) == first
    with pytest.raises(backend.refused):
        async with store.transaction() as tx:
            await tx.cases.new(ann.id, NOW)  # a second open case: refused
    assert [c.id for c in await store.cases_of(ann.id)] == [first.id]  # and not stored
    async with store.transaction() as tx:
        await tx.cases.update(replace(first, state=CaseState.RESOLVED, resolved_at=NOW))
        second = await tx.cases.new(ann.id, NOW + timedelta(seconds=1))
        assert await tx.cases.latest(ann.id) == second
    assert second.id != first.id
    with pytest.raises(backend.refused):
        async with store.transaction() as tx:  # reopening the first while the second is open
            await tx.cases.update(replace(first, state=CaseState.BOT, resolved_at=None))


async def test_the_latest_case_is_the_open_one_else_the_one_resolved_last(store: Store) -> None:
    async with store.transaction() as tx:
        ann = await new_customer(tx, "ann")
        assert await tx.cases.latest(ann) is None
        one = await tx.cases.new(ann, NOW)
        await tx.cases.update(
            replace(one, state=CaseState.RESOLVED, resolved_at=NOW + timedelta(hours=5))
        )
    async with store.transaction() as tx:
        two = await tx.cases.new(ann, NOW + timedelta(hours=1))
        assert await tx.cases.latest(ann) == two  # open wins over resolved
        two = replace(two, state=CaseState.RESOLVED, resolved_at=NOW + timedelta(hours=2))
        await tx.cases.update(two)
        # both resolved: the one resolved last, though opened first
        assert (await tx.cases.latest(ann)) == replace(
            one, state=CaseState.RESOLVED, resolved_at=NOW + timedelta(hours=5)
        )
    async with store.transaction() as tx:
        latest = await tx.cases.latest(ann)
        assert latest is not None and latest.id == one.id


async def test_every_field_of_a_case_is_stored(store: Store) -> None:
    async with store.transaction() as tx:
        ann = await new_customer(tx, "ann")
        opened = await tx.cases.new(ann, NOW)
        full = Case(
            id=opened.id,
            customer_id=ann,
            state=CaseState.AGENT,
            subject="invoices from March",
            opened_at=NOW,
            updated_at=NOW + timedelta(minutes=9),
            handover_reason="the customer asked for a person",
            handed_over_at=NOW + timedelta(minutes=2),
            agent="Maria",
            claimed_at=NOW + timedelta(minutes=3, microseconds=123456),
            resolved_at=None,
            summary="Ann needs March's invoices",
            draft_summary="Ann needs invoices",
            pending_reason="asked",
            unanswered=2,
            alerted_at=NOW + timedelta(minutes=4),
            conversation=Conversation.AWAITING_SUMMARY_CHOICE,
            conversation_until=NOW + timedelta(minutes=39, microseconds=1),
            conversation_note="can I get the March invoices again?",
        )
        await tx.cases.update(full)
        assert await tx.cases.get(opened.id) == full
        assert await tx.cases.get(opened.id + 1) is None
    async with store.transaction() as tx:
        assert await tx.cases.get(opened.id) == full
        assert await tx.cases.latest(ann) == full
    async with store.transaction() as tx:  # and the turn's read has every field too
        assert await tx.customers.arrive("k", Identity("test", "w", "ann"), "", HERE, NOW)
        assert await tx.cases.latest(ann) == full
    assert await store.cases_of(ann) == [full]
    async with store.transaction() as tx:  # a wait that ends, and one without an expiry
        ended = replace(full, conversation=Conversation.NONE, conversation_until=None)
        await tx.cases.update(replace(ended, conversation_note=""))
        assert await tx.cases.get(opened.id) == replace(ended, conversation_note="")
        forever = replace(
            full, conversation=Conversation.AWAITING_REOPEN_CHOICE, conversation_until=None
        )
        await tx.cases.update(forever)
    async with store.transaction() as tx:
        assert await tx.cases.get(opened.id) == forever


async def test_the_queue_is_in_order_of_handover(store: Store) -> None:
    async with store.transaction() as tx:
        cases = {}
        for name in ["ann", "bob", "cem", "dan", "eve"]:
            cases[name] = await tx.cases.new(await new_customer(tx, name), NOW)
        handed = {"ann": 30, "bob": 10, "cem": 20, "dan": 10}  # dan ties bob: the lower id first
        for name, minutes in handed.items():
            cases[name] = replace(
                cases[name],
                state=CaseState.WAITING,
                handed_over_at=NOW + timedelta(minutes=minutes),
            )
            await tx.cases.update(cases[name])
        cases["cem"] = replace(
            cases["cem"], state=CaseState.AGENT, claimed_at=NOW + timedelta(minutes=25)
        )
        await tx.cases.update(cases["cem"])
        assert [c.id for c in await tx.cases.queue()] == [
            cases[name].id for name in ("bob", "dan", "ann", "cem")
        ]
        positions = [await tx.cases.queue_position(cases[name]) for name in cases]
        assert positions == [3, 1, 0, 2, 0]  # ann, bob, cem (claimed), dan, eve (bot)
        never = replace(cases["eve"], state=CaseState.WAITING)  # no handover time
        assert await tx.cases.queue_position(never) == 0


async def test_overdue_cases_are_waiting_long_and_not_reminded_lately(store: Store) -> None:
    async with store.transaction() as tx:
        made = []
        for n, (handed, alerted) in enumerate([(0, None), (5, 50), (10, 20), (80, None)]):
            case = await tx.cases.new(await new_customer(tx, f"c{n}"), NOW)
            case = replace(
                case,
                state=CaseState.WAITING,
                handed_over_at=NOW + timedelta(minutes=handed),
                alerted_at=None if alerted is None else NOW + timedelta(minutes=alerted),
            )
            await tx.cases.update(case)
            made.append(case)
        claimed = replace(made[0], state=CaseState.AGENT)  # not waiting any more
        overdue = await tx.cases.overdue(NOW + timedelta(minutes=60), NOW + timedelta(minutes=30))
        assert [c.id for c in overdue] == [made[0].id, made[2].id]
        await tx.cases.update(claimed)
        overdue = await tx.cases.overdue(NOW + timedelta(minutes=60), NOW + timedelta(minutes=30))
        assert [c.id for c in overdue] == [made[2].id]


@pytest.mark.parametrize("how", ["transaction", "shared"])
async def test_a_case_resolved_and_the_next_opened_in_one_transaction(
    store: Store, how: str
) -> None:
    async with store.transaction() as tx:
        ann = await new_customer(tx, "ann")
    begin = store.transaction if how == "transaction" else store.shared
    async with begin() as tx:
        first = await tx.cases.new(ann, NOW)
        await tx.cases.update(replace(first, state=CaseState.RESOLVED, resolved_at=NOW))
        second = await tx.cases.new(ann, NOW + timedelta(seconds=1))
        assert await tx.cases.latest(ann) == second
    states = [(c.id, c.state) for c in await store.cases_of(ann)]
    assert states == [(first.id, CaseState.RESOLVED), (second.id, CaseState.BOT)]


async def test_recent_claims_are_those_since_a_time_with_their_handover(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.cases.recent_claims(NOW) == []
        for n, (wait, claimed) in enumerate([(60, -30), (120, 30), (30, 20), (-5, 40)]):
            case = await tx.cases.new(await new_customer(tx, f"c{n}"), NOW)
            at = NOW + timedelta(minutes=claimed)
            await tx.cases.update(
                replace(
                    case,
                    state=CaseState.AGENT,
                    agent=f"agent{n}",
                    handed_over_at=at - timedelta(seconds=wait),
                    claimed_at=at,
                )
            )
    async with store.transaction() as tx:
        claims = await tx.cases.recent_claims(NOW)
    # claimed at NOW or later, latest first; the one claimed before NOW and the claim
    # before its handover are left out
    at30, at20 = NOW + timedelta(minutes=30), NOW + timedelta(minutes=20)
    assert claims == [
        (at30 - timedelta(seconds=120), at30, "agent1"),
        (at20 - timedelta(seconds=30), at20, "agent2"),
    ]


async def test_came_back_unanswered_are_cases_given_back_and_not_replied_to(store: Store) -> None:
    """A reopened case given back to its agent (a "back with …" state event) that the
    agent has not replied to since, and no reminder since: raised again."""
    minute = timedelta(minutes=1)
    async with store.transaction() as tx:
        cases = []
        for n in range(4):
            case = await tx.cases.new(await new_customer(tx, f"b{n}"), NOW)
            case = replace(case, state=CaseState.AGENT, agent="Maria", claimed_at=NOW)
            await tx.cases.update(case)
            await tx.timeline.append(
                case.id, EventKind.STATE, "bot", "back with Maria: reopened", NOW + n * minute
            )
            cases.append(case)
        # 1: replied to since; 2: reminded since; 3: came back after the bound
        await tx.timeline.append(cases[1].id, EventKind.AGENT, "Maria", "hi", NOW + 2 * minute)
        await tx.cases.update(replace(cases[2], alerted_at=NOW + 5 * minute))
        other = await tx.cases.new(await new_customer(tx, "b9"), NOW)  # with the bot
        await tx.timeline.append(other.id, EventKind.STATE, "bot", "back with Maria: x", NOW)
    async with store.transaction() as tx:
        found = await tx.cases.came_back_unanswered(NOW + 3 * minute)
    assert [(case.id, back) for case, back in found] == [(cases[0].id, NOW)]
