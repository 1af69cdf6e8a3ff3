"""Every terminal desk sees every desk message exactly once (issue 19, point 3): two
`candor desk` on one database (two Candor instances on one SQLite file here, each
with its own outbox), each desk restarted, one killed mid-way."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest

from adapters.console.desk import DeskSender
from adapters.console.feed import DeskFeed
from adapters.console.platform import TERMINAL_DESK
from bot.app import Candor
from bot.config import Config
from bot.model import Outbound
from tests.conftest import Clock, Customer, RecordingSender, handed_over


class Terminal:
    """One agent's `candor desk` on `app`: what its screen shows."""

    def __init__(self, app: Candor, agent: str) -> None:
        self.app, self.agent = app, agent
        self.out = io.StringIO()
        self.sender = DeskSender(self.out, agent=agent)
        self.sender.fed = True
        self.feed = DeskFeed(app.store, self.sender.show, agent)

    async def start(self) -> Terminal:
        await self.feed.start()
        self.app.outbox.register(self.sender, chat_id=TERMINAL_DESK.chat_id)
        return self

    async def type(self, text: str) -> None:
        await self.app.engine.receive(self.sender.typed(text, self.agent))
        await self.app.outbox.deliver_due()

    async def screen(self) -> str:
        """What it shows once it has caught up (the poller's pass, run by hand)."""
        await self.app.outbox.deliver_due()
        await self.feed.pump()
        return self.out.getvalue()


@pytest.fixture
async def other(config: Config, clock: Clock) -> AsyncIterator[Candor]:
    """A second process on the same database."""
    async with Candor(config, clock=clock) as candor:
        yield candor


async def test_two_terminal_desks_each_see_every_message_once(app: Candor, other: Candor) -> None:
    customers = RecordingSender()
    app.outbox.register(customers)
    ann = Customer(app, customers, "ann")
    maria = await Terminal(app, "maria").start()
    sam = await Terminal(other, "sam").start()

    await ann.send("is there a free trial")
    await handed_over(ann)
    await ann.send("and I need it for 40 people")
    for desk in (maria, sam):
        screen = await desk.screen()
        assert screen.count("Case #1 · Ann") == 1, desk.agent
        assert screen.count("Ann: and I need it for 40 people") == 1, desk.agent
    # (the outbox sent each once, through app's desk; the other's saw it as sent)
    assert await app.outbox.pending_count("desk") == 0

    # the desk's answer to one agent's typing is theirs alone
    await sam.type("/cases")
    assert "The queue:" in await sam.screen()
    assert "The queue" not in await maria.screen()

    # Sam claims in his process: both see it once
    await sam.type("/claim 1")
    for desk in (maria, sam):
        assert (await desk.screen()).count("✋ Sam claimed case #1.") == 1, desk.agent


async def test_a_desk_restarted_shows_what_came_meanwhile_and_nothing_twice(
    app: Candor, other: Candor
) -> None:
    customers = RecordingSender()
    app.outbox.register(customers)
    ann = Customer(app, customers, "ann")
    maria = await Terminal(app, "maria").start()
    sam = await Terminal(other, "sam").start()
    await ann.send("is there a free trial")
    await handed_over(ann)
    assert "Case #1 · Ann" in await maria.screen()

    # Maria's desk is down (a new one, later, on the same database); Ann writes
    await ann.send("hello? anyone")
    assert "hello? anyone" in await sam.screen()
    again = await Terminal(app, "maria").start()
    screen = await again.screen()
    assert "Ann: hello? anyone" in screen
    assert "Case #1 · Ann" not in screen  # shown before the restart: not again
    assert await again.screen() == screen  # and nothing more when nothing came


async def test_a_desk_killed_mid_way_loses_nothing(app: Candor) -> None:
    customers = RecordingSender()
    app.outbox.register(customers)
    ann = Customer(app, customers, "ann")
    first = await Terminal(app, "maria").start()
    await ann.send("is there a free trial")
    await handed_over(ann)
    await ann.send("one")
    await ann.send("two")

    out = io.StringIO()
    shown: list[str] = []

    async def dies_on_the_second(message: Outbound) -> None:
        if len(shown) == 1:
            raise KeyboardInterrupt  # killed before the second is on the screen
        shown.append(message.text)
        out.write(message.text)

    killed = DeskFeed(app.store, dies_on_the_second, "maria")
    with pytest.raises(KeyboardInterrupt):
        await killed.pump()
    assert shown[0].startswith("**Case #1**")

    screen = await first.screen()  # Maria's desk started again
    assert "Case #1 · Ann" not in screen  # on the screen before it died
    assert screen.index("Ann: one") < screen.index("Ann: two")
    assert screen.count("Ann: one") == 1 and screen.count("Ann: two") == 1
