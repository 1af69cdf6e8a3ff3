"""`/idea`: a vote acts only on what was offered, and a near-duplicate is the
customer's to call (issue 14, findings 11 and 14)."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import Candor
from bot.model import IdeaState, Outbound
from tests.conftest import Agent, Customer, RecordingDesk, RecordingSender

Factory = Callable[[str], Customer]


def last_to(sender: RecordingSender, who: Customer) -> Outbound:
    return [m for m in sender.sent if m.address.chat_id == who.name][-1]


async def voters(app: Candor, idea: int) -> list[int]:
    async with app.store.transaction() as tx:
        return await tx.ideas.voters(idea)


async def test_a_forged_vote_shows_and_counts_nothing_of_an_idea_not_offered(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann, cem = customer_factory("ann"), customer_factory("cem")
    await ann.send("/idea call me on +44 7700 900123 about bulk pricing")  # #1
    await ann.send("/idea a dark theme for the reports")  # #2
    await Agent(app, "maria").say("/idea done 2 Shipped.")
    await cem.send("hello")
    # cem was offered none of them: a forged press shows no text and counts no vote
    for forged in ("idea:vote:1", "idea:vote:2", "idea:vote:3"):
        [reply] = await cem.press(await cem.own(forged))
        assert "not open for votes" in reply
        assert "7700" not in reply and "dark theme" not in reply
    assert await voters(app, 1) == await voters(app, 2) == [1]
    # listed, the open one can be voted for; the done one is neither listed nor voted
    [listing] = await cem.send("/idea")
    assert "bulk pricing" in listing and "dark theme" not in listing
    [voted] = await cem.press("idea:vote:1")
    assert "Your vote is in" in voted
    [done] = await cem.press(await cem.own("idea:vote:2"))
    assert "not open for votes" in done and "dark theme" not in done
    assert len(await voters(app, 1)) == 2 and len(await voters(app, 2)) == 1


async def test_an_idea_below_the_listing_cannot_be_voted_for_by_a_forged_press(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    people = [customer_factory(f"p{n}") for n in range(6)]
    for n, who in enumerate(people):
        await who.send(f"/idea feature number {'abcdef'[n] * 3} {n}")
        for fan in people[:n]:  # idea n+1 gets n more votes: #6 is the most wanted
            await fan.send(f"/idea feature number {'abcdef'[n] * 3} {n}")
    dan = customer_factory("dan")
    [listing] = await dan.send("/idea")
    assert "aaa" not in listing and "bbb" in listing  # #1 is sixth: not listed
    [reply] = await dan.press(await dan.own("idea:vote:1"))
    assert "not open for votes" in reply and "aaa" not in reply
    assert len(await voters(app, 1)) == 1


async def test_a_near_duplicate_is_asked_about_and_a_no_records_the_new_idea(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await ann.send("/idea export invoices to csv")
    [asked] = await bob.send("/idea export invoices to pdf")
    assert "Is it the same as “export invoices to csv”?" in asked
    question = last_to(sender, bob)
    assert [b.label for b in question.buttons] == ["Yes, vote for it", "No, it's a new idea"]
    assert len(await voters(app, 1)) == 1  # nothing merged silently
    [recorded] = await bob.press(question.buttons[1].payload)
    assert "recorded as #2" in recorded
    async with app.store.transaction() as tx:
        new = await tx.ideas.get(2)
    assert new is not None and new.text == "export invoices to pdf"
    assert new.state is IdeaState.OPEN and new.votes == 1
    assert any(
        "export invoices to pdf" in m.text for m in desk.sent if m.delivery.purpose == "idea"
    )
    [again] = await bob.press(question.buttons[1].payload)  # answered: not twice
    assert "expired" in again
    async with app.store.transaction() as tx:
        assert len(await tx.ideas.top(10)) == 2


async def test_a_near_duplicate_the_customer_calls_the_same_is_a_vote_with_their_words(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await ann.send("/idea export invoices to csv")
    await bob.send("/idea please export invoices to csv files")
    [voted] = await bob.press(last_to(sender, bob).buttons[0].payload)
    assert "Your vote is in" in voted and "2 votes" in voted
    assert len(await voters(app, 1)) == 2
    [kept] = [m for m in desk.sent if m.delivery.purpose == "idea" and "vote for idea #1" in m.text]
    assert "please export invoices to csv files" in kept.text
    async with app.store.transaction() as tx:
        assert [i.id for i in await tx.ideas.top(10)] == [1]


async def test_a_forged_answer_to_a_question_never_asked_records_nothing(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await ann.send("/idea call me on +44 7700 900123 about bulk pricing")
    await bob.send("hello")
    for forged in ("idea:same:1", "idea:new:1"):
        [reply] = await bob.press(await bob.own(forged))
        assert "expired" in reply and "7700" not in reply
    assert len(await voters(app, 1)) == 1
    async with app.store.transaction() as tx:
        assert len(await tx.ideas.top(10)) == 1
