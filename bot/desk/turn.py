"""One thing an agent did on a desk: a command, a button, or a reply in a case's thread.

The commands are declared by features (`Feature.desk_command`); this module finds
the one meant, the case it is about (a number typed, a button's, or the thread it
was written in) and runs it. Every change of a case's state goes through
`DeskTurn.transition`: save the case, put the event on its timeline, tell the
customer, tell the desks, and refresh the card where a desk can edit it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.config import AgentSettings
from bot.i18n import speaking, spoken
from bot.model import (
    Button,
    Case,
    Cause,
    Customer,
    Delivery,
    EventKind,
    Inbound,
    InboundKind,
    Outbound,
    Purpose,
)
from bot.registry import DeskCommand
from bot.store import Transaction
from bot.text import clean, parse_command, small_number
from bot.turn import Services


def number(text: str) -> int | None:
    return small_number(text.strip().lstrip("#"))


def desk_help(services: Services) -> str:
    """What agents can type, from the registry."""
    commands = " ".join(
        f"/{c.name}{(' ' + c.usage) if c.usage else ''}: {c.help}."
        for c in services.registry.desk_commands
        if c.name != "reply"
    )
    return (
        f"Desk commands: {commands} Anything else you write in a case's thread goes to the"
        " customer; note: TEXT is an internal note. Add a case number to act on another"
        " case: /claim 12."
    )


class DeskTurn:
    """The context a desk command's handler gets."""

    def __init__(
        self,
        services: Services,
        tx: Transaction,
        inbound: Inbound,
        agent: AgentSettings,
        now: datetime,
    ) -> None:
        self.services = services
        self.desk = services.desk
        self.tx = tx
        self.inbound = inbound
        self.agent = agent
        self.now = now
        self.out: list[Outbound] = []

    def answer(self, text: str, buttons: Sequence[Button] = ()) -> None:
        """Reply where the agent wrote (their thread on their desk), to them alone
        where the desk can do that (Slack's ephemeral messages)."""
        self.out.append(
            Outbound(
                address=self.inbound.address,
                text=text,
                cause=Cause.DESK,
                buttons=tuple(buttons),
                delivery=Delivery(
                    purpose=Purpose.DESK_REPLY, only_to=self.inbound.identity.user_id
                ),
            )
        )

    async def tell_customer(self, case: Case, text: str, **fields: Any) -> Outbound | None:
        """A case update to the customer, where their words on the case were said
        (cases from before Candor kept that: wherever they wrote last)."""
        address = case.reply_to or await self.tx.customers.address_of(case.customer_id)
        if address is None:
            self.answer(f"Case #{case.id}: the customer has no address any more (erased?).")
            return None
        message = Outbound(
            address=address,
            text=text,
            cause=Cause.CASE_UPDATE,
            customer_id=case.customer_id,
            case_id=case.id,
            **fields,
        )
        self.out.append(message)
        return message

    async def transition(
        self,
        case: Case,
        *,
        event: tuple[EventKind, str],
        customer: str = "",
        desk: tuple[str, Purpose] | None = None,
        buttons: Sequence[Button] = (),
        **changes: Any,
    ) -> Case:
        """Change the case's state: save it, record `event` (kind, text) by this agent,
        tell the customer `customer` (with `buttons`), post `desk` (text, kind) to
        every desk. The card is refreshed once the command is done (`run`)."""
        case = replace(case, updated_at=self.now, **changes)
        await self.tx.cases.update(case)
        kind, text = event
        await self.tx.timeline.append(case.id, kind, self.agent.name, text, self.now)
        if customer:
            await self.tell_customer(case, customer, buttons=tuple(buttons))
        if desk is not None:
            self.out += self.desk.to_desk(case, desk[0], purpose=desk[1])
        return case

    # -- which command, which case ------------------------------------------------------

    def parse(self) -> tuple[DeskCommand | None, str, int | None]:
        """(the command, its argument, the case number typed) from a message."""
        registry = self.services.registry
        text = clean(self.inbound.text)
        if text.startswith("!"):  # where "/" belongs to the platform (Slack): !claim, !cases
            text = "/" + text[1:]
        command = parse_command(text)
        if command is None:
            if text.lower().startswith("note:"):
                return registry.desk_command("note"), text[5:].strip(), None
            return registry.desk_command("reply"), text, None
        name, args = command
        found = registry.desk_command(name)
        if found is None:
            return None, "", None
        words = args.split()
        if found.case == "first" and words and number(words[0]) is not None:
            return found, args.split(None, 1)[1] if len(words) > 1 else "", number(words[0])
        if found.case == "second":
            return found, words[0] if words else "", number(words[1]) if len(words) > 1 else None
        return found, args, None

    async def run(self) -> list[Outbound]:
        inbound = self.inbound
        if inbound.kind is InboundKind.BUTTON:
            found = self.services.registry.route(inbound.payload, desk=True)
            if found is None:
                self.answer(desk_help(self.services))
            else:
                route, fields = found
                await route.handler(self, fields)
        elif inbound.kind is InboundKind.MESSAGE and clean(inbound.text):
            await self.dispatch(*self.parse())
        return self.out  # edits, files and the like on a desk: nothing to do

    async def dispatch(self, command: DeskCommand | None, args: str, case_id: int | None) -> None:
        """Run a desk command on the case it names, or the thread's case."""
        if command is None:
            self.answer(desk_help(self.services))
            return
        if command.case == "none":
            await command.handler(self, args)
            return
        if case_id is None:
            case_id = await self.tx.desk.case_for_thread(self.inbound.address)
        if case_id is None:
            self.answer(
                "Which case? Write in a case's thread, or add its number, like /claim 12. "
                + desk_help(self.services)
            )
            return
        case = await self.tx.cases.get(case_id)
        if case is None:
            self.answer(f"There is no case #{case_id}.")
            return
        customer = await self.tx.customers.get(case.customer_id)
        assert customer is not None
        # what the customer is told is in their language; the desk's words stay English
        with speaking(spoken(customer.language, self.services.settings.languages)):
            await command.handler(self, case, customer, args)
        await self._refresh_card(case, customer)

    async def _refresh_card(self, before: Case, customer: Customer) -> None:
        after = await self.tx.cases.get(before.id)
        if after is not None and (after.state, after.agent) != (before.state, before.agent):
            where = await self.tx.customers.address_of(after.customer_id)
            events = await self.tx.timeline.recent(after.id, limit=100)
            self.out += self.desk.card(
                after, customer, where.channel if where else "?", events, update=True
            )


async def handle(
    services: Services, tx: Transaction, inbound: Inbound, now: datetime
) -> list[Outbound]:
    """What the desk does with one inbound from a desk address."""
    agent = services.desk.agent_for(inbound.identity)
    if agent is None:
        turn = DeskTurn(services, tx, inbound, AgentSettings(name="?"), now)
        turn.answer(
            "Only agents can act on cases here, and you are not one of them"
            " (agents are listed in the config's [desk] agents)."
        )
        return turn.out
    return await DeskTurn(services, tx, inbound, agent, now).run()
