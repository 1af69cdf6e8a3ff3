"""A resolved case the customer writes about again comes back to its agent (issue 19,
point 3): with them when they are on duty, in the queue naming them when not, with
the bot when no agent had it or the window has passed. Real engine, real SQLite, the
test clock: "on duty" is business hours with the agent having just worked on the
desk; "not on duty" is outside business hours (default hours: Mon-Fri 09-17 UTC)."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import Candor
from bot.model import CaseState, EventKind
from tests.conftest import (
    Agent,
    Clock,
    Customer,
    RecordingDesk,
    RecordingSender,
    case_of,
    handed_over,
)

Factory = Callable[[str], Customer]
Agents = Callable[[str], Agent]


async def _resolved_by_maria(ann: Customer, maria: Agent, app: Candor) -> int:
    await ann.send("is there a free trial")
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say("/claim", case.id)
    await maria.say("Hello Ann, the trial is 14 days.", case.id)
    await maria.say("/note she is on the old plan", case.id)
    await maria.say("/resolve", case.id)
    assert (await case_of(app, ann)).state is CaseState.RESOLVED
    return case.id


async def test_reopened_in_the_window_goes_back_to_its_agent_on_duty(
    customer_factory: Factory,
    agent_factory: Agents,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    ann, bob, maria = customer_factory("ann"), customer_factory("bob"), agent_factory("maria")
    case_id = await _resolved_by_maria(ann, maria, app)
    clock.advance(hours=2)
    await handed_over(bob)  # Maria works on the desk minutes before Ann writes again
    bob_case = await case_of(app, bob)
    await maria.say("/claim", bob_case.id)
    await maria.say("Hi Bob", bob_case.id)
    clock.advance(minutes=5)
    before = len(desk.sent)

    told = await ann.send("actually the VAT question is still open")

    case = await case_of(app, ann)
    assert (case.id, case.state, case.agent) == (case_id, CaseState.AGENT, "Maria")
    assert told == [f"**Maria** from support has your case #{case_id} again and will reply here."]
    new = desk.sent[before:]
    [card] = [m for m in new if m.delivery.purpose == "card"]
    assert card.text.startswith(f"🔁 Case #{case_id} came back to you, Maria:")
    assert "Maria resolved it at 10:00" in card.text and "· with Maria" in card.text
    assert new[-1].text == "**Ann:** actually the VAT question is still open"
    # it is Maria's: her reply goes straight to Ann, the bot stays quiet
    await maria.say("Looking at VAT now", case_id)
    assert sender.texts("ann")[-1] == "**Maria** (support): Looking at VAT now"
    assert await ann.send("thanks") == []


async def test_reopened_when_the_agent_is_not_on_duty_goes_to_the_queue_naming_them(
    customer_factory: Factory,
    agent_factory: Agents,
    app: Candor,
    desk: RecordingDesk,
    clock: Clock,
) -> None:
    clock.now = clock.now.replace(day=27, hour=16)  # Friday afternoon
    ann, maria, sam = customer_factory("ann"), agent_factory("maria"), agent_factory("sam")
    case_id = await _resolved_by_maria(ann, maria, app)
    clock.now = clock.now.replace(hour=20)  # Friday evening: the desk is closed
    before = len(desk.sent)

    told = await ann.send("actually the VAT question is still open")

    case = await case_of(app, ann)
    assert (case.state, case.agent) == (CaseState.WAITING, "")
    assert case.handover_reason == "reopened: was with Maria"
    assert "Maria, who had it, isn't at the desk right now" in told[0]
    assert "number 1 in the queue" in told[-1] and "people are back Monday 09:00" in told[-1]
    [card] = [m for m in desk.sent[before:] if m.delivery.purpose == "card"]
    assert f"Case #{case_id} is back in the queue, previously with Maria" in card.text
    assert "Maria resolved it at 16:00" in card.text
    assert "**Why:** reopened: was with Maria" in card.text
    handovers = [e.text for e in await app.store.events_of(case_id) if e.kind is EventKind.HANDOVER]
    assert handovers[-1] == "reopened: was with Maria"
    clock.now = clock.now.replace(day=30, hour=9, minute=20)  # Monday: Sam takes it
    await sam.say("/claim", case_id)
    assert (await case_of(app, ann)).agent == "Sam"


async def test_after_the_window_a_new_case_with_the_bot(
    customer_factory: Factory, agent_factory: Agents, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case_id = await _resolved_by_maria(ann, maria, app)
    clock.advance(hours=73)  # the window is 72 hours
    before = len(desk.sent)
    [answer] = await ann.send("is there a free trial")
    case = await case_of(app, ann)
    assert case.id != case_id and (case.state, case.agent) == (CaseState.BOT, "")
    assert "14 days" in answer
    assert desk.sent[before:] == []  # nothing for the desk: it is the bot's
    old = await app.store.events_of(case_id)
    assert old[-1].text.startswith("resolved by Maria")


async def test_a_case_no_agent_had_reopens_with_the_bot_and_its_resolver_is_told(
    customer_factory: Factory, agent_factory: Agents, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann, sam = customer_factory("ann"), agent_factory("sam")
    await ann.send("is there a free trial")
    await handed_over(ann)
    case = await case_of(app, ann)
    await sam.say("/resolve", case.id)  # resolved from the queue, never claimed
    clock.advance(hours=1)
    before = len(desk.sent)
    [answer] = await ann.send("and how long is the free trial")
    reopened = await case_of(app, ann)
    assert (reopened.id, reopened.state) == (case.id, CaseState.BOT)
    assert "14 days" in answer
    texts = [m.text for m in desk.sent[before:] if not m.delivery.card_update]
    assert texts == [
        f"🔁 Case #{case.id} was reopened by the customer (Sam resolved it at 10:00):"
        " it is with the bot again."
    ]


LONG = (
    "We moved from the old plan to Team last month and the invoice still shows 12 seats,"
    " but we only have 9 people; also the VAT number DE123456789 is missing from it, and"
    " our accounts team needs the corrected invoice before the 30th to close the quarter."
)


async def test_a_transferee_opens_the_case_and_sees_card_history_and_notes(
    customer_factory: Factory,
    agent_factory: Agents,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
) -> None:
    import io

    from adapters.console.desk import desk as terminal_desk

    ann, maria = customer_factory("ann"), agent_factory("maria")
    await ann.send(LONG)
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say("/claim", case.id)
    await maria.say("/note goodwill credit of 3 seats approved", case.id)
    await maria.say("/transfer Sam", case.id)
    [moved] = [m.text for m in desk.sent if m.delivery.purpose == "transferred"]
    assert moved.endswith("by Maria. Sam: /open 1 shows its card, history and notes.")

    out = io.StringIO()
    assert await terminal_desk(app, "sam", io.StringIO(f"/open {case.id}\n"), out) == 0
    screen = out.getvalue()
    assert f"(now writing in case #{case.id})" in screen
    view = screen[screen.index("(now writing in case") :]
    assert "Case #1 · Ann · on test · with Sam" in view
    assert "History:" in view and "transferred from Maria to Sam" in view
    assert LONG in " ".join(view.split())  # in full, not cut at 100 characters
    notes = view[view.index("Notes (agents only") :]
    assert "Maria (note): goodwill credit of 3 seats approved" in notes
    assert all("goodwill" not in text for text in sender.texts("ann"))  # never the customer's
