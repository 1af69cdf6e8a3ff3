"""On any desk: a burst of one customer's words arrives as one message, never mixed
with another case's (issue 14, finding 8); a case whose desk thread is gone gets a
new card and the message after it (finding 16). Real engine, real SQLite, the
recorded desk."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import Candor
from bot.model import Purpose
from bot.outbox import DeliveryError
from tests.conftest import Agent, Customer, RecordingDesk, case_of, handed_over

Factory = Callable[[str], Customer]


async def test_words_waiting_at_once_are_joined_per_case_and_nothing_is_lost(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await handed_over(ann)
    await handed_over(bob)
    before = len(desk.sent)
    for n in range(5):  # both write while the desk is not being sent to
        await app.engine.receive(ann.inbound(f"ann says {n}"))
        await app.engine.receive(bob.inbound(f"bob says {n}"))
    await app.outbox.deliver_due()
    relays = [m for m in desk.sent[before:] if m.delivery.purpose is Purpose.RELAY]
    assert len(relays) == 2  # one message per case, not ten
    by_case = {m.case_id: m.text.split("\n\n") for m in relays}
    ann_case, bob_case = (await case_of(app, ann)).id, (await case_of(app, bob)).id
    assert by_case[ann_case] == [f"**Ann:** ann says {n}" for n in range(5)]
    assert by_case[bob_case] == [f"**Bob:** bob says {n}" for n in range(5)]
    rows = await app.store.outbox_rows()
    assert {state for _, state in rows} == {"sent"}  # every row recorded as sent
    assert sum(o.delivery.purpose is Purpose.RELAY for o, _ in rows) == 10
    # and one on its own is sent as it is
    await app.engine.receive(ann.inbound("one more"))
    await app.outbox.deliver_due()
    assert desk.sent[-1].text == "**Ann:** one more"


async def test_a_gone_desk_thread_gets_the_case_posted_again_then_the_message(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    ann = customer_factory("ann")
    await handed_over(ann)
    case = await case_of(app, ann)
    before = len(desk.sent)
    desk.failures = [DeliveryError("the thread is gone", thread_gone=True)]
    await ann.send("hello? anyone?")
    card, words = desk.sent[before:]
    assert card.delivery.card and "was deleted" in card.text and f"Case #{case.id}" in card.text
    assert "hello? anyone?" in card.text  # the recent timeline, up to now
    assert words.text == "**Ann:** hello? anyone?" and words.address.thread_id == str(case.id)
    rows = await app.store.outbox_rows(case.id)
    assert {state for _, state in rows} == {"sent"}
    assert sum(o.delivery.card for o, _ in rows) == 2  # one new card, not one per try


async def test_a_resolved_cases_deleted_thread_is_left_deleted(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say("/resolve", case.id)
    before = len(desk.sent)
    desk.failures = [DeliveryError("the thread is gone", thread_gone=True)]
    await ann.press("rate:5")
    assert not any(m.delivery.card for m in desk.sent[before:])  # tidied away: no new topic
    # ... and the rating's note is not lost: it goes outside any thread, naming the case
    [note] = [m for m in desk.sent[before:] if m.delivery.purpose is Purpose.RATING]
    assert not note.address.thread_id and f"case #{case.id}" in note.text
    rows = await app.store.outbox_rows(case.id)
    assert {state for _, state in rows} == {"sent"}
