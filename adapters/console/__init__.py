"""The terminal chat: you are the customer, on the same engine and store."""

from adapters.console.chat import ConsoleSender, chat, render
from adapters.console.desk import DeskSender, desk

__all__ = ["ConsoleSender", "DeskSender", "chat", "desk", "render"]
