"""Telegram as the core sees it: customers in private chats, agents in a staff group.

Loaded by every `candor` command to read the config, so it imports no Telegram
library: `candor run` builds the channel, and imports python-telegram-bot, only
when `[telegram] enabled` is true.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from adapters.telegram.settings import TelegramSettings
from bot.model import Address
from bot.platforms import AgentKey, Channel, DeskSpec, Listen, Platform

if TYPE_CHECKING:
    from bot.app import Candor
    from bot.doctor import Context, Finding

CHANNEL = "telegram"


def staff_group(settings: TelegramSettings) -> Address | None:
    """The desk: the agents' staff group, when the settings name one."""
    if settings.staff_group_id is None:
        return None
    return Address(CHANNEL, str(settings.staff_group_id))


def enabled(settings: TelegramSettings) -> bool:
    return settings.enabled


def uses(settings: TelegramSettings) -> tuple[str, ...]:
    """Polling needs only the token; webhook mode also the webhook's secret."""
    return ("token", "webhook_secret") if settings.mode == "webhook" else ("token",)


def mode(settings: TelegramSettings) -> str:
    return f"{settings.mode} mode"


def listens(settings: TelegramSettings) -> Listen | None:
    """Webhook mode's server (polling listens nowhere)."""
    if not settings.enabled or settings.mode != "webhook":
        return None
    where = f"{CHANNEL}.webhook_listen/webhook_port"
    return Listen(where, settings.webhook_listen, settings.webhook_port)


def running(app: Candor, settings: TelegramSettings) -> Channel:
    from adapters.telegram.channel import TelegramChannel

    return TelegramChannel(app, settings)


def doctor(settings: TelegramSettings, context: Context) -> AsyncIterator[Finding]:
    from adapters.telegram.doctor import probe

    return probe(settings, context)


PLATFORM = Platform(
    name=CHANNEL,
    settings=TelegramSettings,
    # commands: "/status", the default
    desk=DeskSpec(staff_group, needs="staff_group_id (the staff group)"),
    agent=AgentKey(type=int, user_id=str),  # `telegram = 123456789`: their numeric user id
    secrets=("token", "webhook_secret"),
    uses=uses,
    mode=mode,
    listens=listens,
    enabled=enabled,
    channel=running,
    doctor=doctor,
    order=10,
)
