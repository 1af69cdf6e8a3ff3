"""Features declare what they do; the registry collects it in one place.

A feature (one module under `bot/features/`) declares its customer commands,
its desk commands, the button routes it answers and the steps it adds to the
message pipeline, with decorators on its handlers (the way errbot tags a method
and aiogram gives each module a Router). `Registry` composes the features that
`bot/app.py` lists and is the only list of commands there is: `/help`, the reply
to an unknown command (with a close match), the Telegram menu and the README's
table all come from it, so they cannot disagree.

Button payloads are packed and unpacked by one codec (`pack`, `Registry.route`):
`kind:field:field`, each route declaring the types of its fields, so a forged or
stale payload is refused in one place instead of by every `split(":")`. A button
shown to a customer also carries whom it was shown to (`bind`, `unbind`:
`kind:field@customer`), so that it acts for them alone, whoever else presses it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.model import Cause, InboundKind
from bot.report import ReportSection
from bot.text import COMMAND_AT, small_number

Handler = Callable[[Any, str], Awaitable[None]]
ButtonHandler = Callable[[Any, tuple[Any, ...]], Awaitable[None]]
StepHandler = Callable[[Any], Awaitable[bool]]
Hook = Callable[[Any], Awaitable[None]]  # a receiver or an arrival hook
# (transaction, message, now) -> why it must not go ("" if it may)
NoticeRule = Callable[[Any, Any, Any], Awaitable[str]]
# (transaction, message, now) -> until when a notice waits (None: it goes now)
Hold = Callable[[Any, Any, Any], Awaitable[Any]]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_KIND = re.compile(r"[a-z][a-z_]{0,15}")
_FIELD = re.compile(r"[A-Za-z0-9._-]{1,56}")
MAX_PAYLOAD = 64  # bytes: Telegram's limit for a button's data
OWNER_ROOM = 12  # bytes of it kept for "@" and the number of the customer it is shown to


class RegistryError(ValueError):
    """Two features declared the same name, or a declaration is malformed."""


@dataclass(frozen=True, slots=True)
class Command:
    """A command someone types: `/name args` (rendered per channel: `!name` on Slack)."""

    name: str
    handler: Handler
    help: str
    aliases: tuple[str, ...] = ()
    public: bool = True  # listed in /help, the unknown-command reply and menus
    feature: str = ""


@dataclass(frozen=True, slots=True)
class DeskCommand:
    """A command an agent types on a desk. `case` says where the case comes from:
    "none" (not about one case), "first" (an optional number as the first word,
    else the thread), "second" (an optional number after the first word, else the
    thread), "thread" (the thread only; the arguments are all text)."""

    name: str
    handler: Callable[..., Awaitable[None]]
    help: str
    aliases: tuple[str, ...] = ()
    case: str = "none"
    usage: str = ""
    feature: str = ""


@dataclass(frozen=True, slots=True)
class ButtonRoute:
    """Presses on buttons whose payload starts with `kind`; `fields` are the types
    of what follows (`int` or `str`), `on_resolved` whether it still works once the
    case is resolved."""

    kind: str
    handler: ButtonHandler
    fields: tuple[type, ...] = ()
    on_resolved: bool = False
    desk: bool = False
    feature: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the pipeline a customer's plain text goes through, in `order`;
    the handler returns True when it has dealt with the message (the rest is skipped).
    `when`, if given, says cheaply (without awaiting) whether the step applies at all:
    most steps do not, for most messages, and an await costs more than a test."""

    name: str
    order: int
    handler: StepHandler
    feature: str = ""
    when: Callable[[Any], bool] | None = None

    def applies(self, turn: Any) -> bool:
        return self.when is None or self.when(turn)


def pack(kind: str, *fields: object) -> str:
    """A button payload: `kind:field:…`. Raises if it could not be unpacked again."""
    if not _KIND.fullmatch(kind):
        raise RegistryError(f"button kind {kind!r}: lower-case letters and _ only")
    parts = [kind]
    for value in fields:
        text = str(value)
        if not _FIELD.fullmatch(text):
            raise RegistryError(f"button field {text!r} cannot be packed")
        parts.append(text)
    payload = ":".join(parts)
    if len(payload.encode()) > MAX_PAYLOAD - OWNER_ROOM:
        raise RegistryError(f"button payload {payload!r} is over {MAX_PAYLOAD - OWNER_ROOM} bytes")
    return payload


def bind(payload: str, customer_id: int) -> str:
    """The payload of a button shown to this customer: it acts for them alone."""
    return f"{payload}@{customer_id}"


def unbind(payload: str) -> tuple[str, int | None]:
    """(the payload as packed, the customer it was shown to); None if it names nobody
    (forged, or shown before buttons carried it)."""
    packed, at, owner = payload.rpartition("@")
    if not at or not (owner.isascii() and owner.isdigit()) or len(owner) >= OWNER_ROOM:
        return payload, None
    return packed, int(owner)


def _unpack(route: ButtonRoute, rest: list[str]) -> tuple[Any, ...] | None:
    if len(rest) != len(route.fields):
        return None
    values: list[Any] = []
    for kind, text in zip(route.fields, rest, strict=True):
        if kind is int:
            number = small_number(text)
            if number is None:
                return None
            values.append(number)
        elif _FIELD.fullmatch(text):
            values.append(text)
        else:
            return None
    return tuple(values)


class Feature:
    """What one feature module declares. Use its decorators on module-level
    handlers; the registry reads them once, at start."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: list[Command] = []
        self.desk_commands: list[DeskCommand] = []
        self.buttons: list[ButtonRoute] = []
        self.steps: list[Step] = []
        self.receivers: dict[InboundKind, Hook] = {}
        self.arrivals: list[Hook] = []
        self.notice_rules: dict[Cause, NoticeRule] = {}
        self.holds: list[Hold] = []
        self.report_sections: list[ReportSection] = []

    def report_section(self, section: ReportSection) -> None:
        """Its section of `candor report`."""
        self.report_sections.append(section)

    def notice_rule(self, cause: Cause) -> Callable[[NoticeRule], NoticeRule]:
        """Who may receive a notice of this cause: the outbox asks the rule before it
        sends one, and refuses the notice if the rule says why not."""

        def declare(rule: NoticeRule) -> NoticeRule:
            self.notice_rules[cause] = rule
            return rule

        return declare

    def holds_notices(self, hold: Hold) -> Hold:
        """Until when a notice waits for its customer (muted, quiet hours)."""
        self.holds.append(hold)
        return hold

    def on_arrival(self, handler: Hook) -> Hook:
        """Run on every inbound of a customer, before its case is settled and before
        whatever handles it: what must happen whatever they sent."""
        self.arrivals.append(handler)
        return handler

    def receives(self, kind: InboundKind) -> Callable[[Hook], Hook]:
        """Handle inbounds of this kind (a start, an edit, a file) other than text and
        buttons, which have their own routes."""

        def declare(handler: Hook) -> Hook:
            self.receivers[kind] = handler
            return handler

        return declare

    def command(
        self, name: str, *, help: str, aliases: Sequence[str] = (), public: bool = True
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            self.commands.append(
                Command(name, handler, help, tuple(aliases), public, feature=self.name)
            )
            return handler

        return declare

    def desk_command(
        self,
        name: str,
        *,
        help: str,
        aliases: Sequence[str] = (),
        case: str = "none",
        usage: str = "",
    ) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
        if case not in ("none", "first", "second", "thread"):
            raise RegistryError(f"desk command {name}: case must be none, first, second or thread")

        def declare(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
            self.desk_commands.append(
                DeskCommand(name, handler, help, tuple(aliases), case, usage, feature=self.name)
            )
            return handler

        return declare

    def button(
        self, kind: str, *fields: type, on_resolved: bool = False, desk: bool = False
    ) -> Callable[[ButtonHandler], ButtonHandler]:
        if not _KIND.fullmatch(kind) or any(f not in (int, str) for f in fields):
            raise RegistryError(f"button route {kind!r}: bad kind or field types")

        def declare(handler: ButtonHandler) -> ButtonHandler:
            self.buttons.append(
                ButtonRoute(kind, handler, tuple(fields), on_resolved, desk, feature=self.name)
            )
            return handler

        return declare

    def step(
        self, name: str, *, order: int, when: Callable[[Any], bool] | None = None
    ) -> Callable[[StepHandler], StepHandler]:
        def declare(handler: StepHandler) -> StepHandler:
            self.steps.append(Step(name, order, handler, feature=self.name, when=when))
            return handler

        return declare


@dataclass(frozen=True, slots=True)
class Found:
    """What a typed name resolves to."""

    command: Command | None
    suggestion: str = ""  # a close public command, when there is no exact one


@dataclass
class _Names:
    by_name: dict[str, Any] = field(default_factory=dict)

    def add(self, names: Iterable[str], item: Any, what: str) -> None:
        for name in names:
            if not _NAME.fullmatch(name):
                raise RegistryError(f"{what} {name!r}: lower-case letters, digits and _ only")
            if name in self.by_name:
                raise RegistryError(f"{what} {name!r} is declared twice")
            self.by_name[name] = item


class Registry:
    """Every feature's declarations, checked for clashes, in one place."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = tuple(features)
        customer, desk, kinds = _Names(), _Names(), _Names()
        self.commands: list[Command] = []
        self.desk_commands: list[DeskCommand] = []
        self._buttons: dict[tuple[bool, str], ButtonRoute] = {}
        steps: list[Step] = []
        self.receivers: dict[InboundKind, Hook] = {}
        self.arrivals: tuple[Hook, ...] = tuple(
            hook for feature in features for hook in feature.arrivals
        )
        self.holds: tuple[Hold, ...] = tuple(hold for f in features for hold in f.holds)
        sections = [section for f in features for section in f.report_sections]
        if len({s.order for s in sections}) != len(sections):
            raise RegistryError("two report sections have the same order")
        self.report_sections = tuple(sorted(sections, key=lambda s: s.order))
        self.notice_rules: dict[Cause, NoticeRule] = {}
        for feature in features:
            for cause, rule in feature.notice_rules.items():
                if cause in self.notice_rules:
                    raise RegistryError(f"two features rule {cause.value} notices")
                self.notice_rules[cause] = rule
        for feature in features:
            for kind, receiver in feature.receivers.items():
                if kind in self.receivers:
                    raise RegistryError(f"two features receive {kind.value} inbounds")
                self.receivers[kind] = receiver
            for command in feature.commands:
                customer.add((command.name, *command.aliases), command, "command")
                self.commands.append(command)
            for desk_command in feature.desk_commands:
                desk.add((desk_command.name, *desk_command.aliases), desk_command, "desk command")
                self.desk_commands.append(desk_command)
            for route in feature.buttons:
                kinds.add([("desk_" if route.desk else "") + route.kind], route, "button kind")
                self._buttons[(route.desk, route.kind)] = route
            steps += feature.steps
        orders = [s.order for s in steps]
        if len(orders) != len(set(orders)):
            raise RegistryError("two pipeline steps have the same order")
        self.steps = tuple(sorted(steps, key=lambda s: s.order))
        self._customer = customer.by_name
        self._desk = desk.by_name

    # -- customers' commands -----------------------------------------------------------------

    def public_commands(self) -> list[Command]:
        """What /help, the unknown-command reply and the menus list, in declared order."""
        return [c for c in self.commands if c.public]

    def command(self, name: str) -> Found:
        found = self._customer.get(name)
        if found is not None:
            return Found(found)
        return Found(None, self._close(name, [c.name for c in self.public_commands()]))

    def names(self) -> set[str]:
        """Every command name and alias, customers' and desks' (for rendering)."""
        return set(self._customer) | set(self._desk)

    # -- desk commands -----------------------------------------------------------------------

    def desk_command(self, name: str) -> DeskCommand | None:
        found: DeskCommand | None = self._desk.get(name)
        return found

    # -- buttons -----------------------------------------------------------------------------

    def route(
        self, payload: str, *, desk: bool = False
    ) -> tuple[ButtonRoute, tuple[Any, ...]] | None:
        """The route and unpacked fields of a payload; None if it is unknown, stale
        or forged."""
        if len(payload) > 2 * MAX_PAYLOAD:
            return None
        kind, *rest = payload.split(":")
        route = self._buttons.get((desk, kind))
        if route is None:
            return None
        fields = _unpack(route, rest)
        return None if fields is None else (route, fields)

    @staticmethod
    def _close(name: str, names: Sequence[str]) -> str:
        if not names or not name:
            return ""
        found = process.extractOne(
            name[:32], names, scorer=Levenshtein.normalized_similarity, score_cutoff=0.5
        )
        return "" if found is None else str(found[0])


# a command's name ends the word: "/help-center" or "/data/export" are not commands
_COMMAND_IN_TEXT = re.compile(COMMAND_AT + r"([a-z][a-z0-9_]{0,31})(?![\w/-])", re.M)


def render_commands(text: str, prefix: str, names: set[str]) -> str:
    """The core writes `/name`; a channel where customers type `!name` gets that.
    Only known command names change, and never a quoted `\\/name` (someone's words
    are escaped by `md_escape`)."""
    if prefix == "/":
        return text
    return _COMMAND_IN_TEXT.sub(
        lambda m: prefix + m.group(1) if m.group(1) in names else m.group(0), text
    )
