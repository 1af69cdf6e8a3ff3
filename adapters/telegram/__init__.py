"""Customers on Telegram (private chats); agents in a Telegram staff group."""

import os

# python-telegram-bot 22 switches time periods (RetryAfter.retry_after) to timedelta;
# opt in now, before `telegram` is imported, so the adapter sees one type only.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from adapters.telegram.channel import TelegramChannel, make_bot
from adapters.telegram.convert import Ignored, to_inbound
from adapters.telegram.send import TelegramSender

__all__ = ["Ignored", "TelegramChannel", "TelegramSender", "make_bot", "to_inbound"]
