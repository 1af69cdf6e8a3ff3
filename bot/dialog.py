"""The decisions: what the bot says and does with each thing a customer sends.

`Dialog.handle` runs inside the engine's transaction. It settles which case the
message belongs to, runs every feature's arrival hooks, and hands the inbound to
whatever the registry says handles it: a button to its route, a command to its
handler, plain text through the message pipeline (each feature's steps in their
declared order, until one deals with it), other kinds to their receiver. It
returns the messages for the outbox (to the customer and to the desk). Adapters
only translate; every decision is made here or in a feature.

The pipeline runs the commands first (here, at `COMMANDS_STEP`), records the
message (here, at 40), and ends with the answer from the knowledge base (100);
`Registry.steps` lists every feature's steps in order (CONTRIBUTING.md shows it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.desk import turn as desk_turn
from bot.features import cases, language, link
from bot.i18n import _, speaking, spoken
from bot.model import (
    Button,
    Case,
    CaseState,
    Cause,
    Customer,
    EventKind,
    Inbound,
    InboundKind,
    Outbound,
)
from bot.registry import Feature, Registry, bind, render_commands, unbind
from bot.store import Transaction
from bot.text import MAX_MATCHED, clean, md_escape, parse_command
from bot.turn import COMMANDS_STEP, Services, Turn

core = Feature("conversation")


@core.step("commands", order=COMMANDS_STEP, when=lambda turn: turn.command is not None)
async def commands(turn: Turn) -> bool:
    assert turn.command is not None
    name, args = turn.command
    await turn.record(EventKind.CUSTOMER, turn.text, command=name)
    found = turn.services.registry.command(name)
    if found.command is not None:
        await found.command.handler(turn, args)
        return True
    known = ", ".join(f"/{c.name}" for c in turn.services.registry.public_commands())
    typed = turn.services.command_prefix(turn.address.channel)  # as they typed it
    close = (
        " " + _("Did you mean /{command}?").format(command=found.suggestion)
        if found.suggestion
        else ""
    )
    await turn.say(
        _("I don't know the command {command}.").format(command=typed + md_escape(name))
        + close
        + " "
        + _("These work: {known}. Or just type your question.").format(known=known)
    )
    return True


@core.step("record the message", order=40)
async def record(turn: Turn) -> bool:
    await turn.record(EventKind.CUSTOMER, turn.text)
    if turn.text:
        return False
    await turn.say(_("I got an empty message. Type your question, or /help to see what I can do."))
    return True


class Dialog:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.registry: Registry = services.registry
        self.desk = services.desk
        self._names = self.registry.names()
        self._prefixes: dict[str, str] = {}  # channel → how its people type commands

    def prepare(self, inbound: Inbound) -> bool:
        """The CPU-bound part of a turn, before its transaction: match the question, so
        that other customers' turns use the database meanwhile. (The decision is kept
        by the knowledge base and found again inside the turn.)

        Returns whether the turn must run in a transaction of its own: one that may
        change another customer (answering a /link merges two) cannot share a
        group commit with that customer's turns."""
        if inbound.kind is InboundKind.BUTTON:
            return link.changes_another_customer(None, inbound.payload)
        if inbound.kind is not InboundKind.MESSAGE:
            return False
        text = clean(inbound.text)
        command = parse_command(text)
        if command is not None:
            return link.changes_another_customer(command)
        if text:
            self.services.knowledge.decide(text[:MAX_MATCHED])
        return False

    async def handle(
        self,
        tx: Transaction,
        inbound: Inbound,
        customer: Customer,
        new_customer: bool,
        latest: Case | None,
        now: datetime,
    ) -> list[Outbound]:
        """Record what the customer did, decide, and return the messages to send.
        `latest`: their unresolved case, else the last resolved one, else None."""
        with speaking(spoken(customer.language, self.services.settings.languages)):
            return await self._handle(tx, inbound, customer, new_customer, latest, now)

    async def _handle(
        self,
        tx: Transaction,
        inbound: Inbound,
        customer: Customer,
        new_customer: bool,
        latest: Case | None,
        now: datetime,
    ) -> list[Outbound]:
        if inbound.kind is InboundKind.BUTTON:
            packed, owner = unbind(inbound.payload)
            if owner != customer.id:
                # someone else's button (pressed in a shared channel), or a forged one: it
                # changes nothing, and only the one who pressed it hears so
                turn = Turn(self.services, tx, inbound, customer, new_customer, latest, now)
                return [turn.privately(_not_yours(turn, owner))]
            inbound = replace(inbound, payload=packed)
        turn = Turn(self.services, tx, inbound, customer, new_customer, latest, now)
        await language.arrive(turn)  # before anything is said
        for hook in self.registry.arrivals:
            await hook(turn)
        if await cases.settle(turn):
            return turn.out
        if turn.foreign:
            await language.foreign_notice(turn)
        kind = turn.inbound.kind
        if kind is InboundKind.BUTTON:
            await self.button(turn)
        elif kind is InboundKind.MESSAGE:
            for step in self.registry.steps:
                if step.applies(turn) and await step.handler(turn):
                    break
        else:
            receiver = self.registry.receivers.get(kind)
            if receiver is not None:
                await receiver(turn)
        if turn.preface is not None:  # nothing else was said: the introduction alone
            turn.out.append(await turn.reply(""))
        return turn.out

    async def button(self, turn: Turn) -> None:
        payload = turn.inbound.payload
        await turn.record(EventKind.CUSTOMER, "", button=payload)
        found = self.registry.route(payload)
        resolved = turn.case.state is CaseState.RESOLVED
        if found is None and not resolved:
            await turn.say_privately(
                _("That button is no longer active. Type your question, or /help.")
            )
            return
        if found is None or (resolved and not found[0].on_resolved):
            await turn.say_privately(
                _(
                    "Case #{case} is resolved, so that button no longer does anything."
                    " Just write if you need something."
                ).format(case=turn.case.id)
            )
            return
        route, fields = found
        await route.handler(turn, fields)

    async def handle_desk(self, tx: Transaction, inbound: Inbound, now: datetime) -> list[Outbound]:
        """What an agent did on a desk."""
        return await desk_turn.handle(self.services, tx, inbound, now)

    def render(self, message: Outbound) -> Outbound:
        """The commands the core wrote as `/name`, as people type them on the
        message's channel (`!name` on Slack); a customer's buttons bound to them."""
        if message.buttons and message.customer_id is not None and message.cause is not Cause.DESK:
            owner = message.customer_id
            buttons = tuple(Button(b.label, bind(b.payload, owner)) for b in message.buttons)
            message = replace(message, buttons=buttons)
        channel = message.address.channel
        prefix = self._prefixes.get(channel)
        if prefix is None:  # the config does not change while it runs
            prefix = self._prefixes[channel] = self.services.command_prefix(channel)
        if prefix == "/":
            return message
        text = render_commands(message.text, prefix, self._names)
        return message if text == message.text else replace(message, text=text)


def _not_yours(turn: Turn, owner: int | None) -> Outbound:
    """What the presser of a button shown to someone else (or to nobody) hears."""
    return Outbound(
        address=turn.address,
        text=_("That button was for someone else, so it did nothing.")
        if owner is not None
        else _("That button is no longer active. Type your question, or /help."),
        cause=Cause.REPLY,
        customer_id=turn.customer.id,
    )
