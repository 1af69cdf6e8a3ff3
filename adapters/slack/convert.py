"""Slack events, button presses and slash commands into the core's `Inbound`.

Only what the event is, never what to do about it: a customer's message in a
shared channel or a direct message, an agent's message in the triage channel, a
button, an edit or deletion, a file, or something ignored on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.slack.platform import CHANNEL
from bot.model import Address, Attachment, Identity, Inbound, InboundKind

ACTION_PREFIX = "candor:"

Payload = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str
    note: str = ""  # what to tell the person, to them alone (the slash command's answer)


STAFF_NOTE = (
    "You're in the home workspace, so here you're staff, not a customer: Candor answers"
    " customers in this channel. Work on cases in the triage channel."
)


@dataclass(frozen=True, slots=True)
class Where:
    """What the adapter knows about the workspace, to tell customers from staff."""

    triage_channel: str = ""
    home_teams: frozenset[str] = field(default_factory=frozenset)
    customer_channels: frozenset[str] = field(default_factory=frozenset)  # empty: any
    bot_user_id: str = ""

    def is_dm(self, channel: str, channel_type: str = "") -> bool:
        return channel_type == "im" or channel.startswith("D")


def typed(text: str) -> str:
    """What the person typed: Slack sends `&`, `<` and `>` typed in a message as
    `&amp;`, `&lt;` and `&gt;` (its own markup, `<@U123>`, stays as it is). Kept as
    typed, so that an agent reads "a < b", and escaped again on the way out."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _map(value: object) -> Payload:
    """A nested object as Slack documents it, or empty when it is something else."""
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _team(event: Payload, body: Payload) -> str:
    return str(event.get("user_team") or event.get("team") or body.get("team_id") or "")


def _files(event: Payload) -> tuple[Attachment, ...]:
    caption = typed(str(event.get("text") or ""))
    found = []
    for item in _items(event.get("files")):
        if not isinstance(item, Mapping) or not item.get("id"):
            continue
        kind = "photo" if str(item.get("mimetype", "")).startswith("image/") else "file"
        found.append(Attachment(kind, str(item["id"]), caption, str(item.get("name") or "")))
    return tuple(found)


def _staff_in_customer_channel(channel: str, team: str, where: Where) -> str:
    """Why a press or command in a channel (not a DM, not triage) is not a customer's,
    or "": the same rule as for messages there (a colleague of the home workspace
    is staff, never a customer; a channel Candor does not serve is not its)."""
    if where.customer_channels and channel not in where.customer_channels:
        return "a channel that is not a customer channel"
    if team in where.home_teams:
        return "a colleague in a customer channel"
    return ""


def message_to_inbound(
    body: Payload, event: Payload, where: Where, name: str = "", team: str = ""
) -> Inbound | Ignored:
    """A `message` event (any subtype) as an Inbound, or why it is ignored. `team` is
    the sender's workspace when the adapter knows it better than the event says
    (edits and deletions do not always carry it)."""
    subtype = str(event.get("subtype") or "")
    channel = str(event.get("channel") or "")
    channel_type = str(event.get("channel_type") or "")
    if subtype == "message_changed":
        message = _map(event.get("message"))
        previous = _map(event.get("previous_message"))
        if message.get("text") == previous.get("text"):
            return Ignored("a change without new text (an unfurl, a reaction)")
        inner = {**message, "channel": channel, "channel_type": channel_type}
        found = message_to_inbound(body, inner, where, name, team)
        if isinstance(found, Ignored):
            return found
        stamp = str(_map(message.get("edited")).get("ts") or event.get("ts") or "")
        return Inbound(
            key=f"{found.key}:edit:{stamp}",
            identity=found.identity,
            address=found.address,
            kind=InboundKind.EDIT,
            text=typed(str(message.get("text") or "")),
            display_name=found.display_name,
            edited_key=found.key,
        )
    if subtype == "message_deleted":
        previous = _map(event.get("previous_message"))
        inner = {**previous, "channel": channel, "channel_type": channel_type}
        found = message_to_inbound(body, inner, where, name, team)
        if isinstance(found, Ignored):
            return found
        return Inbound(
            key=f"{found.key}:deleted",
            identity=found.identity,
            address=found.address,
            kind=InboundKind.EDIT,
            payload="deleted",
            display_name=found.display_name,
            edited_key=found.key,
        )
    if event.get("bot_id") or subtype in ("bot_message", "bot_add", "bot_remove"):
        return Ignored("a bot's message")
    if subtype not in ("", "file_share", "thread_broadcast", "me_message"):
        return Ignored(f"a {subtype} event")
    user = str(event.get("user") or "")
    if not user or user == where.bot_user_id:
        return Ignored("no person sent it")
    ts = str(event.get("ts") or "")
    thread = str(event.get("thread_ts") or "")
    team = team or _team(event, body)
    identity = Identity(CHANNEL, team, user)
    key = f"{channel}:{ts}"
    if channel == where.triage_channel:
        address = Address(CHANNEL, channel, thread)  # an agent, in a case's thread or not
    elif where.is_dm(channel, channel_type):
        address = Address(CHANNEL, channel, private=True)  # only they and the bot read it
    else:
        if where.customer_channels and channel not in where.customer_channels:
            return Ignored("a channel that is not a customer channel")
        if team in where.home_teams:
            return Ignored("a colleague writing in a customer channel")
        # shared (a Connect channel, a private channel, a group DM): the bot answers in
        # a thread that everyone in the channel reads
        address = Address(CHANNEL, channel, thread or ts)
    text = typed(str(event.get("text") or ""))
    if channel != where.triage_channel and re.match(r"![a-z]", text, re.I):
        text = "/" + text[1:]  # Slack keeps "/" for its own commands: !status is /status
    attachments = _files(event)
    if attachments:
        return Inbound(
            key=key,
            identity=identity,
            address=address,
            kind=InboundKind.ATTACHMENT,
            text=text,
            attachments=attachments,
            display_name=name,
        )
    return Inbound(key=key, identity=identity, address=address, text=text, display_name=name)


def action_to_inbound(body: Payload, where: Where, name: str = "") -> Inbound | Ignored:
    """A press on one of the bot's Block Kit buttons."""
    actions = _items(body.get("actions"))
    if not actions or not isinstance(actions[0], Mapping):
        return Ignored("an interaction without an action")
    action = actions[0]
    user = _map(body.get("user"))
    channel = str(_map(body.get("channel")).get("id") or "")
    container = _map(body.get("container"))
    message = _map(body.get("message"))
    if not channel or not user.get("id"):
        return Ignored("a button outside a conversation")
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    thread = str(container.get("thread_ts") or message.get("thread_ts") or "")
    team = str(user.get("team_id") or _map(body.get("team")).get("id") or "")
    if where.is_dm(channel):
        address = Address(CHANNEL, channel, private=True)
    elif channel == where.triage_channel:
        address = Address(CHANNEL, channel, thread or message_ts)  # a card is its thread
    else:
        staff = _staff_in_customer_channel(channel, team, where)
        if staff:
            return Ignored(staff)
        # a message only they saw (ephemeral) is none to answer under: its thread, if any
        under = "" if container.get("is_ephemeral") else message_ts
        address = Address(CHANNEL, channel, thread or under)
    return Inbound(
        key=f"act:{channel}:{message_ts}:{action.get('action_ts') or ''}:{user['id']}",
        identity=Identity(CHANNEL, team, str(user["id"])),
        address=address,
        kind=InboundKind.BUTTON,
        payload=str(action.get("value") or ""),
        display_name=name,
    )


def command_to_inbound(
    body: Payload, where: Where, name: str = "", team: str = ""
) -> Inbound | Ignored:
    """`/candor status` (or `/candor`) as the text command `/status`. `team`: the
    person's workspace when the adapter knows it (the command says where it was typed)."""
    user = str(body.get("user_id") or "")
    channel = str(body.get("channel_id") or "")
    if not user or not channel:
        return Ignored("a command without a user or channel")
    words = str(body.get("text") or "").split()
    text = "/" + (words[0].lstrip("/") if words else "status") + "".join(f" {w}" for w in words[1:])
    team = team or str(body.get("team_id") or "")
    if where.is_dm(channel):
        address = Address(CHANNEL, channel, "", private=True)
    else:
        staff = (
            ""
            if channel == where.triage_channel
            else _staff_in_customer_channel(channel, team, where)
        )
        if staff:
            return Ignored(staff, STAFF_NOTE)
        address = Address(CHANNEL, channel, "")
    return Inbound(
        key=f"cmd:{body.get('trigger_id') or channel + ':' + user + ':' + text}",
        identity=Identity(CHANNEL, team, user),
        address=address,
        text=text,
        display_name=name,
    )
