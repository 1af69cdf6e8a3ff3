"""`candor desk`: the agents' desk in a terminal, on the same database as the chat.

Case cards, customers' messages and delivery receipts appear as they arrive, on
every agent's terminal desk once (`adapters.console.feed`).
`/open N` switches the case you are writing in (like picking a thread); anything
else is sent to the core exactly as an agent's message in a Slack thread or a
Telegram topic would be.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from adapters.console.chat import render
from adapters.console.feed import DeskFeed
from adapters.console.platform import TERMINAL_DESK
from adapters.console.terminal import Terminal, shown, terminal
from bot.app import Candor
from bot.config import Config, ConfigError
from bot.model import Address, Button, Identity, Inbound, InboundKind, Outbound
from bot.tasks import cancel_and_wait

HELP = (
    "Terminal desk: /open N switches to case #N (your replies go there) and shows it whole;"
    " a number presses a button of the last card; /cases shows the queue; /help lists the"
    " desk commands."
)


class DeskSender:
    """Prints what the core sends to the terminal desk."""

    channel = TERMINAL_DESK.channel
    # `Delivery.private_to` (an agent's sign-in link): shown only on that agent's own
    # terminal, never on another's (several `candor desk` may share one database)
    shows_to_one = True

    def __init__(self, out: TextIO, *, ansi: bool = False, agent: str = "") -> None:
        self.agent = agent  # whose terminal this is (their console name)
        self._out = out
        self._ansi = ansi
        self.buttons: tuple[Button, ...] = ()
        self.current: str = ""  # the case (thread) the agent is writing in
        self.fed = False  # shown by a `DeskFeed`, not as the outbox delivers

    async def send(self, message: Outbound) -> str:
        """The outbox's delivery: shown here, unless every terminal desk shows what it
        has not shown yet from the database (`fed`: `adapters.console.feed`)."""
        if not self.fed:
            await self.show(message)
        return "" if message.delivery.card_update else _thread(message)

    async def show(self, message: Outbound) -> None:
        if message.delivery.card_update:
            return  # the terminal already printed what changed
        delivery = message.delivery
        if delivery.private_to and delivery.private_to != self.agent:
            return  # for another agent's eyes: not shown here
        if self.fed and delivery.only_to and delivery.only_to != self.agent:
            return  # the desk's answer to another agent's typing
        thread = _thread(message)
        if delivery.card and message.case_id is not None and not self.current:
            self.current = thread
        label = f"[#{thread}] " if thread else ""
        body = render(message.text, message.buttons, ansi=self._ansi)
        await shown(self._out, f"{label}{body.replace(chr(10), chr(10) + ' ' * len(label))}\n\n")
        if message.buttons:
            self.buttons = message.buttons

    def inbound(self, line: str, agent: str) -> Inbound | None:
        """A typed line as an agent's Inbound; None for the desk's own navigation."""
        choice = line.strip()
        if choice.startswith("/open"):  # the desk loop checks the case (`open_case`)
            self._out.write("(usage: /open N)\n")
            self._out.flush()
            return None
        is_button = choice.isascii() and choice.isdigit()
        if not self.current and not choice.startswith("/") and not is_button:
            # words with no case to go to: said here, what to do (the core could only
            # ask "which case?")
            self._out.write(
                "(no case is open here, so that went nowhere: /open N picks case #N,"
                " /cases shows the queue)\n"
            )
            self._out.flush()
            return None
        if is_button and 1 <= int(choice[:6]) <= len(self.buttons):
            button = self.buttons[int(choice) - 1]
            self.buttons = ()
            return self.typed(button.label, agent, payload=button.payload)
        return self.typed(line, agent)

    def typed(self, text: str, agent: str, *, payload: str = "") -> Inbound:
        """`text` (a button's label, with its `payload`) as the agent's, in the case open here."""
        identity = Identity(TERMINAL_DESK.channel, "local", agent)
        address = Address(TERMINAL_DESK.channel, TERMINAL_DESK.chat_id, self.current)
        kind = InboundKind.BUTTON if payload else InboundKind.MESSAGE
        return Inbound(
            uuid.uuid4().hex, identity, address, kind, text=text, payload=payload,
            display_name=agent,
        )  # fmt: skip


def _thread(message: Outbound) -> str:
    """The case's thread on the terminal desk: its number."""
    if message.delivery.card and message.case_id is not None:
        return str(message.case_id)
    return message.address.thread_id or (str(message.case_id) if message.case_id else "")


def wanted_case(line: str) -> int | None:
    """N, for a line `/open N` (or `/open #N`); None for any other line."""
    choice = line.strip()
    if not choice.startswith("/open"):
        return None
    number = choice[5:].strip().lstrip("#")
    if number.isascii() and number.isdigit() and len(number) < 10:
        return int(number)
    return None


async def open_case(app: Candor, sender: DeskSender, number: int, out: TextIO) -> bool:
    """`/open N`: write in case #N from now on, if it is on the desk (True: the core
    then shows the whole case); else say why not and stay in the case you were
    writing in."""
    async with app.store.transaction() as tx:
        case = await tx.cases.get(number)
        thread = None
        if case is not None:
            chat = TERMINAL_DESK.chat_id
            thread = await tx.desk.thread_of(TERMINAL_DESK.channel, chat, number)
    staying = f"still writing in case #{sender.current}" if sender.current else "no case open"
    if case is None:
        out.write(f"(there is no case #{number}; {staying}: /cases shows the queue)\n")
    elif thread is None:
        out.write(
            f"(case #{number} was never handed over to the desk, so there is nothing to"
            f" write in yet: /claim {number} takes it over; {staying})\n"
        )
    else:
        sender.current = str(number)
        out.write(f"(now writing in case #{number})\n")
    out.flush()
    return sender.current == str(number)


def agent_name(config: Config, wanted: str | None) -> str:
    """Who `candor desk --as WANTED` is: an agent's `console` name (default: the first)."""
    names = [
        name
        for name in (agent.user_id_on(TERMINAL_DESK.channel) for agent in config.desk.agents)
        if name
    ]
    if not names:
        raise ConfigError(
            "no agent can use the terminal desk: add one to [desk] agents with a `console`"
            " name (see config.example.toml)"
        )
    if wanted is None:
        return names[0]
    if wanted not in names:
        raise ConfigError(
            f"--as {wanted}: not an agent in [desk] agents (agents: {', '.join(names)})"
        )
    return wanted


async def desk(
    app: Candor, agent: str, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run the terminal desk as `agent` until the end of input."""
    async with terminal(stdin or sys.stdin, stdout or sys.stdout) as term:
        sender = DeskSender(term.out, ansi=term.interactive, agent=agent)
        term.prompt = lambda: f"{agent} #{sender.current or '-'}> "  # the case in use
        return await _work(app, agent, sender, term)


async def _work(app: Candor, agent: str, sender: DeskSender, term: Terminal) -> int:
    feed = DeskFeed(app.store, sender.show, agent)
    sender.fed = True
    await feed.start()
    app.outbox.register(sender, chat_id=TERMINAL_DESK.chat_id)
    app.start_background(desk=True)
    term.out.write(f"{HELP}\n\n")
    term.out.flush()
    poller = asyncio.create_task(feed.run(app.config.outbox.poll_seconds))
    try:
        return await _lines(app, agent, sender, term, feed)
    finally:
        await cancel_and_wait([poller])


async def _lines(
    app: Candor, agent: str, sender: DeskSender, term: Terminal, feed: DeskFeed
) -> int:
    await app.outbox.deliver_due()
    await feed.pump()
    while (line := await term.line()) is not None:
        if not line.strip():
            continue
        number = wanted_case(line)
        inbound = sender.inbound(line, agent) if number is None else None
        if number is not None and await open_case(app, sender, number, term.out):
            inbound = sender.typed(f"/open {number}", agent)  # its card, history, notes
        if inbound is not None:
            await app.engine.receive(inbound)
            await app.outbox.deliver_due()
            await feed.pump()
    await app.outbox.deliver_due()
    await feed.pump()
    return 0
