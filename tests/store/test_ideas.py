"""Contract: ideas and votes (`tx.ideas`)."""

from __future__ import annotations

from datetime import timedelta

from bot.model import Idea, IdeaState
from bot.store import Store
from tests.store.conftest import NOW, new_customer


async def test_ideas_their_votes_and_the_most_wanted(store: Store) -> None:
    async with store.transaction() as tx:
        people = [await new_customer(tx, name) for name in ("ann", "bob", "cem")]
        ann, bob, cem = people
        dark = await tx.ideas.add(ann, "Dark mode", NOW)  # with ann's vote
        csv = await tx.ideas.add(bob, "Export to CSV", NOW)
        api = await tx.ideas.add(cem, "An API", NOW)
        assert not await tx.ideas.vote(dark, ann, NOW)  # one vote each
        assert await tx.ideas.vote(csv, ann, NOW)
        assert await tx.ideas.vote(csv, cem, NOW)
        assert await tx.ideas.vote(api, bob, NOW)
        assert await tx.ideas.get(csv) == Idea(csv, "Export to CSV", IdeaState.OPEN, "", 3)
        assert await tx.ideas.get(api + 1) is None
        assert [i.id for i in await tx.ideas.top()] == [csv, api, dark]  # ties: lower first
        assert [i.id for i in await tx.ideas.top(1)] == [csv]
        assert await tx.ideas.voters(csv) == sorted(people)
        assert sorted(await tx.ideas.votes_of(ann)) == [dark, csv]
        await tx.ideas.set_state(csv, IdeaState.DONE, "Shipped in 2.1", NOW + timedelta(days=1))
        await tx.ideas.set_state(api, IdeaState.PLANNED, "Next quarter", NOW + timedelta(days=1))
    async with store.transaction() as tx:
        assert await tx.ideas.get(csv) == Idea(
            csv, "Export to CSV", IdeaState.DONE, "Shipped in 2.1", 3
        )
        assert [i.id for i in await tx.ideas.top()] == [api, dark]  # done ones left out
        assert [i.id for i in await tx.ideas.top(include_done=True)] == [csv, api, dark]
        assert (await tx.ideas.top())[0] == Idea(
            api, "An API", IdeaState.PLANNED, "Next quarter", 2
        )
