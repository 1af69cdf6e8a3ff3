"""The `[slack]` section of the config (see config.example.toml for every key)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bot.config import Section, unread


class SlackSettings(Section):
    enabled: bool = False
    bot_token: str = ""  # xoxb-...; use "env:SLACK_BOT_TOKEN"
    signing_secret: str = ""  # HTTP mode; use "env:SLACK_SIGNING_SECRET"
    app_token: str = ""  # Socket Mode: xapp-...; use "env:SLACK_APP_TOKEN"
    mode: Literal["http", "socket"] = "http"
    api_base_url: str = "https://slack.com/api/"
    listen: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)
    path: str = "/slack/events"
    triage_channel: str = ""  # the agents' channel id (C...)
    home_team_ids: list[str] = Field(default_factory=list)  # your workspace(s); default: the bot's
    customer_channels: list[str] = Field(default_factory=list)  # empty: every channel but triage
    slash_command: str = ""  # e.g. "/candor" if you created one; "" for none
    max_retries: int = Field(2, ge=0, le=10)  # rate-limit and network retries per call
    per_channel_interval_seconds: float = Field(1.0, ge=0)  # between two posts to a channel

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if not self.enabled:
            return self
        # "env:NAME": not read yet (only `candor run` reads the secrets it needs).
        if not unread(self.bot_token) and not self.bot_token.startswith("xoxb-"):
            raise ValueError("bot_token: not a bot token (Slack app: OAuth, xoxb-...)")
        if self.mode == "http" and not self.signing_secret:
            raise ValueError("signing_secret: needed in HTTP mode (Slack app: Basic Information)")
        if (
            self.mode == "socket"
            and not unread(self.app_token)
            and not self.app_token.startswith("xapp-")
        ):
            raise ValueError("app_token: Socket Mode needs an app-level token (xapp-...)")
        if not self.api_base_url.endswith("/"):
            raise ValueError("api_base_url: must end with /")
        if not self.path.startswith("/"):
            raise ValueError("path: must start with /")
        if self.slash_command and not self.slash_command.startswith("/"):
            raise ValueError("slash_command: must start with /")
        return self
