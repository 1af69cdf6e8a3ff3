"""The core's `Outbound` into Telegram calls, paced within Telegram's limits.

python-telegram-bot's AIORateLimiter keeps the bot within the overall (30 a
second) and per-group (20 a minute) limits; on top, messages to one private chat
are spaced by `per_chat_interval` (Telegram allows about one a second). In a group
(the staff group, shared by every case) messages go one at a time, the cases
taking turns and new cards first (`adapters.turns`), and the rate limiter paces
them: one busy customer cannot hold up everybody else's case. A message into a
forum topic someone deleted fails as `DeliveryError(thread_gone=True)`, and the
outbox opens the case a new topic. A 429's
`retry_after` goes back to the outbox, which keeps the message and its chat's
order and tries again after that wait. A message that takes several calls (pieces,
a card's forum topic, a file) goes on, when tried again, where the failed try
stopped (see `adapters.progress`). A card update edits the card, and renames,
closes or opens its topic (`adapters.telegram.cards`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import time
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ReplyParameters
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from adapters.markdown import split, to_telegram_html
from adapters.progress import Progress, Resumable
from adapters.telegram.cards import Cards, html_or_plain
from adapters.telegram.platform import CHANNEL
from adapters.turns import Turns
from bot.model import Button, Outbound
from bot.outbox import DeliveryError, Sent, thread_opened
from bot.text import shorten

log = logging.getLogger(__name__)

# Markdown is cut below Telegram's 4,096 characters, leaving room for the markup.
PIECE = MessageLimit.MAX_TEXT_LENGTH - 596


_TAG = re.compile(r"<[^>]*>")


def _shown_length(rendered: str) -> int:
    """How long Telegram counts our HTML once parsed: its text without tags, entities
    decoded, in UTF-16 code units (what MAX_TEXT_LENGTH counts)."""
    text = html.unescape(_TAG.sub("", rendered))
    return len(text.encode("utf-16-le")) // 2


def pieces_of(markdown: str, limit: int = PIECE) -> list[str]:
    """The Markdown in pieces that Telegram takes: each at most `limit` characters, and
    cut again, smaller, while its rendering is longer than a message may be (an
    aligned table's padding, or characters outside the BMP, lengthen it)."""
    found = []
    for piece in split(markdown, limit):
        if _shown_length(to_telegram_html(piece)) <= MessageLimit.MAX_TEXT_LENGTH or limit <= 64:
            found.append(piece)
        else:
            found += pieces_of(piece, max(64, limit // 2))
    return found


def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    usable = []
    for button in buttons:
        if len(button.payload.encode()) > 64:  # Telegram's limit for callback data
            log.warning("button %r dropped: its payload is over 64 bytes", button.label)
            continue
        usable.append(InlineKeyboardButton(button.label[:64], callback_data=button.payload))
    if not usable:
        return None
    short = all(len(b.text) <= 3 for b in usable)  # rating digits sit in one row
    rows = [usable] if short else [[b] for b in usable]
    return InlineKeyboardMarkup(rows)


def _thread_gone(error: BadRequest) -> bool:
    """Telegram's answer for a forum topic that was deleted ("Bad Request: message
    thread not found")."""
    text = error.message.lower()
    return any(gone in text for gone in ("thread not found", "topic_deleted", "topic_id_invalid"))


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    channel = CHANNEL
    shows_to_one = True  # `Delivery.private_to`: in their private chat with the bot

    def __init__(
        self,
        bot: Bot,
        *,
        staff_group_id: int | None = None,
        staff_topics: bool = True,
        per_chat_interval: float = 1.0,
        group_interval: float = 3.0,
        overall_per_second: float | None = None,
    ) -> None:
        self.bot = bot
        # the bot's overall limit, for the whole deployment: several processes on one
        # database each pace their sends at their share of it (`bot.sharing`)
        self.overall_per_second = overall_per_second
        self.staff_group_id = staff_group_id
        self.staff_topics = staff_topics
        self.per_chat_interval = per_chat_interval
        self.group_interval = group_interval  # the rate limiter's, per group
        self._last: dict[int, float] = {}
        self._resumable = Resumable()
        self._turns: dict[int, Turns] = {}  # a group's turns, by chat id
        self._cards = Cards(bot)

    def spacing(self, chat_id: str) -> float:
        """The least seconds between two messages to the chat: a chat another process
        of the deployment sent to last waits that long after its last (`bot.sharing`)."""
        return self.group_interval if chat_id.startswith("-") else self.per_chat_interval

    async def _pace(self, chat_id: int) -> None:
        """Wait until this private chat's last message is `per_chat_interval` old."""
        if chat_id < 0:  # groups: the rate limiter's per-group limit applies
            return
        wait = self._last.get(chat_id, 0.0) + self.per_chat_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _sent_to(self, chat_id: int) -> None:
        """Count the interval from when Telegram took the message, not from before it
        waited in the overall rate limiter (that made the next one come too soon)."""
        if chat_id < 0:
            return
        self._last[chat_id] = time.monotonic()
        if len(self._last) > 10_000:
            cutoff = time.monotonic() - 60
            self._last = {k: v for k, v in self._last.items() if v > cutoff}

    async def send(self, message: Outbound) -> str | Sent:
        if message.delivery.card_update and not message.address.thread_id:
            return ""  # no card of the case on this desk
        with self._resumable.progress(message) as progress:
            return await self._deliver(message, progress)

    async def _deliver(self, message: Outbound, progress: Progress) -> str | Sent:
        """`_send`, its failures told to the outbox as `DeliveryError`."""
        try:
            async with self._turn(message) as turns:
                try:
                    return await self._send(message, progress)
                except RetryAfter as error:  # the group's budget is spent: all of it waits
                    if turns is not None:
                        turns.hold_off(_seconds(error.retry_after))
                    raise
        except RetryAfter as error:
            raise DeliveryError(str(error), retry_after=_seconds(error.retry_after)) from error
        except Forbidden as error:
            raise DeliveryError(f"Telegram refused: {error.message}", permanent=True) from error
        except BadRequest as error:
            gone = _thread_gone(error) and bool(message.address.thread_id)
            raise DeliveryError(
                f"Telegram said: {error.message}", permanent=True, thread_gone=gone
            ) from error
        except NetworkError as error:  # includes TimedOut
            raise DeliveryError(f"network: {error}") from error
        except TelegramError as error:
            raise DeliveryError(f"Telegram error: {error}") from error

    def _turn(self, message: Outbound) -> contextlib.AbstractAsyncContextManager[Turns | None]:
        """The message's turn at its group (see `adapters.turns`); private chats are
        paced by `_pace`, and the outbox sends to each one in order."""
        chat_id = int(message.address.chat_id)
        if chat_id >= 0:
            return contextlib.nullcontext()
        turns = self._turns.setdefault(chat_id, Turns())
        lane = message.case_id if message.case_id is not None else message.address.thread_id
        return turns.turn(lane, first=message.delivery.card)

    async def _send(self, message: Outbound, progress: Progress) -> str | Sent:
        """Send what Telegram does not have yet of `message`; `progress` is what it
        took in earlier tries, and grows with every call it answers."""
        chat_id = int(message.address.chat_id)
        thread = message.address.thread_id
        if message.delivery.card_update:
            pieces = pieces_of(message.text)  # the card is one message: cut, not split
            await self._cards.update(
                message,
                progress,
                topics=self.staff_topics and chat_id == self.staff_group_id,
                text=pieces[0] + ("\n\n…" if len(pieces) > 1 else ""),
                keyboard=_keyboard(message.buttons),
            )
            return ""
        if message.delivery.private_to and not message.address.private:
            # for one person's eyes, asked in a group: their private chat (its id is
            # theirs) is the only place Telegram shows it to them alone
            chat_id, thread = int(message.delivery.private_to), ""
        topic: int | None = None
        reply_to: int | None = None
        is_staff = self.staff_group_id is not None and chat_id == self.staff_group_id
        if is_staff and message.delivery.card and self.staff_topics and not thread:
            if not progress.thread:
                progress.thread = str(await self._open_topic(chat_id, message))
                await progress.keep()  # a try after a restart uses this topic
                await thread_opened(progress.thread)  # agents may write in it at once
            topic = int(progress.thread)
        elif is_staff and thread:
            if self.staff_topics:
                topic = int(thread)
            else:
                reply_to = int(thread)
        pieces = pieces_of(message.text)
        for i, piece in enumerate(pieces):
            if i < progress.pieces:
                continue  # Telegram took it in an earlier try
            last = i == len(pieces) - 1
            await self._pace(chat_id)
            try:
                sent_id = await self._message(
                    chat_id,
                    piece,
                    topic=topic,
                    reply_to=reply_to,
                    keyboard=_keyboard(message.buttons) if last else None,
                )
            finally:
                self._sent_to(chat_id)  # a refused message counts too: Telegram saw it
            progress.pieces, progress.last_id = i + 1, str(sent_id)
            if not last or message.delivery.file is not None:
                await progress.keep()  # more to come: a restart goes on from here
        file = message.delivery.file
        if file is not None:
            await self.bot.send_document(
                chat_id,
                InputFile(file.text.encode("utf-8"), filename=file.name),
                message_thread_id=topic,
            )
        if topic is not None and message.delivery.card and not thread:
            return Sent(str(topic), progress.last_id)  # its updates edit the card message
        if topic is not None:
            return str(topic)
        return progress.last_id or "0"

    async def _message(
        self,
        chat_id: int,
        markdown: str,
        *,
        topic: int | None,
        reply_to: int | None,
        keyboard: InlineKeyboardMarkup | None,
    ) -> int:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        sent = await html_or_plain(
            self.bot.send_message,
            markdown,
            chat_id=chat_id,
            message_thread_id=topic,
            reply_parameters=reply,
            reply_markup=keyboard,
        )
        return sent.message_id

    async def _open_topic(self, chat_id: int, message: Outbound) -> int:
        """A forum topic per case, named after it: "#12 · Ann · waiting · pricing"."""
        name = shorten(message.delivery.title or f"#{message.case_id}", 128)
        topic = await self.bot.create_forum_topic(chat_id, name)
        self._cards.opened(chat_id, topic.message_thread_id, name)
        return topic.message_thread_id
