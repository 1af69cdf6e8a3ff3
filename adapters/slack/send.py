"""The core's `Outbound` into Slack Web API calls.

slack-sdk's retry handlers retry a call on 429 (after `Retry-After`) and on
connection errors a few times; what still fails goes back to the outbox as a
DeliveryError, which keeps the message and its thread's order and tries again
later. Nothing is dropped here: an error either retries or is reported to the
agent as "not delivered". A message that takes several calls (a very long text,
then a file) goes on, when tried again, where the failed try stopped (see
`adapters.progress`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.markdown import slack_escape, split, to_slack_mrkdwn, to_slack_plain
from adapters.progress import Progress, Resumable
from adapters.slack.convert import ACTION_PREFIX
from adapters.slack.platform import CHANNEL
from bot.model import Button, Outbound, Purpose
from bot.outbox import DeliveryError
from bot.text import shorten

log = logging.getLogger(__name__)

SENT_TO_DM = "I've sent that to you in a direct message, where only you can see it."
SECTION = 2900  # Slack allows 3,000 characters in a section block's text
SECTION_MAX = 3000
FALLBACK = 300  # characters of the `text` field beside blocks (notifications, previews)
LABEL = 75  # characters of a button's label
TITLE = 250  # characters of a file's title
BLOCKS_PER_MESSAGE = 45  # of Slack's 50
PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "account_inactive",
    "user_not_found",
    "user_not_in_channel",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "restricted_action",
    "cant_update_message",
    "message_not_found",
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "missing_scope",
}

THREAD_GONE = {"thread_not_found", "message_not_found"}


def _slack_text(text: str, limit: int) -> str:
    """Plain text for any Slack field (the fallback, a label, a title): one line of
    at most `limit` characters as sent, with Slack's &, < and > escaped, so that
    nobody's words or name can ping (<!channel>, <@U…>) or link (<https://…|…>)."""
    while True:
        escaped = slack_escape(shorten(text, limit))
        if len(escaped) <= limit or limit <= 1:
            return escaped[: max(limit, 1)]
        limit -= max(1, (len(escaped) - limit) // 4)  # entities are 4-5 characters


def fallback_for(markdown: str) -> str:
    """The `text` sent beside the blocks: what notifications and previews show."""
    return _slack_text(to_slack_plain(markdown[: FALLBACK * 8]), FALLBACK) or " "


def _mrkdwn_pieces(markdown: str, limit: int = SECTION) -> list[str]:
    """The Markdown rendered in pieces of at most SECTION_MAX characters as sent:
    escaping lengthens text (& is 5 characters in mrkdwn), so a piece too long
    once rendered is cut again, smaller."""
    pieces = []
    for piece in split(markdown, limit):
        rendered = to_slack_mrkdwn(piece)
        if len(rendered) <= SECTION_MAX or limit <= 64:
            pieces.append(rendered[:SECTION_MAX])
        else:
            pieces += _mrkdwn_pieces(piece, max(64, limit // 2))
    return pieces


def blocks_for(markdown: str, buttons: tuple[Button, ...]) -> list[list[dict[str, Any]]]:
    """Block Kit for one core message: section blocks (split under Slack's limits),
    then the buttons; more than one Slack message if it is very long."""
    sections: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": rendered}}
        for rendered in _mrkdwn_pieces(markdown)
    ] or [{"type": "section", "text": {"type": "mrkdwn", "text": " "}}]
    messages = [
        sections[i : i + BLOCKS_PER_MESSAGE] for i in range(0, len(sections), BLOCKS_PER_MESSAGE)
    ]
    if buttons:
        elements: list[dict[str, Any]] = [
            {
                "type": "button",
                "action_id": f"{ACTION_PREFIX}{n}",
                "text": {"type": "plain_text", "text": _slack_text(b.label, LABEL), "emoji": True},
                "value": b.payload[:2000],
            }
            for n, b in enumerate(buttons[:25])
        ]
        messages[-1] = [*messages[-1], {"type": "actions", "elements": elements}]
    return messages


class SlackSender:
    channel = CHANNEL
    shows_to_one = True  # `Delivery.private_to`: ephemeral, or a file in their DM

    def __init__(self, client: AsyncWebClient, *, per_channel_interval: float = 1.0) -> None:
        self.client = client
        # Slack allows chat.postMessage about once a second per channel (short bursts
        # aside); several processes on one database keep to it too, since one of them
        # at a time sends to a channel (`bot.sharing`)
        self.per_channel_interval = per_channel_interval
        self._last: dict[str, float] = {}
        self._turns: dict[str, asyncio.Lock] = {}
        self._resumable = Resumable()

    def spacing(self, chat_id: str) -> float:
        """The least seconds between two posts to a channel: one another process of
        the deployment posted to last waits that long after its last (`bot.sharing`)."""
        return self.per_channel_interval

    @contextlib.asynccontextmanager
    async def _paced(self, channel: str) -> AsyncIterator[None]:
        """One post to `channel` at a time (its threads and cards are lanes of their
        own), each once the last is `per_channel_interval` old, counted from when Slack
        answered it (a failed post may have arrived too)."""
        turn = self._turns.setdefault(channel, asyncio.Lock())
        async with turn:
            wait = self._last.get(channel, 0.0) + self.per_channel_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._last[channel] = time.monotonic()
        if len(self._last) > 10_000:
            cutoff = time.monotonic() - 60
            self._last = {k: v for k, v in self._last.items() if v > cutoff}
            self._turns = {k: v for k, v in self._turns.items() if k in self._last or v.locked()}

    async def send(self, message: Outbound) -> str:
        with self._resumable.progress(message) as progress:
            return await self._deliver(message, progress)

    async def _deliver(self, message: Outbound, progress: Progress) -> str:
        """`_send`, its failures told to the outbox as `DeliveryError`."""
        try:
            return await self._send(message, progress)
        except SlackApiError as error:
            code = str(error.response.get("error", "")) if error.response is not None else ""
            status = error.response.status_code if error.response is not None else 0
            if status == 429 or code == "ratelimited":
                wait = error.response.headers.get("Retry-After", "1") if error.response else "1"
                raise DeliveryError(f"Slack: {code}", retry_after=float(wait)) from error
            # the message a desk thread hangs from was deleted: the outbox opens a new one
            gone = code in THREAD_GONE and bool(message.address.thread_id)
            raise DeliveryError(
                f"Slack said: {code}", permanent=code in PERMANENT, thread_gone=gone
            ) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(f"network: {error!r}") from error

    async def _send(self, message: Outbound, progress: Progress) -> str:
        """Send what Slack does not have yet of `message`; `progress` is what it took
        in earlier tries, and grows with every call it answers."""
        channel = message.address.chat_id
        thread = message.address.thread_id or None
        delivery = message.delivery
        pieces = blocks_for(message.text, message.buttons)
        fallback = fallback_for(message.text)  # notifications and old clients
        if delivery.card_update:
            if not thread:
                return ""  # no card to update on this desk yet
            await self.client.chat_update(
                channel=channel, ts=thread, text=fallback, blocks=pieces[0]
            )
            return ""
        if delivery.private_to and delivery.file is None:
            # a customer's words or data, asked for in a shared channel: only they see it
            for blocks in pieces:
                await self.client.chat_postEphemeral(
                    channel=channel,
                    user=delivery.private_to,
                    text=fallback,
                    blocks=blocks,
                    thread_ts=thread,
                )
            return ""
        asked_in = channel, thread
        if delivery.private_to:
            # a file cannot be ephemeral: it goes to their direct messages instead
            opened = await self.client.conversations_open(users=delivery.private_to)
            channel, thread = str((opened.get("channel") or {}).get("id") or ""), None
            if not channel:
                raise DeliveryError("Slack opened no direct message", permanent=True)
        if delivery.only_to:
            # what the desk says to one agent (help, "only agents can act") only they see
            await self.client.chat_postEphemeral(
                channel=channel,
                user=delivery.only_to,
                text=fallback,
                blocks=pieces[0],
                thread_ts=thread,
            )
            return ""
        # a case handed over again goes on in its thread: shown in the channel too,
        # as a new card would be
        again = bool(thread) and delivery.purpose is Purpose.CARD
        for i, blocks in enumerate(pieces):
            if i < progress.pieces:
                continue  # Slack took it in an earlier try
            async with self._paced(channel):
                sent = await self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread,
                    text=fallback,
                    blocks=blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                    reply_broadcast=True if again and i == 0 else None,  # None: not sent
                )
            progress.pieces = i + 1
            progress.first_id = progress.first_id or str(sent.get("ts") or "")
            if i < len(pieces) - 1 or delivery.file is not None:
                await progress.keep()  # more to come: a restart goes on from here
        file = delivery.file
        if file is not None:
            await self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread,
                filename=file.name,
                content=file.text,
                title=_slack_text(file.name, TITLE),
            )
        if delivery.private_to:
            await self._tell_where(asked_in, delivery.private_to)
        return progress.first_id

    async def _tell_where(self, asked_in: tuple[str, str | None], user: str) -> None:
        """Where they asked, to them alone: it went to their direct messages. A
        courtesy: its failure does not send the rest again."""
        channel, thread = asked_in
        try:
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=SENT_TO_DM, thread_ts=thread
            )
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as error:
            log.info("slack: no note in %s that a file went to a DM (%r)", channel, error)
