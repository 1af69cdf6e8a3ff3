"""What the outbox does with a case's messages to a desk, beyond sending them.

On a desk each case is a lane of its own (`Lane`, `lane_of`): its messages go in
order, cases concurrently, so a paced desk (a Telegram staff group, 20 messages a
minute for every case) can be shared fairly between cases by its sender. Here:

- `DeskLanes.coalesce`: a lane's queue as it is sent: a due card first (the case's other
  pending messages then go into the card's thread), and a burst of the customer's
  relayed words waiting at once as one message, each text still saying who wrote
  it. One customer's 90 messages are then a few desk messages, not 90. Of several
  updates of the card waiting at once, only the latest goes (it says where the case
  stands now: the card, the thread's name, closed or open).
- `DeskLanes.thread_gone`: the case's desk thread was deleted by someone on the desk; the
  desk makes the case a new card (a new thread, with the recent timeline and a
  line saying why), and the message that met the gone thread goes into the new one;
  for a resolved case (its thread deleted as done with) no new card: the message
  goes to the desk outside any thread, naming the case.

Why the fairness is split so: the outbox knows cases but not a platform's budget;
the sender knows the budget (python-telegram-bot's AIORateLimiter paces a group,
first come first served) but not cases. So the outbox gives each case its own
lane, and the Telegram sender lets one message at a time through to the limiter,
new cards first, then the cases in turn (`adapters.turns`). Joining a burst of
relays needs the stored rows, so it is the outbox's, and works on any desk.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Set
from dataclasses import replace
from datetime import datetime

from bot.model import NO_DELIVERY, Address, Cause, Outbound, Purpose
from bot.store import Store, Transaction

log = logging.getLogger(__name__)

COALESCE_CHARS = 3000  # relayed texts joined into one desk message, up to this many characters
LOOK = 2000  # pending desk messages read to find a new card already waiting
REOPEN_TRIES = 5  # a message waits for its case's new thread this many times at most

Queue = list[tuple[Outbound, datetime]]
# Where messages are sent in order: an address; on a desk, a case's messages to it.
Lane = Address | tuple[Address, int]


def lane_of(message: Outbound, desks: Set[tuple[str, str]], desk_channels: Set[str]) -> Lane:
    """Where a message waits its turn: its address; a case's message to a desk (into
    the case's thread, found when it is sent) in that case's own lane."""
    address = message.address
    if message.case_id is None or address.thread_id:
        return address
    if address.channel in desk_channels or (address.channel, address.chat_id) in desks:
        return (address, message.case_id)
    return address


class DeskLanes:
    """The outbox's work on cases' desk lanes. `reopen` (the desk's) makes a case's
    card again for a desk whose thread of the case is gone."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        wake_later: Callable[[float], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._wake_later = wake_later
        self.reopen: Callable[[Transaction, Outbound], Awaitable[list[Outbound]]] | None = None

    async def coalesce(self, queue: Queue) -> Queue:
        """A lane's queue as it is sent; unchanged unless it is a case's desk lane:
        then its due card first, each run of relayed texts (due, never tried,
        plain text) as one message, and of its due card updates the latest alone
        (where it stands). Stored so, in one transaction: the run's first
        row carries every text, the others are marked sent within it; nothing is
        lost, nothing sent twice."""
        head = queue[0][0] if queue else None
        if head is None or head.case_id is None or head.address.thread_id:
            return queue
        if head.cause is not Cause.DESK:
            return queue
        now = self._clock()
        cards = [item for item in queue if item[0].delivery.card and item[1] <= now]
        ordered = cards + [item for item in queue if item not in cards]
        # the card as it stands now replaces its earlier updates waiting with it
        updates = [i for i in ordered if i[0].delivery.card_update and i[1] <= now and i[0].id]
        stale, latest = updates[:-1], updates[-1][0] if updates else None
        runs = _runs([item for item in ordered if item not in stale], now)
        if len(runs) == len(ordered):
            return ordered
        out: Queue = []
        try:
            async with self._store.transaction() as tx:
                if stale and latest is not None:
                    await tx.outbox.coalesce(latest.id, latest.text, [m.id for m, _ in stale], now)
                for run in runs:
                    first, due = run[0]
                    if len(run) > 1:
                        text = "\n\n".join(m.text for m, _ in run)
                        merged = [m.id for m, _ in run[1:]]
                        await tx.outbox.coalesce(first.id, text, merged, now)
                        first = replace(first, text=text)
                    out.append((first, due))
        except Exception:
            log.exception("could not join relayed messages; sending them one by one")
            return ordered
        return out

    async def thread_gone(self, message: Outbound, reason: str) -> bool:
        """`message` met a desk thread that is gone. If it was its case's thread
        there, and no new card waits yet, the desk's card of the case is enqueued
        again (a new thread); the message is due again when that card is, and then
        goes into the new thread. If the case gets no new card (it is resolved), the
        message goes outside any thread instead (`_outside_the_thread`). Returns
        whether either was so (if not, the message fails as any other)."""
        address, case_id = message.address, message.case_id
        if self.reopen is None or case_id is None or not address.thread_id:
            return False
        if message.attempts >= REOPEN_TRIES:
            return False  # the new thread cannot be made (its card keeps failing)
        now = self._clock()
        pending = await self._store.pending(address.channel, address.chat_id, LOOK)
        waits = [due for m, due in pending if m.case_id == case_id and m.delivery.card]
        async with self._store.transaction() as tx:
            if not waits:
                current = await tx.desk.thread_of(address.channel, address.chat_id, case_id)
                if current != address.thread_id:
                    return False
                cards = await self.reopen(tx, message)
                if not cards:
                    return await _outside_the_thread(tx, message, now)
                for card in cards:
                    await tx.outbox.enqueue(card, now)
            due = max([now, *waits])
            await tx.outbox.mark_retry(message.id, due, f"{reason}; into the case's new thread")
        log.warning("case %s: its desk thread is gone; a new card opens another", case_id)
        self._wake_later((due - now).total_seconds())
        return True


async def _outside_the_thread(tx: Transaction, message: Outbound, now: datetime) -> bool:
    """A message for a case whose gone thread is not made again (the case is resolved:
    its thread was deleted as done with): it goes to the desk outside any thread,
    saying which case (a rating that comes later is not lost). An update of the card
    has nothing left to edit: it fails, as it says. Returns whether it was moved."""
    if message.delivery.card_update or message.delivery.card:
        return False
    address = message.address
    moved = replace(
        message,
        id=0,
        address=replace(address, thread_id=""),
        text=f"(case #{message.case_id}, whose thread was deleted)\n{message.text}",
        delivery=replace(message.delivery, in_thread=False),
    )
    kept = await tx.outbox.enqueue(moved, now)
    await tx.outbox.coalesce(kept, moved.text, [message.id], now)  # sent as `kept`
    log.warning("case %s: its desk thread is gone; a message went outside it", message.case_id)
    return True


async def in_thread(store: Store, message: Outbound) -> Outbound:
    """A desk message about a case goes into the case's thread on that desk. (If its
    case has no thread there because the customer was erased since the message was
    read, its row is gone with the mapping: the outbox's check just before the send,
    `Store.sendable`, drops it, so it never goes outside the thread.)"""
    address = message.address
    if not message.delivery.in_thread or address.thread_id or message.case_id is None:
        return message
    case_id = message.case_id
    async with store.transaction() as tx:
        thread = await tx.desk.thread_of(address.channel, address.chat_id, case_id)
        card = ""  # a card update edits the card: its message, if not the thread's
        if thread is not None and message.delivery.card_update:
            card = await tx.desk.card_message_of(address.channel, address.chat_id, case_id)
    if thread is None:
        return message
    delivery = replace(message.delivery, card_message=card)
    return replace(message, address=replace(address, thread_id=thread), delivery=delivery)


def _runs(queue: Queue, now: datetime) -> list[Queue]:
    """The queue in runs to send as one message each: relayed texts side by side
    that may be joined, up to COALESCE_CHARS; every other message alone."""
    runs: list[Queue] = []
    size = 0
    for item in queue:
        joins = bool(runs) and _joinable(runs[-1][-1], now) and _joinable(item, now)
        if joins and size + 2 + len(item[0].text) <= COALESCE_CHARS:
            runs[-1].append(item)
            size += 2 + len(item[0].text)
        else:
            runs.append([item])
            size = len(item[0].text)
    return runs


def _joinable(item: tuple[Outbound, datetime], now: datetime) -> bool:
    """A relayed text that may be joined with the ones beside it: the customer's
    words only (no files, buttons or receipts), due, and never tried (a try may have
    sent part of it)."""
    message, due = item
    delivery = message.delivery
    return (
        delivery.purpose is Purpose.RELAY
        and due <= now
        and message.attempts == 0
        and message.id > 0
        and not message.buttons
        and delivery == replace(NO_DELIVERY, purpose=Purpose.RELAY, in_thread=delivery.in_thread)
    )
