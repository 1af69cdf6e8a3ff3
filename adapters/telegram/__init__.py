"""Customers on Telegram (private chats); agents in a Telegram staff group.

`platform.py` declares the platform to the core; every `candor` command loads it to
read the config, so this package imports nothing on its own: python-telegram-bot
comes in with `channel`, `convert` and `send`, when they are used.
"""

import os

# python-telegram-bot 22 switches time periods (RetryAfter.retry_after) to timedelta;
# opt in now, before `telegram` is imported, so the adapter sees one type only.
os.environ.setdefault("PTB_TIMEDELTA", "1")
