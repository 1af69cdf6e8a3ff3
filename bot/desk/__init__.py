"""The agents' side: cards and threads on every desk, the queue, and what agents
can do with cases (declared as desk commands, run by `bot.desk.turn`)."""

from bot.desk.desk import Desk, minutes

__all__ = ["Desk", "minutes"]
