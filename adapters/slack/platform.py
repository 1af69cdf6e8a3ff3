"""Slack as the core sees it: customers in shared channels and DMs, agents in a
triage channel.

Loaded by every `candor` command to read the config, so it imports no Slack
library: `candor run` builds the channel, and imports slack-bolt, only when
`[slack] enabled` is true; `candor doctor` imports slack-sdk only for its checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from adapters.slack.settings import SlackSettings
from bot.model import Address
from bot.platforms import AgentKey, Channel, CommandStyle, DeskSpec, Listen, Platform

if TYPE_CHECKING:
    from bot.app import Candor
    from bot.doctor import Context, Finding

CHANNEL = "slack"


def commands(settings: SlackSettings) -> CommandStyle:
    """Slack keeps "/" for its own commands: customers type `!status`, or the app's
    slash command when there is one (`/candor status`)."""
    if settings.slash_command:
        return CommandStyle(f"{settings.slash_command} ")
    return CommandStyle("!")


def triage_channel(settings: SlackSettings) -> Address | None:
    """The desk: the agents' triage channel, when the settings name one."""
    return Address(CHANNEL, settings.triage_channel) if settings.triage_channel else None


def enabled(settings: SlackSettings) -> bool:
    return settings.enabled


def uses(settings: SlackSettings) -> tuple[str, ...]:
    """HTTP mode checks signatures with the signing secret; Socket Mode connects with the
    app-level token instead."""
    if settings.mode == "socket":
        return ("bot_token", "app_token")
    return ("bot_token", "signing_secret")


def mode(settings: SlackSettings) -> str:
    return "Socket Mode" if settings.mode == "socket" else "HTTP mode"


def listens(settings: SlackSettings) -> Listen | None:
    """HTTP mode's server (Socket Mode connects out, and listens nowhere)."""
    if not settings.enabled or settings.mode != "http":
        return None
    return Listen(f"{CHANNEL}.listen/port", settings.listen, settings.port)


def running(app: Candor, settings: SlackSettings) -> Channel:
    from adapters.slack.channel import SlackChannel

    return SlackChannel(app, settings)


def doctor(settings: SlackSettings, context: Context) -> AsyncIterator[Finding]:
    """`candor doctor`'s Slack checks (adapters/slack/doctor.py imports slack-sdk)."""
    from adapters.slack.doctor import probe

    return probe(settings, context)


PLATFORM = Platform(
    name=CHANNEL,
    settings=SlackSettings,
    commands=commands,
    desk=DeskSpec(triage_channel, needs="triage_channel (the channel id)"),
    agent=AgentKey(),  # `slack = "U0123ABCD"`: their member id, as Slack's events carry it
    secrets=("bot_token", "signing_secret", "app_token"),
    uses=uses,
    mode=mode,
    listens=listens,
    enabled=enabled,
    channel=running,
    doctor=doctor,
    order=20,
)
