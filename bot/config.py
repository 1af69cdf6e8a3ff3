"""Loading and validating the TOML configuration.

A bad config is refused at start with a message that names the key and what is
wrong. Secrets are never written in the file: a value "env:NAME" reads the
environment variable NAME. Relative paths are relative to the config file.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot import redact
from bot.hours import DAYS, BusinessHours, parse_ranges


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {value!r} (use a name like 'Europe/Berlin')"
        ) from error
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(_Section):
    name: str = Field("Candor", min_length=1, max_length=40)
    company: str = Field("Northwind Cloud", min_length=1, max_length=80)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown time zone {value!r} (use a name like 'Europe/Berlin')"
            ) from error
        return value


class StorageSettings(_Section):
    path: Path = Path("data/candor.sqlite3")
    # How long to wait for another process holding the database (a backup, `candor
    # desk`) before giving up on a message; it is then not acknowledged, and retried.
    busy_timeout_seconds: float = Field(10, gt=0, le=600)


class KnowledgeSettings(_Section):
    directory: Path = Path("knowledge")
    reload_seconds: float = Field(2.0, ge=0)
    # None means the measured default of the matcher (see benchmarks/RESULTS.md).
    answer_score: float | None = Field(None, ge=0, le=1)
    answer_margin: float | None = Field(None, ge=0, le=1)
    clarify_score: float | None = Field(None, ge=0, le=1)
    clarify_spread: float | None = Field(None, ge=0, le=1)
    max_options: int = Field(3, ge=2, le=5)

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeSettings:
        from bot.knowledge import Thresholds

        Thresholds(**self.thresholds())  # raises ValueError with the reason
        return self

    def thresholds(self) -> dict[str, Any]:
        chosen = {
            "answer_score": self.answer_score,
            "answer_margin": self.answer_margin,
            "clarify_score": self.clarify_score,
            "clarify_spread": self.clarify_spread,
            "max_options": self.max_options,
        }
        return {key: value for key, value in chosen.items() if value is not None}


class CaseSettings(_Section):
    reopen_window_hours: float = Field(72, ge=0)


class AgentSettings(_Section):
    """A person who may act on the desk, and who they are on each desk channel."""

    name: str = Field(min_length=1, max_length=40)  # what customers see: "Maria from support"
    console: str | None = Field(None, min_length=1)  # name for `candor desk --as`
    telegram: int | None = None  # Telegram user id
    slack: str | None = Field(None, min_length=1)  # Slack user id


DeskChannel = Literal["console", "telegram", "slack"]


class DeskSettings(_Section):
    channels: list[DeskChannel] = ["console"]  # pydantic copies mutable defaults
    agents: list[AgentSettings] = Field(default_factory=list)
    waiting_alert_minutes: float = Field(15, gt=0)
    # Questions in a row the bot could not answer before it offers a person itself.
    unknown_limit: int = Field(2, ge=1)
    # Minutes after a rating in which the customer's next message is its comment.
    rating_comment_minutes: float = Field(30, ge=0)

    @field_validator("agents")
    @classmethod
    def _unique_agents(cls, agents: list[AgentSettings]) -> list[AgentSettings]:
        names = [agent.name.casefold() for agent in agents]
        if len(names) != len(set(names)):
            raise ValueError("two agents have the same name")
        return agents


class HoursSettings(_Section):
    """When people are at the desk: per weekday "09:00-17:00" (several ranges
    separated by commas), "" for closed."""

    timezone: str = "UTC"
    mon: str = "09:00-17:00"
    tue: str = "09:00-17:00"
    wed: str = "09:00-17:00"
    thu: str = "09:00-17:00"
    fri: str = "09:00-17:00"
    sat: str = ""
    sun: str = ""

    _zone = field_validator("timezone")(lambda cls, v: _check_zone(v))

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _ranges(cls, value: str) -> str:
        parse_ranges(value)
        return value

    def business_hours(self) -> BusinessHours:
        return BusinessHours(self.timezone, {day: parse_ranges(getattr(self, day)) for day in DAYS})


class TelegramSettings(_Section):
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
    webhook_secret: str = ""  # use "env:TELEGRAM_WEBHOOK_SECRET"; 1-256 of A-Z a-z 0-9 _ -
    staff_group_id: int | None = None  # the agents' supergroup (a negative number)
    staff_topics: bool = True  # a forum topic per case (the group must be a forum)
    per_chat_interval_seconds: float = Field(1.0, ge=0)
    overall_per_second: float = Field(30, gt=0)
    group_per_minute: float = Field(20, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> TelegramSettings:
        if not self.enabled:
            return self
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", self.token):
            raise ValueError("token: not a bot token (from @BotFather: 123456:ABC-...)")
        if self.mode == "webhook":
            if not self.webhook_url.startswith(("https://", "http://")):
                raise ValueError("webhook_url: needed in webhook mode (https://...)")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook_secret):
                raise ValueError(
                    "webhook_secret: needed in webhook mode, 1-256 characters of"
                    " A-Z, a-z, 0-9, _ and -"
                )
        return self


class SlackSettings(_Section):
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

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if not self.enabled:
            return self
        if not self.bot_token.startswith("xoxb-"):
            raise ValueError("bot_token: not a bot token (Slack app: OAuth, xoxb-...)")
        if self.mode == "http" and not self.signing_secret:
            raise ValueError("signing_secret: needed in HTTP mode (Slack app: Basic Information)")
        if self.mode == "socket" and not self.app_token.startswith("xapp-"):
            raise ValueError("app_token: Socket Mode needs an app-level token (xapp-...)")
        if not self.api_base_url.endswith("/"):
            raise ValueError("api_base_url: must end with /")
        if not self.path.startswith("/"):
            raise ValueError("path: must start with /")
        if self.slash_command and not self.slash_command.startswith("/"):
            raise ValueError("slash_command: must start with /")
        return self


class OutboxSettings(_Section):
    paused: bool = False
    max_attempts: int = Field(10, ge=1)
    retry_base_seconds: float = Field(1.0, gt=0)
    retry_max_seconds: float = Field(300.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)


class LoggingSettings(_Section):
    level: str = "INFO"
    file: Path | None = Path("data/candor.log")

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level


class Config(_Section):
    bot: BotSettings = BotSettings()
    storage: StorageSettings = StorageSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    cases: CaseSettings = CaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    slack: SlackSettings = SlackSettings()
    desk: DeskSettings = DeskSettings()
    hours: HoursSettings = HoursSettings()
    outbox: OutboxSettings = OutboxSettings()
    logging: LoggingSettings = LoggingSettings()
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _desks_exist(self) -> Config:
        if "telegram" in self.desk.channels and self.telegram.staff_group_id is None:
            raise ValueError(
                'desk.channels: "telegram" needs telegram.staff_group_id (the staff group)'
            )
        if "slack" in self.desk.channels and not self.slack.triage_channel:
            raise ValueError('desk.channels: "slack" needs slack.triage_channel (the channel id)')
        return self


def _resolve_env(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {
            key: _resolve_env(item, f"{where}.{key}" if where else key)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_resolve_env(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ConfigError(f"{where}: the environment variable {name} is not set")
        return os.environ[name]
    return value


def _rebase(config: Config, base: Path) -> Config:
    def at(path: Path) -> Path:
        return path if path.is_absolute() or str(path) == ":memory:" else base / path

    log_file = config.logging.file
    return config.model_copy(
        update={
            "storage": config.storage.model_copy(update={"path": at(config.storage.path)}),
            "knowledge": config.knowledge.model_copy(
                update={"directory": at(config.knowledge.directory)}
            ),
            "logging": config.logging.model_copy(
                update={"file": None if log_file is None or str(log_file) == "" else at(log_file)}
            ),
        }
    )


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (is it misspelt? see config.example.toml)"
        # A check across keys names its own key: "token: not a bot token".
        inner = re.match(r"^([a-z_]+(?:\.[a-z_]+)*): (.*)$", message, re.S)
        if inner:
            key = ".".join(part for part in (key, inner.group(1)) if part)
            message = inner.group(2)
        lines.append(f"{key}: {message}" if key else message)
    return "; ".join(lines)


def parse(text: str, source: Path | None = None) -> Config:
    """A validated config from TOML text; relative paths are taken from `source`'s folder."""
    name = str(source) if source else "config"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{name}: not valid TOML: {error}") from error
    # A section that is switched off may name variables that are not set.
    raw = {
        key: section
        if isinstance(section, dict) and section.get("enabled") is False
        else _resolve_env(section, key)
        for key, section in raw.items()
    }
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{name}: {_describe(error)}") from error
    redact.register(
        value
        for value in (
            config.telegram.token,
            config.telegram.webhook_secret,
            config.slack.bot_token,
            config.slack.signing_secret,
            config.slack.app_token,
        )
        if value and not value.startswith("env:")
    )
    base = source.resolve().parent if source else Path.cwd()
    return _rebase(config, base).model_copy(update={"source": source})


def default_path(cwd: Path | None = None) -> Path:
    """config.toml if present, else config.example.toml (in `cwd`, then beside the code)."""
    folder = cwd or Path.cwd()
    for candidate in (folder / "config.toml", folder / "config.example.toml"):
        if candidate.exists():
            return candidate
    shipped = Path(__file__).resolve().parent.parent / "config.example.toml"
    if shipped.exists():
        return shipped
    raise ConfigError(f"no config.toml or config.example.toml in {folder}; pass --config PATH")


def load(path: Path | None = None) -> Config:
    path = path or default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the config file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text") from error
    return parse(text, path)
