"""A burst of one customer's words reaches any desk as one message (issue 14, finding
8), never mixed with another case's. Real engine, real SQLite, the recorded desk."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import Candor
from bot.model import Purpose
from tests.conftest import Customer, RecordingDesk, case_of, handed_over

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
