"""Customers on Telegram (private chats); agents in a Telegram staff group."""

from adapters.telegram.channel import TelegramChannel, make_bot
from adapters.telegram.convert import Ignored, to_inbound
from adapters.telegram.send import TelegramSender

__all__ = ["Ignored", "TelegramChannel", "TelegramSender", "make_bot", "to_inbound"]
