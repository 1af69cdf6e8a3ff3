"""Handover to people: triggers, the confirmed summary, the desk, the queue,
business hours, receipts, rating and reopening. Real engine, real SQLite."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import Candor
from bot.config import Config
from bot.model import CaseState, EventKind
from bot.outbox import DeliveryError
from bot.registry import unbind
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


async def test_the_customer_confirms_the_summary_and_the_desk_sees_it_first(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    await ann.send("is there a free trial")
    [shown] = await ann.send("/human")
    assert "“is there a free trial”" in shown and "“The free trial”" in shown
    assert [b.label for b in sender.sent[-1].buttons] == ["Send it", "Add something", "Cancel"]
    case = await case_of(app, ann)
    assert case.state is CaseState.BOT and desk.sent == []  # nothing passed on before confirming
    [asked] = await ann.press("handover:add")
    assert "Type what you'd like to add" in asked
    [added] = await ann.send("and I need it for 40 people")
    assert "They added: “and I need it for 40 people”" in added
    [told] = await ann.press("handover:send")
    case = await case_of(app, ann)
    assert case.state is CaseState.WAITING
    assert case.handover_reason == "the customer asked for a person"
    assert "number 1 in the queue" in told
    assert "no basis for an estimate of the wait yet" in told
    assert "don't need to write again" in told
    card = desk.sent[0]
    assert card.delivery.purpose == "card" and card.text.startswith(f"**Case #{case.id}** · Ann")
    assert "Summary, confirmed by the customer:" in card.text
    assert "They added: “and I need it for 40 people”" in card.text
    assert [b.payload for b in card.buttons] == [
        f"desk:claim:{case.id}",
        f"desk:resolve:{case.id}",
        f"desk:bot:{case.id}",
    ]


async def test_cancel_keeps_the_case_with_the_bot(customer_factory: Factory, app: Candor) -> None:
    ann = customer_factory("ann")
    await ann.send("/human")
    [reply] = await ann.press("handover:cancel")
    assert "I won't pass it on" in reply
    case = await case_of(app, ann)
    assert case.state is CaseState.BOT and case.pending_reason == ""


async def test_each_trigger_records_its_reason(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    triggers = {
        "words": (["agent please"], "the customer asked for a person"),
        "unknown": (
            ["what is the capital of peru", "who won the football"],
            "the bot could not answer 2 times in a row",
        ),
        "unhelpful": (["is there a free trial", "that didn't help"], "an answer did not help"),
        "frustrated": (["this is useless"], "the customer seemed frustrated"),
        "repeated": (
            ["how much does it cost", "how much does it cost"],
            "the customer asked the same question again",
        ),
        "article": (["I want my money back"], "the article “Refunds” asks for a person"),
    }
    for name, (messages, reason) in triggers.items():
        who = customer_factory(name)
        for text in messages[:-1]:
            await who.send(text)
        await handed_over(who, messages[-1])
        case = await case_of(app, who)
        assert (case.state, case.handover_reason) == (CaseState.WAITING, reason), name
        events = await app.store.events_of(case.id)
        assert [e.text for e in events if e.kind is EventKind.HANDOVER] == [reason]
    assert len([m for m in desk.sent if m.delivery.purpose == "card"]) == len(triggers)


async def test_queue_positions_and_no_estimate_from_a_single_wait(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock, app: Candor
) -> None:
    people = [customer_factory(n) for n in ("ann", "bob", "cat")]
    told = []
    for person in people:
        told.append((await handed_over(person))[-1])
        clock.advance(minutes=1)
    assert ["number 1" in told[0], "number 2" in told[1], "number 3" in told[2]] == [True] * 3
    maria = agent_factory("maria")
    clock.advance(minutes=9)  # ann waited 12 minutes
    await maria.say("/claim 1")
    [status] = await people[2].send("/status")
    assert "number 2 in the queue" in status
    assert "no basis for an estimate" in status  # one claim is no basis (bot.waits)


async def test_outside_business_hours_the_customer_is_told_when_people_are_back(
    customer_factory: Factory, clock: Clock
) -> None:
    clock.now = clock.now.replace(day=28, hour=20)  # Saturday evening
    ann = customer_factory("ann")
    told = (await handed_over(ann))[-1]
    assert "Nobody is at the desk right now; people are back Monday 09:00 (UTC)" in told


async def test_claim_reply_note_resolve_rate_and_reopen(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.press(f"desk:claim:{case.id}")
    assert "**Maria** from support has your case" in sender.texts("ann")[-1]
    [status] = await ann.send("/status")
    assert "with Maria from support" in status
    assert "Maria will reply here" in status or "Maria from support will reply here" in status

    await maria.say("Hello Ann, <b>I</b> can help & more", case.id)
    assert (
        sender.texts("ann")[-1]
        == "**Maria** (support): Hello Ann, \\<b\\>I\\</b\\> can help & more"
    )
    assert desk.sent[-1].text.startswith("✓ Delivered to the customer")

    await maria.say("/note she is on the old plan", case.id)
    await maria.say("note: call back tomorrow", case.id)
    assert all("old plan" not in t and "call back" not in t for t in sender.texts("ann"))
    [status] = await ann.send("/status")
    assert "old plan" not in status and "call back" not in status

    before = len(sender.texts("ann"))
    assert await ann.send("thanks, one more question: VAT?") == []  # the bot stays quiet
    assert len(sender.texts("ann")) == before
    assert desk.sent[-1].text == "**Ann:** thanks, one more question: VAT?"

    await maria.say("/resolve", case.id)
    resolved = sender.sent[-1]
    assert "marked your case" in resolved.text
    assert [unbind(b.payload)[0] for b in resolved.buttons] == [f"rate:{n}" for n in range(1, 6)]
    [thanks] = await ann.press("rate:4")
    assert "4 out of 5" in thanks
    [again] = await ann.press("rate:5")
    assert "already rated" in again
    [ok] = await ann.send("quick and friendly, thanks")
    assert "passed that on" in ok
    assert (await case_of(app, ann)).state is CaseState.RESOLVED
    ratings = [e.data for e in await app.store.events_of(case.id) if e.kind is EventKind.RATING]
    assert ratings == [{"score": 4}, {"comment": True}]

    clock.advance(hours=1)
    await ann.send("actually the VAT question is still open")
    reopened = await case_of(app, ann)  # back with Maria, on duty (tests/test_comeback.py)
    assert (reopened.id, reopened.state, reopened.agent) == (case.id, CaseState.AGENT, "Maria")
    notes = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.NOTE]
    assert [n.text for n in notes] == ["she is on the old plan", "call back tomorrow"]

    await maria.say("/resolve", case.id)  # resolved again: rated once, so not asked again
    again_resolved = sender.sent[-1]
    assert "marked your case" in again_resolved.text
    assert "How did we do" not in again_resolved.text and not again_resolved.buttons


async def test_back_to_bot_and_transfer(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say("/claim", case.id)
    await maria.say("/transfer Sam", case.id)
    assert "**Sam** from support has your case" in sender.texts("ann")[-1]
    assert (await case_of(app, ann)).agent == "Sam"
    await maria.say("I can still write?", case.id)
    assert "is with Sam; your reply was not sent" in (await _desk_last(app))
    sam = agent_factory("sam")
    await sam.press(f"desk:bot:{case.id}")
    assert "back to me, the bot" in sender.texts("ann")[-1]
    [answer] = await ann.send("is there a free trial")
    assert "14 days" in answer


async def _desk_last(app: Candor) -> str:
    rows = await app.store.outbox_rows()
    return [m.text for m, _ in rows if m.address.channel == "desk"][-1]


async def test_only_configured_agents_can_act(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
) -> None:
    ann = customer_factory("ann")
    await handed_over(ann)
    case = await case_of(app, ann)
    await agent_factory("mallory").press(f"desk:claim:{case.id}")
    assert "Only agents can act" in desk.sent[-1].text
    [reply] = await ann.send(f"/claim {case.id}")  # a customer typing desk commands
    assert "I don't know the command /claim" in reply
    assert (await case_of(app, ann)).state is CaseState.WAITING


async def test_a_reply_that_cannot_be_delivered_is_reported_to_the_agent(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say("/claim", case.id)
    sender.failures.append(DeliveryError("Forbidden: bot was blocked by the user", permanent=True))
    await maria.say("are you still there?", case.id)
    assert desk.sent[-1].text.startswith("✗ NOT delivered to the customer: “**Maria** (support)")
    assert "bot was blocked" in desk.sent[-1].text


async def test_a_case_waiting_too_long_is_raised_again_once(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    await handed_over(ann)
    assert await app.engine.remind() == 0
    clock.advance(minutes=16)
    assert await app.engine.remind() == 1
    await app.outbox.deliver_due()
    assert "has been waiting for 16 minutes" in desk.sent[-1].text
    assert await app.engine.remind() == 0
    clock.advance(minutes=16)
    assert await app.engine.remind() == 1


async def test_nothing_is_lost_across_a_restart_in_the_middle_of_a_handover(
    config: Config, clock: Clock
) -> None:
    customer_side, desk_side = RecordingSender(), RecordingDesk()
    async with Candor(config, clock=clock) as app:
        app.outbox.register(customer_side)
        ann = Customer(app, customer_side, "ann")
        await handed_over(ann)
        case = await case_of(app, ann)
        # the desk is down: its card and the customer's next message wait in the outbox
        await app.engine.receive(ann.inbound("here is my order number 4411"))
        await Agent(app, "maria").say(f"/claim {case.id}")
    async with Candor(config, clock=clock) as app:
        app.outbox.register(customer_side)
        app.outbox.register(desk_side)
        await app.outbox.deliver_due()
        await Agent(app, "maria").say("Thanks, found order 4411", case.id)
        said = [e.text for e in await app.store.events_of(case.id) if e.kind is EventKind.AGENT]
    assert [m.delivery.purpose for m in desk_side.sent][:3] == ["card", "relay", "claimed"]
    assert "order number 4411" in desk_side.sent[1].text
    assert customer_side.texts("ann")[-1] == "**Maria** (support): Thanks, found order 4411"
    assert said == ["Thanks, found order 4411"]


async def test_agent_reply_on_resolved_case_is_not_lost(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say("/claim", case.id)
    await maria.say("/resolve", case.id)
    assert (await case_of(app, ann)).state is CaseState.RESOLVED
    await maria.say("one last thing: your invoice is attached", case.id)
    events = await app.store.events_of(case.id)
    assert events[-1].kind is EventKind.AGENT


async def test_files_and_edits_reach_the_desk_while_a_person_has_the_case(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
) -> None:
    from bot.model import Attachment, InboundKind

    ann, maria = customer_factory("ann"), agent_factory("maria")
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say("/claim", case.id)
    photo = Attachment("photo", "AgADBAADr6cxG", caption="the error screen")
    assert await ann.send("the error screen", InboundKind.ATTACHMENT, attachments=(photo,)) == []
    relayed = desk.sent[-1]
    assert relayed.text == "Ann sent a photo: “the error screen”"
    assert relayed.delivery.attachments == (photo,)
    await ann.send("I meant the Business plan", InboundKind.EDIT, edited_key="ann-1")
    assert desk.sent[-1].text == "Ann edited a message: “I meant the Business plan”"
    kinds = [e.kind for e in await app.store.events_of(case.id)][-2:]
    assert kinds == [EventKind.ATTACHMENT, EventKind.EDIT]
