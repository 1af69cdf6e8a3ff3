"""The terminal as the core sees it: customers in `candor chat`, agents in `candor desk`.

Customers chat on the channel "console", each at the address of the name they
chat under (`--as NAME`, anything at all). The terminal desk has a channel of its
own, "desk": no customer's address can ever be the desk's, and nobody but an agent
writes there. Both strings are stored in databases (identities, the outbox, desk
threads), so they stay as they are.
"""

from __future__ import annotations

from bot.model import Address
from bot.platforms import AgentKey, DeskSpec, NoSettings, Platform

CHANNEL = "console"
TERMINAL_DESK = Address("desk", "terminal")


def terminal_desk(settings: NoSettings) -> Address:
    return TERMINAL_DESK


PLATFORM = Platform(
    name=CHANNEL,
    settings=NoSettings,  # nothing to set: no [console] section
    # commands: "/status", the default
    desk=DeskSpec(terminal_desk, own_channel=TERMINAL_DESK.channel, default=True),
    # `console = "maria"`: the name for `candor desk --as`, which `/transfer` takes too
    agent=AgentKey(channel=TERMINAL_DESK.channel, is_name=True),
    order=0,  # the terminal first, as the example config has it
)
