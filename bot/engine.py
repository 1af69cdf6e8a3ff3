"""The one entry point for inbound messages.

`Engine.receive` handles one customer's messages in order (a lock per identity;
different customers run concurrently) and commits everything a message changes
in one transaction: the dedupe key, the customer, the case, the timeline and the
replies in the outbox. Only after that commit may an adapter acknowledge the
platform event.

Customers' turns share transactions (group commit, `Store.shared`): the turns
running at the same moment commit together, so a commit and the waits for the
database are paid once for many messages. Two turns of one customer (from two
linked channels) never run in one group at the same time: a lock per customer is
held for the turn. Desk actions, and turns that may change another customer, run
alone; a turn whose group was rolled back for someone else's failure runs again
alone, so one bad message never costs another customer theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

from bot.dialog import Dialog
from bot.i18n import _, speaking, spoken
from bot.logs import failure
from bot.model import CaseState, Cause, EventKind, Inbound, Outbound, Receipt
from bot.store import Busy, Store, StoreError, Transaction
from bot.text import clean, ident, well_formed

log = logging.getLogger(__name__)


# Far more than the turns of one group commit (at most a few hundred), within which
# a customer's earlier reading and their lock are a few awaits apart.
FINISHED_KEPT = 4096
# What a message's content can make fail (a value no code path expected); a database
# failing raises something else, and then the message must come again.
INPUT_ERRORS = (ValueError, TypeError, LookupError)


def utcnow() -> datetime:
    return datetime.now(UTC)


class KeyedLocks:
    """One asyncio.Lock per key, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Engine:
    def __init__(
        self,
        store: Store,
        dialog: Dialog,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._dialog = dialog
        self._desk = dialog.desk
        self._clock = clock
        self._on_commit = on_commit or (lambda: None)
        self._locks = KeyedLocks()
        self._customers = KeyedLocks()
        # Turns finished, numbered, by customer (the latest few thousand): a turn whose
        # customer finished another turn after it read their state reads it again.
        self._turns = 0
        self._finished: OrderedDict[int, int] = OrderedDict()

    async def receive(self, inbound: Inbound) -> Receipt:
        """Handle one inbound event; returns once its effects are committed.

        Raises only when the store itself fails (`StoreError`): then nothing was
        committed and the adapter must not acknowledge the event, so that the platform
        delivers it again. Whatever the input holds, it is kept and answered.
        """
        inbound = well_formed(inbound)  # the adapters did it; an input never raises here
        # One customer's messages in order; one desk's likewise.
        desk = self._desk.is_desk(inbound.address)
        key = inbound.address if desk else inbound.identity
        alone = desk
        if not desk:
            try:
                alone = self._dialog.prepare(inbound)
            except Exception:  # the turn meets it again, and keeps the message with an apology
                log.debug("preparing inbound %s failed", inbound.key, exc_info=True)
                alone = True
        async with self._locks.hold(key):
            try:
                receipt = await self._receive(inbound, alone)
            except Busy:  # another process holds the customer: kept, it would wait again
                raise
            except Exception as error:
                failure(
                    log,
                    error,
                    "handling inbound %s failed; keeping it with an apology",
                    inbound.key,
                )
                receipt = await self._keep_at_least(inbound)
        if not receipt.duplicate:
            self._on_commit()
        return receipt

    async def _receive(self, inbound: Inbound, alone: bool) -> Receipt:
        if not alone:
            try:
                return await self._turn(self._store.shared(), inbound)
            except StoreError:  # the database cannot be used: running alone fails alike
                raise
            except Exception:
                log.debug("group for %s rolled back; running it alone", inbound.key, exc_info=True)
        return await self._turn(self._store.transaction(), inbound)

    async def _turn(
        self, transaction: AbstractAsyncContextManager[Transaction], inbound: Inbound
    ) -> Receipt:
        now = self._clock()
        async with transaction as tx:
            if self._desk.is_desk(inbound.address):
                if not await tx.inbound.first_seen(inbound.identity.channel, inbound.key, now):
                    return Receipt(duplicate=True)
                for message in await self._dialog.handle_desk(tx, inbound, now):
                    await tx.outbox.enqueue(self._dialog.render(message), now)
                return Receipt(duplicate=False)
            name = clean(inbound.display_name)[:80]
            read_after = self._turns
            arrived = await tx.customers.arrive(
                inbound.key, inbound.identity, name, inbound.address, now
            )
            if arrived is None:
                return Receipt(duplicate=True)
            customer, new_customer = arrived
            async with self._customers.hold(customer.id):
                if self._finished.get(customer.id, 0) > read_after:
                    # their turn from another channel changed things since: read afresh
                    customer, _new = await tx.customers.for_identity(
                        inbound.identity, name, inbound.address, now
                    )
                latest = await tx.cases.latest(customer.id)
                messages = await self._dialog.handle(
                    tx, inbound, customer, new_customer, latest, now
                )
                for message in messages:
                    await tx.outbox.enqueue(self._dialog.render(message), now)
                await tx.customers.touch(customer.id, now)
                case_id = next((m.case_id for m in messages if m.case_id), None)
                if case_id is None:
                    settled = await tx.cases.latest(customer.id)
                    case_id = settled.id if settled else None
                self._turns += 1
                self._finished[customer.id] = self._turns
                self._finished.move_to_end(customer.id)
                if len(self._finished) > FINISHED_KEPT:
                    self._finished.popitem(last=False)
        return Receipt(duplicate=False, case_id=case_id)

    async def keep_unreadable(
        self, channel: str, key: str, user_id: str, raw: str, reason: str
    ) -> bool:
        """Keep an event the platform's library could not read, as it came, so that
        nothing is lost and the adapter may acknowledge it (and move past it). True
        the first time. Raises only when the store fails (then do not acknowledge)."""
        async with self._store.transaction() as tx:
            return await tx.inbound.keep_unparsed(
                channel, ident(key), ident(user_id), raw, reason, self._clock()
            )

    async def remind(self) -> int:
        """Raise long-waiting cases again on the desk; returns how many."""
        now = self._clock()
        async with self._store.transaction() as tx:
            messages = await self._desk.remind(tx, now)
            for message in messages:
                await tx.outbox.enqueue(self._dialog.render(message), now)
        if messages:
            self._on_commit()
        return len(messages)

    async def _keep_at_least(self, inbound: Inbound) -> Receipt:
        """Keep the message with an apology. Should its content make even that fail
        (an error of the kind input causes, never the database's), keep its key and
        apologise without its words, so that the event is acknowledged and not
        delivered again for ever. The database failing raises: nothing is stored."""
        try:
            return await self._keep_with_apology(inbound)
        except INPUT_ERRORS as error:
            failure(log, error, "keeping inbound %s failed; apologising without it", inbound.key)
        bare = replace(inbound, text="", payload="", attachments=(), display_name="")
        return await self._keep_with_apology(bare)

    async def _keep_with_apology(self, inbound: Inbound) -> Receipt:
        """A bug in the dialog must not lose the message: keep it, say sorry."""
        now = self._clock()
        async with self._store.transaction() as tx:
            if not await tx.inbound.first_seen(inbound.identity.channel, inbound.key, now):
                return Receipt(duplicate=True)
            if self._desk.is_desk(inbound.address):
                # (not its words: what people write stays out of the log at INFO and above)
                log.error(
                    "desk action %s (%d characters) dropped after an error",
                    inbound.key,
                    len(inbound.text),
                )
                await tx.outbox.enqueue(
                    Outbound(
                        address=inbound.address,
                        text="Sorry, that failed on my side; please try again.",
                        cause=Cause.DESK,
                    ),
                    now,
                )
                return Receipt(duplicate=False)
            customer, _new = await tx.customers.for_identity(
                inbound.identity, clean(inbound.display_name)[:80], inbound.address, now
            )
            case = await tx.cases.latest(customer.id)
            if case is None or case.state is CaseState.RESOLVED:
                case = await tx.cases.new(customer.id, now)
            await tx.timeline.append(
                case.id,
                EventKind.CUSTOMER,
                "customer",
                clean(inbound.text),
                now,
                {"kind": inbound.kind.value, "payload": inbound.payload, "error": True},
            )
            with speaking(spoken(customer.language, self._dialog.services.settings.languages)):
                sorry = _(
                    "Sorry, something went wrong on my side. Your message is saved on case"
                    " #{case}; type /human if you'd like a person to pick it up."
                ).format(case=case.id)
            await tx.outbox.enqueue(
                Outbound(
                    address=inbound.address,
                    text=sorry,
                    cause=Cause.REPLY,
                    customer_id=customer.id,
                    case_id=case.id,
                ),
                now,
            )
        return Receipt(duplicate=False, case_id=case.id)
