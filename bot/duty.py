"""Who is on duty now: the agents a case can go to at once.

PLACEHOLDER (session 10): every configured agent while business hours are open,
nobody when they are closed. The definition the team agreed on (business hours
open AND the agent acted on the desk in the last four hours) replaces this body;
the signature stays.
"""

from __future__ import annotations

from datetime import datetime

from bot.desk.desk import Desk
from bot.store import Transaction


async def on_duty(tx: Transaction, desk: Desk, now: datetime) -> frozenset[str]:
    """The names (`AgentSettings.name`) of the agents on duty at `now`."""
    if not desk.hours.is_open(now):
        return frozenset()
    return frozenset(agent.name for agent in desk.agents)
