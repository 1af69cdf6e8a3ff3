"""`/help`: what the bot is and every public command, from the registry."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.registry import Feature, Registry
from bot.turn import Turn

feature = Feature("help")


def command_list(registry: Registry) -> str:
    return "\n".join(f"/{c.name}: {_(c.help)}" for c in registry.public_commands())


@feature.command("help", help=N_("what I can do"))
async def show_help(turn: Turn, args: str) -> None:
    settings = turn.settings
    await turn.say(
        _(
            "I'm {bot}, a bot. Ask me about {company}'s plans, prices, trials, discounts,"
            " contracts, paying, security reviews or cancelling, in your own words. Your"
            " case is **#{case}**."
        ).format(bot=settings.name, company=settings.company, case=turn.case.id)
        + f"\n\n{command_list(turn.services.registry)}"
    )
