"""Who is on duty: the agents a customer can expect to pick up their case now.

An agent is on duty at `now` when the desk's business hours are open at `now` and
the configured agent did something on the desk (an event with their name as its
actor: a claim, a reply, a note, a resolve, a transfer…) within the last
`[desk] on_duty_hours`. A fixed definition: the wait estimates (`bot.waits`) and
the routing of reopened cases both rely on it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.store import Transaction

if TYPE_CHECKING:
    from bot.desk.desk import Desk


async def on_duty(tx: Transaction, desk: Desk, now: datetime) -> frozenset[str]:
    """The names of the configured agents on duty at `now` (see the module)."""
    if not desk.hours.is_open(now):
        return frozenset()
    active = await tx.timeline.agents_active_since(now - desk.on_duty_for)
    return frozenset(agent.name for agent in desk.agents if agent.name in active)
