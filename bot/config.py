"""Loading and validating the TOML configuration.

A bad config is refused at start with a message that names the key and what is
wrong. Secrets are never written in the file: a value "env:NAME" reads the
environment variable NAME. Relative paths are relative to the config file.

The core's sections are here; each platform brings its own (`[telegram]`, `[slack]`),
its `[desk] channels` entry and its key in agents' entries, from its declaration
(`bot.platforms`): `model_for` builds the Config class for a set of platforms.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from bot import redact
from bot.config_desk import AgentSettings as AgentSettings
from bot.config_desk import DeskSettings as DeskSettings
from bot.config_desk import HoursSettings as HoursSettings
from bot.config_desk import Section as Section
from bot.config_desk import check_zone
from bot.i18n import check_languages
from bot.model import Address
from bot.platforms import SLASH, CommandStyle, Platform, PlatformError, check, clashing, discover
from bot.web.settings import WebSettings

S = TypeVar("S", bound=BaseModel)


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class BotSettings(Section):
    name: str = Field("Candor", min_length=1, max_length=40)
    company: str = Field("Northwind Cloud", min_length=1, max_length=80)
    timezone: Annotated[str, AfterValidator(check_zone)] = "UTC"
    languages: Annotated[tuple[str, ...], AfterValidator(check_languages)] = ("en",)


class StorageSettings(Section):
    path: Path = Path("data/candor.sqlite3")
    # A PostgreSQL database (postgresql://user:password@host:5432/candor), usually
    # "env:CANDOR_DATABASE_URL"; empty: the SQLite file at `path`.
    url: str = ""
    # How long to wait for another process holding the database (a backup, `candor
    # desk`) before giving up on a message; it is then not acknowledged, and retried.
    busy_timeout_seconds: float = Field(10, gt=0, le=600)
    # PostgreSQL: how often a follower asks for the lead and the leader checks it (README)
    leader_retry_seconds: float = Field(2, ge=0.1, le=60)
    # PostgreSQL: how long a turn waits for its customer's lock held by another process
    lock_wait_seconds: float = Field(3, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("postgresql://", "postgres://")):
            # the value itself is not shown: it may hold a password
            raise ValueError(
                "not a PostgreSQL URL (postgresql://user:password@host:5432/candor),"
                " or leave it empty for the SQLite file at `path`"
            )
        return value

    @field_validator("path", mode="before")
    @classmethod
    def _a_file(cls, value: object) -> object:
        # "/" or "data/" name a folder: SQLite could not open it, nor the lock beside it
        text = str(value)
        if text.endswith(("/", "\\")) or Path(text).name in ("", ".", ".."):
            raise ValueError(f"{text!r} is a folder: give the database file's path in it")
        return value


class KnowledgeSettings(Section):
    directory: Path = Path("knowledge")
    reload_seconds: float = Field(2.0, ge=0)
    # None means the measured default of the matcher (see benchmarks/RESULTS.md).
    answer_score: float | None = Field(None, ge=0, le=1)
    answer_margin: float | None = Field(None, ge=0, le=1)
    clarify_score: float | None = Field(None, ge=0, le=1)
    clarify_spread: float | None = Field(None, ge=0, le=1)
    learned_probability: float | None = Field(None, ge=0, le=1)  # the second opinion's
    max_options: int = Field(3, ge=2, le=5)
    semantic: Literal["minilm", "static", "off"] = "off"  # "minilm": the optional extra

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeSettings:
        from bot.knowledge import Thresholds
        from bot.knowledge.minilm import missing

        if self.semantic == "minilm" and (problem := missing()) is not None:
            raise ValueError(problem)  # at start and in `candor doctor`, not at a question
        Thresholds.measured(self.semantic, **self.thresholds())  # raises ValueError, saying why
        return self

    def thresholds(self) -> dict[str, Any]:
        names: tuple[str, ...] = (
            "answer_score",
            "answer_margin",
            "clarify_score",
            "clarify_spread",
            "max_options",
        )
        names += ("learned_probability",)
        return {name: value for name in names if (value := getattr(self, name)) is not None}


class CaseSettings(Section):
    reopen_window_hours: float = Field(72, ge=0)


class OutboxSettings(Section):
    paused: bool = False
    max_attempts: int = Field(10, ge=1)
    retry_base_seconds: float = Field(1.0, gt=0)
    retry_max_seconds: float = Field(300.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    lease_seconds: float = Field(30.0, ge=3)  # the shared outbox's (`bot.sharing`)
    heartbeat_seconds: float = Field(5.0, gt=0)
    stuck_alert_minutes: float = Field(10.0, gt=0)


class LoggingSettings(Section):
    level: str = "INFO"
    file: Path | None = Path("data/candor.log")

    @field_validator("file", mode="before")
    @classmethod
    def _no_file(cls, value: object) -> object:
        # "" is no log file (the terminal only); as a Path it would be "." (a folder)
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level


class Config(Section):
    """The whole configuration: the core's sections, and one section per platform with
    settings (`[telegram]`, `[slack]`) between `[cases]` and `[desk]`, where the example
    file has them. The class for a set of platforms comes from `model_for`, which adds
    the fields (in that order, which is also the order errors are listed in)."""

    if TYPE_CHECKING:  # the fields, as `model_for` adds them
        bot: BotSettings
        storage: StorageSettings
        knowledge: KnowledgeSettings
        cases: CaseSettings
        desk: DeskSettings
        hours: HoursSettings
        outbox: OutboxSettings
        logging: LoggingSettings
        web: WebSettings
        source: Path | None

    platforms: ClassVar[tuple[Platform[Any], ...]] = ()  # what this class was made for

    @model_validator(mode="before")
    @classmethod
    def _made_for_platforms(cls, data: Any) -> Any:
        if cls is Config:  # it has no fields of its own
            raise TypeError("validate with a Config class from model_for(platforms)")
        return data

    @model_validator(mode="after")
    def _desks_exist(self) -> Config:
        for platform in self.platforms:
            if (
                platform.desk is not None
                and platform.name in self.desk.channels
                and platform.desk.address(self.settings_for(platform)) is None
            ):
                raise ValueError(
                    f'desk.channels: "{platform.name}" needs {platform.name}.{platform.desk.needs}'
                )
        return self

    @model_validator(mode="after")
    def _one_server_per_address(self) -> Config:
        """Two enabled platforms cannot listen on one address: the second server of
        `candor run` would not start."""
        listens = [p.listens(self.settings_for(p)) for p in self.platforms]
        clash = clashing([*listens, self.web.listens()])
        if clash:
            raise ValueError(clash)
        return self

    def _platform(self, name: str) -> Platform[Any]:
        for platform in self.platforms:
            if platform.name == name:
                return platform
        raise KeyError(f"no platform {name!r} in this config")

    def platform(self, name: str) -> BaseModel:
        """The settings of the platform `name` (its section, or its defaults)."""
        settings: BaseModel = self.settings_for(self._platform(name))
        return settings

    def settings_for(self, platform: Platform[S]) -> S:
        """The settings of `platform`, typed: `config.settings_for(TELEGRAM).token`."""
        found = getattr(self, platform.name) if platform.has_section else platform.settings()
        if not isinstance(found, platform.settings):
            raise KeyError(f"no platform {platform.name!r} in this config")
        return found

    def desk_addresses(self) -> list[Address]:
        """Where case cards go: one address per `[desk] channels` entry, in its order."""
        found = []
        for name in self.desk.channels:
            platform = self._platform(name)
            if platform.desk is not None:
                address = platform.desk.address(self.settings_for(platform))
                if address is not None:
                    found.append(address)
        return found

    def desk_channels(self) -> frozenset[str]:
        """Channels where every address is a desk, named in `[desk] channels` or not."""
        return frozenset(
            platform.desk.own_channel
            for platform in self.platforms
            if platform.desk is not None and platform.desk.own_channel
        )

    def commands_on(self, channel: str) -> CommandStyle:
        """How customers type a command on `channel` (`/status`, `!status`)."""
        for platform in self.platforms:
            if platform.name == channel:
                return platform.commands(self.settings_for(platform))
        return SLASH


_BEFORE: dict[str, type[Section]] = {
    "bot": BotSettings,
    "storage": StorageSettings,
    "knowledge": KnowledgeSettings,
    "cases": CaseSettings,
}
_AFTER: dict[str, type[BaseModel]] = {
    "hours": HoursSettings,
    "outbox": OutboxSettings,
    "logging": LoggingSettings,
    "web": WebSettings,
}
_CORE = {*_BEFORE, "desk", *_AFTER, "source"}


def _no_desk(channel: str) -> str:
    raise ValueError("no installed platform has a desk")


@functools.cache
def model_for(platforms: tuple[Platform[Any], ...]) -> type[Config]:
    """The Config class for these platforms (in their order, see `bot.platforms.check`):
    each one's section, the `[desk] channels` that have a desk, agents' ids on each."""
    for platform in platforms:
        if platform.name in _CORE:
            raise PlatformError(f"the platform {platform.name} would replace the core's section")
    with_agents = tuple(p for p in platforms if p.agent is not None)
    ids: dict[str, Any] = {
        p.name: (p.agent.type | None, None) for p in with_agents if p.agent is not None
    }
    agent = create_model("AgentSettings", __base__=AgentSettings, **ids)
    agent.platforms = with_agents
    desks = tuple(p.name for p in platforms if p.desk is not None)
    channel: Any = Literal.__getitem__(desks) if desks else Annotated[str, AfterValidator(_no_desk)]
    desk = create_model(
        "DeskSettings",
        __base__=DeskSettings,
        channels=(
            list[channel],
            [p.name for p in platforms if p.desk is not None and p.desk.default],
        ),
        agents=(list[agent], Field(default_factory=list)),
    )
    sections: dict[str, Any] = {name: (kind, kind()) for name, kind in _BEFORE.items()}
    sections |= {p.name: (p.settings, p.settings()) for p in platforms if p.has_section}
    sections["desk"] = (desk, desk())
    sections |= {name: (kind, kind()) for name, kind in _AFTER.items()}
    sections["source"] = (Path | None, Field(None, exclude=True))
    model = create_model("Config", __base__=Config, **sections)
    model.platforms = platforms
    return model


def model(platforms: Iterable[Platform[Any]] | None = None) -> type[Config]:
    """The Config class for these platforms (default: the installed ones)."""
    return model_for(discover() if platforms is None else check(platforms))


ENV = "env:"  # a value "env:NAME" reads the environment variable NAME


def unread(value: str) -> bool:
    """Whether a setting is still an "env:NAME" reference: a platform's secrets are read
    only by the commands that start it (`parse(..., secrets=True)`)."""
    return value.startswith(ENV)


def _read_env(value: str, where: str, why: str = "") -> str:
    name = value[len(ENV) :]
    if name not in os.environ:
        needed = f" (needed in {why})" if why else ""
        raise ConfigError(f"{where}: the environment variable {name} is not set{needed}")
    return os.environ[name]


def _resolve_env(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {
            key: _resolve_env(item, f"{where}.{key}" if where else key)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_resolve_env(item, f"{where}.{i + 1}") for i, item in enumerate(value)]
    if isinstance(value, str) and unread(value):
        return _read_env(value, where)
    return value


def _resolve(
    raw: dict[str, Any], name: str, platforms: dict[str, Platform[Any]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The raw config with its `env:` values read, but for the platforms' secrets, which
    are held back (returned apart) until the settings tell which ones their mode uses.
    A section that is switched off may name variables that are not set."""
    resolved: dict[str, Any] = {}
    held: dict[str, dict[str, Any]] = {}
    for key, section in raw.items():
        if not isinstance(section, dict) or section.get("enabled") is False:
            resolved[key] = section
            continue
        secrets = platforms[key].secrets if key in platforms else ()
        held[key] = {field: section[field] for field in secrets if field in section}
        rest = {field: value for field, value in section.items() if field not in held[key]}
        try:
            resolved[key] = _resolve_env(rest, key) | held[key]
        except ConfigError as error:
            raise ConfigError(f"{name}: {error}") from error
    return resolved, held


def _validate(kind: type[Config], raw: dict[str, Any], name: str) -> Config:
    try:
        return kind.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{name}: {_describe(error)}") from error


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
                update={"file": None if log_file is None else at(log_file)}
            ),
        }
    )


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        # People count list entries from one: the first agent is desk.agents.1.
        key = ".".join(
            str(part + 1) if isinstance(part, int) else str(part) for part in problem["loc"]
        )
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


def _secrets(config: Config, name: str) -> list[str]:
    """The secrets in use (of enabled platforms, in their mode), for the log redaction.
    A value this short cannot be a real secret, and the redaction, which leaves such
    values alone (it would blank every word holding them), could not keep it out of
    the log: a platform that is enabled with one is refused rather than logged."""
    found = []
    for platform in config.platforms:
        settings = config.settings_for(platform)
        for secret in platform.secrets_in_use(settings):
            value = str(getattr(settings, secret))
            if not value or unread(value):
                continue
            if len(value) < redact.MIN_LENGTH:
                raise ConfigError(
                    f"{name}: {platform.name}.{secret}: too short to be a real secret"
                    f" ({len(value)} characters); copy it whole from the platform"
                )
            found.append(value)
    return found


def parse(
    text: str,
    source: Path | None = None,
    platforms: Iterable[Platform[Any]] | None = None,
    *,
    secrets: bool = True,
) -> Config:
    """A validated config from TOML text; relative paths are taken from `source`'s folder.
    `platforms`: the sections besides the core's (default: the installed platforms).
    `secrets`: read the secrets the enabled platforms' modes use from the environment
    (for the commands that start them); otherwise they stay "env:NAME" references. The
    secrets a mode does not use are never read (an "env:" one is left empty)."""
    name = str(source) if source else "config"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{name}: not valid TOML: {error}") from error
    kind = model(platforms)
    resolved, held = _resolve(raw, name, {p.name: p for p in kind.platforms})
    config = _validate(kind, resolved, name)
    changed = False
    for platform in config.platforms:
        settings = config.settings_for(platform)
        used = platform.secrets_in_use(settings)
        for field, value in held.get(platform.name, {}).items():
            if not isinstance(value, str) or not unread(value):
                continue
            if field not in used:
                value = ""
            elif secrets:
                where = f"{name}: {platform.name}.{field}"
                value = _read_env(value, where, platform.mode(settings))
            else:
                continue
            resolved[platform.name] = resolved[platform.name] | {field: value}
            changed = True
    if changed:
        config = _validate(kind, resolved, name)
    redact.register(_secrets(config, name))
    base = source.resolve().parent if source else Path.cwd()
    config = _rebase(config, base).model_copy(update={"source": source})
    with contextlib.suppress(OSError):  # a folder it may not look in: doctor says so
        if config.storage.path.is_dir():
            raise ConfigError(
                f"{name}: storage.path: {config.storage.path} is a folder: give the"
                " database file's path in it"
            )
    return config


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


def load(
    path: Path | None = None,
    platforms: Iterable[Platform[Any]] | None = None,
    *,
    secrets: bool = True,
) -> Config:
    """The config in `path` (default: `default_path()`); see `parse` for `secrets`."""
    path = path or default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the config file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text") from error
    return parse(text, path, platforms, secrets=secrets)
