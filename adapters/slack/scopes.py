"""The bot token scopes Candor needs, and why each: the one list the README's "Create
the Slack app" step, `candor doctor` and the fake Slack of the tests all read.

Derived from what the adapter does: the Web API methods it calls (adapters/slack/
channel.py, send.py and doctor.py) and the events it is subscribed to (the README:
`message.channels`, `message.groups`, `message.im`). `auth.test` and
`apps.connections.open` need none. Not here on purpose: `files:read` (Candor keeps
the ids and names that message events carry for shared files; it downloads none),
`reactions:write` and `channels:join` (it calls neither).

Imports nothing: the platform's declaration and the tests' fake read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    why: str  # the methods or events that need it, and what Candor does with them
    slash_command_only: bool = False  # needed only when `slash_command` is set
    # Set for a scope Candor works without: what is lost then (`candor doctor` warns).
    without: str = ""

    @property
    def optional(self) -> bool:
        return bool(self.without)


SCOPES: tuple[Scope, ...] = (
    Scope(
        "chat:write",
        "chat.postMessage, chat.update, chat.postEphemeral: answers, case cards and their"
        " updates, notices only one person sees",
    ),
    Scope(
        "channels:history",
        "the message.channels event: customers in public and shared channels, agents in"
        " a public triage channel",
    ),
    Scope(
        "groups:history",
        "the message.groups event: customers and agents in private channels",
    ),
    Scope("im:history", "the message.im event: direct messages to the bot"),
    Scope(
        "im:write",
        "conversations.open: a /mydata file asked for in a shared channel goes to the"
        " customer's direct messages",
    ),
    Scope(
        "files:write",
        "files.getUploadURLExternal, files.completeUploadExternal: the /mydata file",
    ),
    Scope("users:read", "users.info: people's names and workspaces, for cards and the desk"),
    Scope(
        "team:read",
        "team.info: a Slack Connect customer's organisation, on the card",
        without="cards say “organisation unknown” for customers from other workspaces",
    ),
    Scope(
        "channels:read",
        "conversations.info: `candor doctor` sees whether the bot is in a public triage channel",
        without="`candor doctor` cannot check a public triage channel (`candor run` never"
        " calls conversations.info)",
    ),
    Scope(
        "groups:read",
        "conversations.info: `candor doctor` sees whether the bot is in a private triage channel",
        without="`candor doctor` cannot check a private triage channel (`candor run` never"
        " calls conversations.info)",
    ),
    Scope("commands", "the slash command (`slash_command`)", slash_command_only=True),
)


def needed(slash_command: str) -> tuple[Scope, ...]:
    """The scopes a config asks for: all, but `commands` only with a slash command (the
    optional ones among them: Candor works without, and loses what they say)."""
    return tuple(s for s in SCOPES if bool(slash_command) or not s.slash_command_only)


def missing(granted: Iterable[str], slash_command: str) -> tuple[Scope, ...]:
    """The needed scopes not among `granted` (Slack's `x-oauth-scopes`, split)."""
    have = {name.strip() for name in granted}
    return tuple(s for s in needed(slash_command) if s.name not in have)
