"""The `[telegram]` section of the config (see config.example.toml for every key)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from bot.config import Section
from bot.config import unread as _unread


class TelegramSettings(Section):
    enabled: bool = False
    token: str = ""  # from @BotFather; use "env:TELEGRAM_BOT_TOKEN"
    api_base_url: str = "https://api.telegram.org/bot"  # the token is appended
    file_base_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout_seconds: int = Field(30, ge=0, le=50)
    webhook_url: str = ""  # the public https URL Telegram posts to
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_path: str = "/telegram"
    webhook_secret: str = ""  # use "env:TELEGRAM_WEBHOOK_SECRET"; 16-256 of A-Z a-z 0-9 _ -
    staff_group_id: int | None = None  # the agents' supergroup (a negative number)
    staff_topics: bool = True  # a forum topic per case (the group must be a forum)
    per_chat_interval_seconds: float = Field(1.0, ge=0)
    overall_per_second: float = Field(30, gt=0)
    group_per_minute: float = Field(20, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> TelegramSettings:
        if not self.enabled:
            return self
        # "env:NAME": not read yet (only `candor run` reads the secrets it needs).
        if not _unread(self.token) and not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", self.token):
            raise ValueError("token: not a bot token (from @BotFather: 123456:ABC-...)")
        if self.mode == "webhook":
            if not self.webhook_url.startswith(("https://", "http://")):
                raise ValueError("webhook_url: needed in webhook mode (https://...)")
            # Telegram takes 1-256 characters; Candor asks for 16 or more. A short
            # secret is guessed, and no log redaction can hunt a value of a few
            # characters without blanking every word that holds them (python-telegram-
            # bot logs the setWebhook call, secret and all, at DEBUG).
            if not _unread(self.webhook_secret) and not re.fullmatch(
                r"[A-Za-z0-9_-]{16,256}", self.webhook_secret
            ):
                raise ValueError(
                    "webhook_secret: needed in webhook mode, 16-256 characters of"
                    " A-Z, a-z, 0-9, _ and - (make one with `openssl rand -hex 16`)"
                )
        return self
