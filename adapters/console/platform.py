"""The terminal as the core sees it: customers in `candor chat`, agents in `candor desk`.

Customers chat on the channel "console", each at the address of the name they
chat under (`--as NAME`); the terminal desk is where `candor desk` works.
"""

from __future__ import annotations

from bot.model import DESK_CHANNEL, Address
from bot.platforms import AgentKey, DeskSpec, NoSettings, Platform

CHANNEL = "console"
TERMINAL_DESK = Address(DESK_CHANNEL, "terminal")


def terminal_desk(settings: NoSettings) -> Address:
    return TERMINAL_DESK


PLATFORM = Platform(
    name=CHANNEL,
    settings=NoSettings,  # nothing to set: no [console] section
    # commands: "/status", the default
    desk=DeskSpec(terminal_desk, default=True),
    # `console = "maria"`: the name for `candor desk --as`, which `/transfer` takes too
    agent=AgentKey(channel=TERMINAL_DESK.channel, is_name=True),
    order=0,  # the terminal first, as the example config has it
)
