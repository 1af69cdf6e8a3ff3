"""What the outbox's passes read: the due messages by lane, but never again the rows
already in hand.

A pass reads the pending rows page by page and starts a sending task for each lane
with something due. The rows a busy lane has in hand (its task's, and those a pass
read behind it, which wait for it) are not read again (`Store.pending(skip=...)`),
nor, when several processes share the outbox, the rows of chats another process
owns (`owner=`). A task's end wakes a pass only when a pass read rows behind it or
it left some of what it had; a pass that stopped at its bound wakes the next at
once, which reads on past what is now in hand. So a row is read when its lane's
task starts, and once more at most if it was read behind a running task: the work
per message sent is bounded, whatever the backlog. (Before, every task's end woke a
pass that read the backlog again past the busy lanes: on PostgreSQL, where reads
run beside the writer, hundreds of rows read per message sent.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from bot.lanes import Lane
from bot.model import Cause, Outbound
from bot.store import Store

NOTICES = (Cause.INCIDENT, Cause.IDEA)  # may wait; replies never do
PAGE = 200  # pending messages a pass reads at a time
PAGES = 10  # ... and pages at most, past lanes with nothing due

Queue = list[tuple[Outbound, datetime]]


class InHand:
    """The rows each busy lane has in hand, and the busy lanes a pass read rows
    behind (see the module)."""

    def __init__(self) -> None:
        self._held: dict[Lane, set[int]] = {}
        self._behind: set[Lane] = set()

    def take(self, lane: Lane, queue: Queue) -> None:
        """A task starts sending `queue` to `lane`."""
        self._held[lane] = {message.id for message, _ in queue if message.id is not None}

    def behind(self, lane: Lane, queue: Queue) -> None:
        """`queue` waits for the busy lane's task to end: then a pass reads it again."""
        self._behind.add(lane)
        self._held.setdefault(lane, set()).update(m.id for m, _ in queue if m.id is not None)

    def end(self, lane: Lane) -> bool:
        """Its task ended: whether a pass read rows behind it (that wait for a pass)."""
        self._held.pop(lane, None)
        behind = lane in self._behind
        self._behind.discard(lane)
        return behind

    async def read(
        self,
        store: Store,
        channel: str,
        chat_id: str | None,
        now: datetime,
        lane_of: Callable[[Outbound], Lane],
        busy: Collection[Lane],
        owner: str | None,
    ) -> tuple[dict[Lane, Queue], bool]:
        """Pending messages by lane, in order, but those in hand already; and whether
        it stopped at a bound before the end. A busy lane's rows read here are held
        for it. Reading goes on past lanes with nothing due (a back-off), up to PAGES
        pages, so that a long queue (a paced desk group's) cannot keep others'
        messages from being read; held notices are not read at all."""
        queues: dict[Lane, Queue] = {}
        after = 0
        for _ in range(PAGES):
            skip = set().union(*self._held.values())
            page = await store.pending(channel, chat_id, PAGE, after, now, skip=skip, owner=owner)
            for message, due in page:
                lane = lane_of(message)
                if lane in busy and lane not in queues:
                    self.behind(lane, [(message, due)])  # its task's end wakes a pass
                else:
                    queues.setdefault(lane, []).append((message, due))
            if len(page) < PAGE:
                return queues, False
            if sum(len(queue) for queue in queues.values() if ready(queue, now)) >= PAGE:
                break
            after = page[-1][0].id or after
        return queues, True


def ready(queue: Queue, now: datetime) -> bool:
    """Whether a lane has something to send now, as the outbox's task goes: a due
    message before the first that is not due and not a notice."""
    for message, due in queue:
        if due <= now:
            return True
        if message.cause not in NOTICES:
            return False
    return False
