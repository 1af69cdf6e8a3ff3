"""Contract: the rows reports are made of (`store.reporting()`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.model import Address, CaseState, EventKind
from bot.store import Store
from bot.store.protocols import CaseTimes
from tests.store.conftest import NOW, new_customer


async def test_the_cases_of_a_period_with_their_events(store: Store) -> None:
    day = timedelta(days=1)
    async with store.transaction() as tx:
        made = []
        for n, opened in enumerate([NOW - day, NOW, NOW + day]):
            case = await tx.cases.new(await new_customer(tx, f"c{n}"), opened)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", f"q{n}", opened)
            await tx.timeline.append(case.id, EventKind.NOTE, "Maria", f"note{n}", opened)
            await tx.timeline.append(
                case.id, EventKind.RATING, "customer", "5", opened - day, {"score": 5}
            )
            made.append(case)
        # the case answered on Slack, its customer speaking German; the others: the
        # channel their customer wrote on, no language settled
        slack = Address("slack", "D1", "", private=True)
        resolved = replace(
            made[1], state=CaseState.RESOLVED, resolved_at=NOW + timedelta(hours=1), reply_to=slack
        )
        await tx.cases.update(resolved)
        await tx.customers.set_language(made[1].customer_id, "de", False)
    async with store.reporting() as reports:
        everything = await reports.cases_opened(None, NOW + day)
        assert everything == [
            CaseTimes(made[0].id, CaseState.BOT, NOW - day, None, "test", ""),
            CaseTimes(made[1].id, CaseState.RESOLVED, NOW, NOW + timedelta(hours=1), "slack", "de"),
            CaseTimes(made[2].id, CaseState.BOT, NOW + day, None, "test", ""),
        ]
        assert [c.id for c in await reports.cases_opened(NOW, NOW)] == [made[1].id]  # both ends in
        assert await reports.cases_opened(NOW + 2 * day, NOW + 3 * day) == []
        events = await reports.events_of_cases_opened(NOW, NOW + day)
        # by case, then as appended (not by time), notes too
        assert [(e.case_id, e.text) for e in events] == [
            (made[1].id, "q1"),
            (made[1].id, "note1"),
            (made[1].id, "5"),
            (made[2].id, "q2"),
            (made[2].id, "note2"),
            (made[2].id, "5"),
        ]
        assert events[2].data == {"score": 5} and events[2].kind is EventKind.RATING


async def test_feedback_of_a_period_and_the_most_wanted_ideas(store: Store) -> None:
    async with store.transaction() as tx:
        people = [await new_customer(tx, name) for name in ("ann", "bob", "cem")]
        for minutes in (-1, 0, 30, 61):
            await tx.feedback.add(people[0], None, "words", NOW + timedelta(minutes=minutes))
        zebra = await tx.ideas.add(people[0], "Zebra mode", NOW)
        apple = await tx.ideas.add(people[1], "Apple pay", NOW)
        done = await tx.ideas.add(people[2], "Dark mode", NOW)
        for voter in people:
            await tx.ideas.vote(done, voter, NOW)
        await tx.ideas.set_state(done, "done", "", NOW)
    async with store.reporting() as reports:
        assert await reports.feedback_count(NOW, NOW + timedelta(hours=1)) == 2
        assert await reports.feedback_count(None, NOW + timedelta(hours=2)) == 4
        top = await reports.top_ideas(10)
        # most voters first, done ones too; a tie goes by text
        assert [(i.id, i.text, i.votes, i.state) for i in top] == [
            (done, "Dark mode", 3, "done"),
            (apple, "Apple pay", 1, "open"),
            (zebra, "Zebra mode", 1, "open"),
        ]
        assert [i.id for i in await reports.top_ideas(1)] == [done]


async def test_the_most_wanted_ideas_of_a_period_count_its_votes_only(store: Store) -> None:
    async with store.transaction() as tx:
        ann, bob, cem = [await new_customer(tx, name) for name in ("ann", "bob", "cem")]
        old = await tx.ideas.add(ann, "Dark mode", NOW - timedelta(days=30))
        await tx.ideas.vote(old, bob, NOW - timedelta(days=30))
        await tx.ideas.vote(old, cem, NOW + timedelta(minutes=5))
        new = await tx.ideas.add(bob, "Apple pay", NOW + timedelta(minutes=10))
    async with store.reporting() as reports:
        top = await reports.top_ideas(10, NOW, NOW + timedelta(hours=1))
        # the author's vote counts when the idea was suggested; a tie goes by text
        assert [(i.id, i.votes) for i in top] == [(new, 1), (old, 1)]
        # a period in which nothing was suggested or voted for lists nothing
        assert await reports.top_ideas(10, NOW + timedelta(hours=2), NOW + timedelta(hours=3)) == []
        # no period: every vote, every idea (as before)
        assert [(i.id, i.votes) for i in await reports.top_ideas(10)] == [(old, 3), (new, 1)]
