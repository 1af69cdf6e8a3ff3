"""A case's card in the Telegram staff group following the case (`card_update`).

On every change of where a handed-over case stands, the core sends the card as it
stands now. Here that becomes, with forum topics: the topic opened again if the
case is no longer resolved (before anything else, so that people can write in it),
the card message edited (its text and the buttons that fit now: none on a resolved
card), the topic renamed (`#12 · Ann · resolved · pricing`), and the topic closed
if the case is resolved. Without topics the card message (the case's thread) is
edited. Each step is one call; a try after a failure goes on after the steps
Telegram took (`Progress.pieces` counts them), so nothing is renamed or closed
twice. Telegram's "not modified" answers mean the step holds already: done.

What the sender knows of each topic (its name, closed or not) saves the calls that
would change nothing (each costs the group's budget of 20 a minute); after a restart
it is not known, and the call is made (answered "not modified" if nothing changes).
It is learnt only from Telegram's answer: a call whose answer is lost (a 502 after
Telegram did the work, a timeout) leaves it not known, so a later update (a reopen
after a close that seemed to fail) makes its call rather than trusting a guess.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adapters.markdown import to_telegram_html
from adapters.progress import Progress
from bot.model import Outbound
from bot.outbox import DeliveryError
from bot.text import shorten

log = logging.getLogger(__name__)

T = TypeVar("T")


async def html_or_plain(call: Callable[..., Awaitable[T]], markdown: str, **fields: Any) -> T:
    """`call` (a Bot API method that takes `text`: send, edit) with our Markdown as
    Telegram HTML; if Telegram refuses the HTML, with the Markdown as plain text: a
    message is never lost over markup."""
    try:
        return await call(
            text=to_telegram_html(markdown),
            parse_mode=ParseMode.HTML,
            disable_web_page_preview=True,
            **fields,
        )
    except BadRequest as error:
        if "parse entities" not in error.message:
            raise
        log.error("Telegram refused our HTML (%s); sending it as plain text", error.message)
        return await call(text=markdown, **fields)


KEEP = 10_000  # topics whose state is remembered; the oldest are forgotten beyond it
NAME = 128  # Telegram's limit for a topic's name


@dataclass(slots=True)
class _Topic:
    name: str = ""  # "" while not known
    closed: bool | None = None  # None while not known


def unchanged(error: BadRequest) -> bool:
    """Telegram's answer for a call that would change nothing: the message already
    says that ("message is not modified"), the topic already has that name, or is
    closed (open) already ("TOPIC_NOT_MODIFIED")."""
    return "not modified" in error.message.lower() or "not_modified" in error.message.lower()


class Cards:
    """Card updates for the Telegram sender (`TelegramSender`)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._topics: OrderedDict[tuple[int, int], _Topic] = OrderedDict()

    def opened(self, chat_id: int, topic: int, name: str) -> None:
        """The sender opened this topic, with this name."""
        known = self._topic(chat_id, topic)
        known.name, known.closed = name, False

    def _topic(self, chat_id: int, topic: int) -> _Topic:
        key = (chat_id, topic)
        known = self._topics.pop(key, None) or _Topic()
        self._topics[key] = known
        while len(self._topics) > KEEP:
            self._topics.popitem(last=False)
        return known

    async def update(
        self,
        message: Outbound,
        progress: Progress,
        *,
        topics: bool,
        text: str,
        keyboard: InlineKeyboardMarkup | None,
    ) -> None:
        """The steps of one card update not yet taken; `text` is the card's Markdown
        cut to one message, `topics` whether the case's thread is a forum topic."""
        chat_id, thread = int(message.address.chat_id), message.address.thread_id
        if progress.thread != thread:  # the first try, or one into a new thread
            progress.pieces, progress.thread = 0, thread
        delivery = message.delivery
        steps = ["edit"]
        if topics:
            steps = ["edit", "rename", "close"] if delivery.closed else ["reopen", "edit", "rename"]
        for i, step in enumerate(steps):
            if i < progress.pieces:
                continue  # Telegram took it in an earlier try
            if step == "edit":
                card = delivery.card_message or ("" if topics else thread)
                await self._edit(chat_id, card, text, keyboard, topics=topics)
            elif step == "rename":
                await self._rename(chat_id, int(thread), shorten(delivery.title, NAME))
            else:
                await self._close(chat_id, int(thread), closed=step == "close")
            progress.pieces = i + 1
            if i < len(steps) - 1:
                await progress.keep()  # more to come: a restart goes on from here

    async def _edit(
        self,
        chat_id: int,
        card: str,
        markdown: str,
        keyboard: InlineKeyboardMarkup | None,
        *,
        topics: bool,
    ) -> None:
        if not card.isdigit():  # a card sent before its message was kept
            log.info("chat %s: the card's message is not known; its topic's name says", chat_id)
            return
        try:
            await html_or_plain(
                self.bot.edit_message_text,
                markdown,
                chat_id=chat_id,
                message_id=int(card),
                reply_markup=keyboard,
            )
        except BadRequest as error:
            if unchanged(error):
                return
            lower = error.message.lower()
            if "message to edit not found" not in lower and "can't be edited" not in lower:
                raise
            if topics:  # someone deleted the card: the topic (its name) still follows
                log.warning("chat %s: card message %s is gone (%s)", chat_id, card, error.message)
                return
            # without topics the card is the case's thread: the outbox posts a new card
            raise DeliveryError(
                f"Telegram said: {error.message}", permanent=True, thread_gone=True
            ) from error

    async def _rename(self, chat_id: int, topic: int, name: str) -> None:
        known = self._topic(chat_id, topic)
        if not name or known.name == name:
            return
        known.name = ""  # until Telegram answers: a lost answer leaves it not known
        try:
            await self.bot.edit_forum_topic(chat_id, topic, name=name)
        except BadRequest as error:
            if not unchanged(error):
                raise
        known.name = name

    async def _close(self, chat_id: int, topic: int, *, closed: bool) -> None:
        known = self._topic(chat_id, topic)
        if known.closed is closed:
            return
        known.closed = None  # until Telegram answers: a lost answer leaves it not known
        try:
            if closed:
                await self.bot.close_forum_topic(chat_id, topic)
            else:
                await self.bot.reopen_forum_topic(chat_id, topic)
        except BadRequest as error:
            if not unchanged(error):
                raise
        known.closed = closed
