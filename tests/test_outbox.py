"""Delivery: order per address, retries with back-off, Retry-After, failure, restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.app import Candor
from bot.config import Config
from bot.model import Address, Cause, Outbound
from bot.outbox import PAGE, DeliveryError
from tests.conftest import Clock, Customer, RecordingSender


async def test_transient_failure_is_retried_after_back_off_in_order(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    ann = customer_factory("ann")
    sender.failures.append(DeliveryError("503 from the platform"))
    await app.engine.receive(ann.inbound("is there a free trial"))
    await app.engine.receive(ann.inbound("how much does it cost"))
    assert await app.outbox.deliver_due() == 0  # the first failed; the second waits behind it
    assert sender.sent == []
    clock.advance(seconds=0.5)
    assert await app.outbox.deliver_due() == 2
    assert ["14 days" in sender.sent[0].text, "$8" in sender.sent[1].text] == [True, True]


async def test_retry_after_from_the_platform_is_honoured(
    customer_factory: Callable[[str], Customer],
    app: Candor,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    ann = customer_factory("ann")
    sender.failures.append(DeliveryError("429", retry_after=30))
    await app.engine.receive(ann.inbound("is there a free trial"))
    await app.outbox.deliver_due()
    clock.advance(seconds=29)
    assert await app.outbox.deliver_due() == 0
    clock.advance(seconds=2)
    assert await app.outbox.deliver_due() == 1


async def test_one_address_waiting_does_not_hold_up_another(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await app.engine.receive(ann.inbound("is there a free trial"))
    await app.engine.receive(bob.inbound("is there a free trial"))
    sender.failures.append(DeliveryError("429", retry_after=60))
    await app.outbox.deliver_due()
    assert [m.address.chat_id for m in sender.sent] == ["bob"]


async def test_permanent_failure_is_marked_and_the_queue_moves_on(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    sender.failures.append(DeliveryError("bot was blocked by the user", permanent=True))
    await app.engine.receive(ann.inbound("is there a free trial"))
    await app.engine.receive(ann.inbound("how much does it cost"))
    assert await app.outbox.deliver_due() == 1
    rows = await app.store.outbox_rows()
    assert [state for m, state in rows if m.cause is not Cause.DESK] == ["failed", "sent"]
    # and the desk is told (its notice waits for the desk's sender)
    [told] = [m for m, _ in rows if m.cause is Cause.DESK]
    assert "not getting through" in told.text and "bot was blocked" in told.text


async def test_pending_messages_are_delivered_after_a_restart(config: Config, clock: Clock) -> None:
    async with Candor(config, clock=clock) as app:
        ann = Customer(app, RecordingSender(), "ann")
        await app.engine.receive(ann.inbound("is there a free trial"))  # no sender: not sent
    sender = RecordingSender()
    async with Candor(config, clock=clock) as app:
        app.outbox.register(sender)
        assert await app.outbox.deliver_due() == 1
        assert await app.outbox.deliver_due() == 0
    assert "14 days" in sender.sent[0].text


async def test_paused_outbox_keeps_everything(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    app.outbox.paused = True
    await app.engine.receive(ann.inbound("is there a free trial"))
    assert await app.outbox.deliver_due() == 0
    app.outbox.paused = False
    assert await app.outbox.deliver_due() == 1


class StuckSender(RecordingSender):
    """Sends at once, except to `stuck`, whose sends wait until `release` is set (a
    call hanging until the HTTP timeout, a desk group paced to 20 a minute)."""

    def __init__(self, stuck: str) -> None:
        super().__init__()
        self.stuck = stuck
        self.release = asyncio.Event()
        self.waiting = 0

    async def send(self, message: Outbound) -> str:
        if message.address.chat_id == self.stuck:
            self.waiting += 1
            await self.release.wait()
        return await super().send(message)


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_send_that_hangs_holds_up_its_own_address_only(app: Candor, clock: Clock) -> None:
    """A long queue for one address (more than a pass reads at once) whose sending
    hangs: other addresses' messages, written after it, still go at once."""
    sender = StuckSender("ann")
    app.outbox.register(sender)
    now = clock.now
    async with app.store.transaction() as tx:
        for n in range(PAGE + 50):
            await tx.outbox.enqueue(
                Outbound(Address("test", "ann"), f"piece {n}", Cause.REPLY), now
            )
        await tx.outbox.enqueue(Outbound(Address("test", "bob"), "for bob", Cause.REPLY), now)
    app.start_background()
    await until(lambda: sender.waiting == 1)
    await until(lambda: sender.texts("bob") == ["for bob"])
    assert sender.texts("ann") == []
    async with app.store.transaction() as tx:  # written while Ann's send is still stuck
        await tx.outbox.enqueue(Outbound(Address("test", "cem"), "for cem", Cause.REPLY), now)
    app.outbox.wake()
    await until(lambda: sender.texts("cem") == ["for cem"])
    sender.release.set()
    await until(lambda: len(sender.texts("ann")) == PAGE + 50)
    assert sender.texts("ann") == [f"piece {n}" for n in range(PAGE + 50)]
    assert all(state == "sent" for _, state in await app.store.outbox_rows())


async def test_a_message_backing_off_does_not_keep_the_outbox_busy(
    customer_factory: Callable[[str], Customer], app: Candor, sender: RecordingSender
) -> None:
    """A reply waiting out a 429 must not start a sending task on every pass: it
    did, each task ended at once and woke the outbox again, a full core spent
    re-reading the outbox until the wait was over."""
    ann = customer_factory("ann")
    sender.failures.append(DeliveryError("429", retry_after=60))
    await app.engine.receive(ann.inbound("how much does it cost?"))
    assert await app.outbox.deliver_due() == 0  # refused; due again in 60 s
    reads = 0
    real = app.store.pending

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return await real(*args, **kwargs)

    app.store.pending = counted  # type: ignore[method-assign]
    loop = asyncio.create_task(app.outbox.run(poll_seconds=3600))
    await until(lambda: reads >= 1, seconds=60)  # the first pass (a bound on a hang)
    for _ in range(20):  # trips to the database, among which a busy outbox would read again
        await app.store.outbox_rows()
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop
    assert reads == 1  # the first pass; then it sleeps until woken or the poll


async def test_old_messages_that_are_not_due_do_not_hold_up_new_ones(
    app: Candor, sender: RecordingSender, clock: Clock
) -> None:
    """More than a page of older messages that wait (notices held overnight, a chat
    backing off) and a new reply for someone else: the reply goes now."""
    now = clock.now
    async with app.store.transaction() as tx:
        for n in range(PAGE):
            notice = Outbound(
                Address("test", "ann"), f"notice {n}", Cause.INCIDENT, customer_id=None
            )
            await tx.notices.hold(await tx.outbox.enqueue(notice, now), now + timedelta(hours=9))
        for n in range(PAGE):
            waiting = Outbound(Address("test", "bob"), f"reply {n}", Cause.REPLY)
            await tx.outbox.mark_retry(
                await tx.outbox.enqueue(waiting, now), now + timedelta(hours=1), "429"
            )
        await tx.outbox.enqueue(Outbound(Address("test", "cem"), "for cem", Cause.REPLY), now)
    assert await app.outbox.deliver_due() == 1
    assert sender.texts() == ["for cem"]
