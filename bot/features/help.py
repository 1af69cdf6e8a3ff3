"""`/help`: what the bot is and every public command, from the registry."""

from __future__ import annotations

from bot.registry import Feature, Registry
from bot.turn import Turn

feature = Feature("help")


def command_list(registry: Registry) -> str:
    return "\n".join(f"/{c.name}: {c.help}" for c in registry.public_commands())


@feature.command("help", help="what I can do")
async def show_help(turn: Turn, args: str) -> None:
    settings = turn.settings
    await turn.say(
        f"I'm {settings.name}, a bot. Ask me about {settings.company}'s plans, prices,"
        " trials, discounts, contracts, paying, security reviews or cancelling, in your own"
        f" words. Your case is **#{turn.case.id}**.\n\n{command_list(turn.services.registry)}"
    )
