"""What a platform tells the core about itself, and how the core finds them.

The core does not know which platforms exist. Each adapter package declares one
`Platform` (its name, its settings, its desk, how its agents are identified, how its
customers type commands, how to run it) and registers it as an entry point in the
group `candor.platforms` of pyproject.toml; `discover()` loads them. Nothing in
`bot/` imports an adapter, and a declaration imports no platform library (the
channel is built, and its library imported, only by `candor run`), so every
command can read a config naming every platform, installed extras or not.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Annotated, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bot.model import Address

if TYPE_CHECKING:
    from bot.app import Candor
    from bot.doctor import Context, Finding

GROUP = "candor.platforms"  # the entry point group adapters register in

S = TypeVar("S", bound=BaseModel)

# An agent's id that must not be empty (`console = "maria"`, `slack = "U0123ABCD"`).
Name = Annotated[str, Field(min_length=1)]


class PlatformError(RuntimeError):
    """The installed platforms cannot be used (a broken or clashing declaration)."""


class Channel(Protocol):
    """A platform running for `candor run`: started once, stopped once."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class NoSettings(BaseModel):
    """The settings of a platform with nothing to set: it has no config section."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class CommandStyle:
    """How customers type a command on a channel: `/status`, `!status`, `/candor status`."""

    prefix: str = "/"

    def render(self, command: str, args: str = "") -> str:
        """The command as the customer would type it there: "status" -> "!status"."""
        return f"{self.prefix}{command}" + (f" {args}" if args else "")


SLASH = CommandStyle()


@dataclass(frozen=True, slots=True)
class DeskSpec(Generic[S]):
    """A platform's desk: where case cards go when `[desk] channels` names the platform."""

    # The desk's address given the settings; None when the settings do not name one.
    address: Callable[[S], Address | None]
    # What `address` needs when it gives None, for the config error:
    # "staff_group_id (the staff group)" -> 'desk.channels: "telegram" needs telegram.staff_group_id
    # (the staff group)'.
    needs: str = ""
    # A channel of the desk's own, that no customer writes on (the terminal desk's):
    # every address on it is the desk, whether `[desk] channels` names it or not.
    own_channel: str = ""
    # In `[desk] channels` when the config does not set it.
    default: bool = False


@dataclass(frozen=True, slots=True)
class AgentKey:
    """How an agent is identified on a platform: the value under the platform's name in
    their `[desk] agents` entry (`telegram = 123456789`), and the identity they act with."""

    type: Any = Name  # the value's type; pydantic validates it with the rest of the config
    user_id: Callable[[Any], str] = str  # the value as the `Identity.user_id` the adapter makes
    channel: str = ""  # the `Identity.channel` agents act with ("": the platform's name)
    is_name: bool = False  # people type it to name the agent (`/transfer maria`)


def _never(settings: Any) -> bool:
    return False


def _slash(settings: Any) -> CommandStyle:
    return SLASH


def _no_mode(settings: Any) -> str:
    return ""


def _nowhere(settings: Any) -> Listen | None:
    return None


@dataclass(frozen=True, slots=True)
class Listen:
    """Where `candor run` listens for a platform (its webhook server)."""

    keys: str  # the settings that say so, for errors: "telegram.webhook_listen/webhook_port"
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Platform(Generic[S]):
    """One platform, as its adapter package declares it."""

    name: str  # its config section, its `[desk] channels` entry, its key in agents' entries,
    # and the channel of its customers' identities and addresses
    settings: type[S]  # the pydantic model of its section (`NoSettings`: no section)
    commands: Callable[[S], CommandStyle] = _slash  # how customers type a command there
    desk: DeskSpec[S] | None = None  # None: agents cannot work there
    agent: AgentKey | None = None  # None: agents have no id there
    secrets: tuple[str, ...] = ()  # the settings' fields that hold secrets ("env:NAME")
    # The secrets the settings' mode uses (None: all of them); only these are read from
    # the environment, checked and redacted from every log line, and only when enabled.
    uses: Callable[[S], tuple[str, ...]] | None = None
    mode: Callable[[S], str] = _no_mode  # the mode, for errors: "webhook mode" ("": none)
    # Where `candor run` listens for it, when enabled in a mode that listens (None: nowhere).
    listens: Callable[[S], Listen | None] = _nowhere
    # Whether `candor run` starts it; then `channel` builds it, from the app and its settings.
    enabled: Callable[[S], bool] = _never
    channel: Callable[[Candor, S], Channel] | None = None
    # `candor doctor`'s checks of it, when enabled (see bot/doctor.py): its settings,
    # secrets read, and the context -> one `Finding` per check; imports its library lazily.
    doctor: Callable[[S, Context], AsyncIterator[Finding]] | None = None
    order: int = 100  # where it stands in lists people read (sections, messages); then by name

    @property
    def has_section(self) -> bool:
        return bool(self.settings.model_fields)

    def secrets_in_use(self, settings: S) -> tuple[str, ...]:
        """The secrets these settings need: none unless enabled, else the mode's."""
        if not self.enabled(settings):
            return ()
        return self.secrets if self.uses is None else self.uses(settings)

    @property
    def agent_channel(self) -> str:
        """The channel of the identities agents act with here."""
        return (self.agent.channel if self.agent else "") or self.name


def check(platforms: Iterable[Platform[Any]]) -> tuple[Platform[Any], ...]:
    """The platforms in their order, or PlatformError if two would share a name or a
    channel (then a customer's address could be another platform's, or a desk)."""
    ordered = tuple(sorted(platforms, key=lambda p: (p.order, p.name)))
    taken: dict[str, str] = {}
    for platform in ordered:
        if not platform.name.isidentifier() or platform.name.startswith("_"):
            raise PlatformError(f"the platform name {platform.name!r} cannot name a config section")
        mine = {platform.name, platform.agent_channel}
        if platform.desk is not None and platform.desk.own_channel:
            if platform.desk.own_channel == platform.name:
                raise PlatformError(
                    f"the platform {platform.name}: its customers' channel cannot be its desk's own"
                )
            mine.add(platform.desk.own_channel)
        for channel in sorted(mine):
            if channel in taken:
                raise PlatformError(
                    f"the platforms {taken[channel]} and {platform.name} both use the channel"
                    f" {channel!r}"
                )
            taken[channel] = platform.name
    return ordered


@functools.cache
def discover() -> tuple[Platform[Any], ...]:
    """The installed platforms: every entry point in the group `candor.platforms`."""
    found = []
    for entry in entry_points(group=GROUP):
        try:
            platform = entry.load()
        except Exception as error:
            raise PlatformError(
                f"the platform {entry.name} ({entry.value}) cannot be loaded: {error}"
            ) from error
        if not isinstance(platform, Platform) or platform.name != entry.name:
            raise PlatformError(
                f"the entry point {entry.name} ({entry.value}) is not a Platform named"
                f" {entry.name!r}"
            )
        found.append(platform)
    if not found:
        raise PlatformError(
            f"no platform is installed (entry points {GROUP}): install Candor with"
            " `pip install -e .` (or `make`) so that its adapters register"
        )
    return check(found)


# Addresses that listen on every interface: a port taken there is taken on all of them.
_ANY_HOST = frozenset({"0.0.0.0", "::", ""})


def clashing(listens: Iterable[Listen | None]) -> str:
    """What is wrong when two of these addresses (the enabled platforms' servers) are
    one; "" when none is."""
    taken: list[Listen] = []
    for found in listens:
        if found is None:
            continue
        for other in taken:
            if other.port == found.port and (
                other.host == found.host or {other.host, found.host} & _ANY_HOST
            ):
                return (
                    f"{found.keys} ({found.host}:{found.port}) is where {other.keys}"
                    f" ({other.host}:{other.port}) listens already: give each platform its"
                    " own port"
                )
        taken.append(found)
    return ""
