"""`candor doctor`: what is wrong with a deployment, before a customer finds it.

Every check gives a `Finding`: one line an operator reads (✓ or ✗, what was checked,
what was found or what to do). The core checks what it owns (the config and its
secrets, the database, the knowledge base); each enabled platform checks itself
through its `Platform.doctor` (the token works, the staff group or triage channel is
there and the bot may work in it, ...). The exit code is 0 when every needed check
passes, 1 otherwise; a failed check that is not needed (`needed=False`) is a warning.

A platform's probe is given its settings (secrets read) and a `Context`; it talks to
the platform with a timeout on every call and never raises: what it cannot find
out is a finding too ("cannot reach api.telegram.org: ...").
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import config as config_module
from bot import i18n
from bot.config import Config, ConfigError, unread
from bot.text import plural

if TYPE_CHECKING:
    from bot.platforms import Platform

# Below this much free space on the database's disk, `candor run` is close to refusing
# messages (it keeps working on a full disk, but stores nothing new).
LOW_DISK_BYTES = 200 * 1024 * 1024
TIMEOUT_SECONDS = 10.0  # for each call a probe makes to a platform


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result."""

    area: str  # what it is about: "config", "database", "knowledge", or a platform's name
    check: str  # what was checked: "token", "staff group", "scopes"
    ok: bool
    detail: str  # ok: what was found ("@candor_bot"); not ok: what is wrong and what to do
    needed: bool = True  # False: Candor works without it (a warning; the exit code stays 0)

    @property
    def mark(self) -> str:
        return "✓" if self.ok else ("✗" if self.needed else "!")

    def line(self) -> str:
        return f"{self.mark} {self.area}: {self.check}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Context:
    """What a platform's probe may need besides its own settings."""

    config: Config  # the whole config, secrets read (agents are in `config.desk.agents`)
    running: bool  # a `candor run` is running on this database (its ports are its own)
    timeout: float = TIMEOUT_SECONDS  # seconds for each call to the platform


# A platform's probe (`Platform.doctor`): its settings, the context -> its findings.
Probe = Callable[[Any, Context], AsyncIterator[Finding]]


def passed(findings: Iterable[Finding]) -> bool:
    """Whether every needed check passed."""
    return all(f.ok or not f.needed for f in findings)


def _missing_secrets(config: Config) -> list[Finding]:
    """The secrets the enabled platforms' modes use whose variable is not set."""
    found = []
    for platform in config.platforms:
        settings = config.settings_for(platform)
        for field in platform.secrets_in_use(settings):
            value = str(getattr(settings, field))
            where = f"{platform.name}.{field}"
            mode = platform.mode(settings)
            if unread(value):
                variable = value.removeprefix("env:")
                if not os.environ.get(variable):
                    found.append(
                        Finding(
                            "config",
                            "secrets",
                            False,
                            f"{where} ({mode}) reads the environment variable {variable},"
                            " which is not set: export it where candor runs",
                        )
                    )
            elif not value:
                found.append(
                    Finding("config", "secrets", False, f"{where} ({mode}) is empty: set it")
                )
    return found


def _config(path: Path | None) -> tuple[Config | None, list[Finding]]:
    """The config with its secrets read, or None and why not."""
    try:
        bare = config_module.load(path, secrets=False)
    except ConfigError as error:
        return None, [Finding("config", "loads", False, str(error))]
    name = str(bare.source or path or "the config")
    findings = [Finding("config", "loads", True, name)]
    missing = _missing_secrets(bare)
    if missing:
        return None, findings + missing
    try:
        config = config_module.load(path, secrets=True)
    except ConfigError as error:
        return None, [*findings, Finding("config", "secrets", False, str(error))]
    enabled = [p.name for p in config.platforms if p.enabled(config.settings_for(p))]
    what = f"set for {', '.join(enabled)}" if enabled else "none needed (no platform is enabled)"
    return config, [*findings, Finding("config", "secrets", True, what)]


async def _database(config: Config) -> tuple[bool, list[Finding]]:
    """Whether a `candor run` runs on the database, and the database's findings."""
    from bot.store import database_health

    health = await database_health(config)
    findings = [Finding("database", check, ok, detail) for check, ok, detail in health.checks]
    if config.storage.url:  # the disk is the database server's
        return health.running, findings
    try:
        folder = _existing(config.storage.path.resolve().parent)
        free = shutil.disk_usage(folder).free
    except OSError as error:
        findings.append(
            Finding("database", "disk", False, f"cannot see {config.storage.path}: {_why(error)}")
        )
    else:
        room = f"{free / 2**30:.1f} GiB free on the disk of {folder}"
        if free < LOW_DISK_BYTES:
            findings.append(
                Finding("database", "disk", False, f"only {room}: make room before customers write")
            )
        else:
            findings.append(Finding("database", "disk", True, room))
    return health.running, findings


def _existing(folder: Path) -> Path:
    """`folder` or its nearest ancestor that exists (OSError: one it may not look at)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _why(error: OSError) -> str:
    return error.strerror or str(error)


def _logging(config: Config) -> list[Finding]:
    """Whether `candor run` can write `[logging] file`: its folder made, the file opened
    for appending (neither is done here)."""
    file = config.logging.file
    if file is None:
        return [Finding("logging", "file", True, "none: the log goes to the terminal only")]
    where = f"[logging] file {file}"
    try:
        if file.is_dir():
            return [Finding("logging", "file", False, f"{where} is a folder: give a file's path")]
        existing = _existing(file.parent)
        if not existing.is_dir():
            why = f"{existing} is a file, so the folder {file.parent} cannot be made"
        elif file.exists() and not os.access(file, os.W_OK):
            why = "Candor may not write it: check its owner and permissions"
        elif not file.exists() and not os.access(existing, os.W_OK | os.X_OK):
            why = f"Candor may not write in {existing}: check its owner and permissions"
        else:
            return [Finding("logging", "file", True, str(file))]
    except OSError as error:
        why = f"cannot look at it: {_why(error)}"
    return [
        Finding(
            "logging",
            "file",
            False,
            f'{where}: {why} (or set file = "" for the terminal only)',
        )
    ]


def _knowledge(config: Config) -> list[Finding]:
    import io

    from bot.knowledge.tools import kb_check

    directory = config.knowledge.directory
    try:
        there = directory.is_dir()
    except OSError as error:
        return [
            Finding(
                "knowledge",
                "kb check",
                False,
                f"cannot look at the knowledge folder {directory} ([knowledge] directory):"
                f" {_why(error)}",
            )
        ]
    if not there:
        return [
            Finding(
                "knowledge",
                "kb check",
                False,
                f"the knowledge folder {directory} does not exist ([knowledge] directory)",
            )
        ]
    out = io.StringIO()
    try:
        code = kb_check(directory, out, config.bot.languages)
    except OSError as error:
        return [Finding("knowledge", "kb check", False, f"cannot read {directory}: {_why(error)}")]
    # the articles' count line, and the drafts' when there are any (their own section)
    lines = [
        line
        for line in out.getvalue().strip().splitlines()
        if re.match(r"\d+ (articles?|drafts?)\b.* checked in ", line)
    ]
    summary = "; ".join(lines) or f"{directory} checked"
    if code == 0:
        return [Finding("knowledge", "kb check", True, summary)]
    return [
        Finding(
            "knowledge",
            "kb check",
            False,
            f"{summary}: run `candor kb check --config {config.source or 'PATH'}` for each one",
        )
    ]


def _languages(config: Config) -> list[Finding]:
    """Every configured language's catalog complete (a gap is said in English)."""
    findings = []
    for language in config.bot.languages:
        missing = i18n.gaps(language)
        if missing:
            shown = "; ".join(f"“{m[:40]}”" for m in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            detail = (
                f"{language}: {len(missing)} of the bot's strings are missing or fuzzy in"
                f" bot/locale/{language}/LC_MESSAGES/candor.po and are said in English:"
                f" {shown}{more}"
            )
            findings.append(Finding("languages", "catalogs", False, detail, needed=False))
    if not findings:
        spoken = ", ".join(config.bot.languages)
        findings.append(Finding("languages", "catalogs", True, f"complete for {spoken}"))
    return findings


async def _web(config: Config, context: Context) -> list[Finding]:
    """`[web]`: reachable in the clear, linking to an address nobody opens, its port,
    who can sign in (bot/web/checks.py)."""
    from bot.web.checks import web_findings

    return await web_findings(config, context)


def _meaning(config: Config) -> list[Finding]:
    """With `[knowledge] semantic` on, the encoder it selects is loaded and run on one
    short text, as `candor run` will: that its packages are found says nothing of a
    damaged model file or a runtime whose native library does not load."""
    from bot.knowledge.analysis import VOCABULARY, english_words

    words = (
        []
        if english_words()
        else [
            Finding(
                "knowledge",
                "the vocabulary of real words",
                False,
                f"{VOCABULARY} cannot be read: real words will be corrected as typos;"
                " reinstall candor-support",
            )
        ]
    )
    semantic = config.knowledge.semantic
    if semantic == "off":
        return words
    from bot.knowledge.embedding import EmbeddingMissing, StaticEncoder
    from bot.knowledge.minilm import PROBE, MiniLMEncoder

    check = f'semantic = "{semantic}"'
    try:
        encoder = MiniLMEncoder.shipped() if semantic == "minilm" else StaticEncoder.shipped()
        dims = len(encoder.encode(PROBE))
    except EmbeddingMissing as error:
        return [*words, Finding("knowledge", check, False, str(error))]
    except Exception as error:  # a damaged install breaks in ways of its own: one line still
        detail = " ".join(str(error).split()) or type(error).__name__
        return [*words, Finding("knowledge", check, False, f"the encoder does not run: {detail}")]
    loaded = f"the encoder loads and gives {dims}-dim vectors"
    return [*words, Finding("knowledge", check, True, loaded)]


async def _platform(platform: Platform[Any], settings: Any, context: Context) -> list[Finding]:
    """A platform's own findings; a probe that breaks is a finding, never a traceback."""
    assert platform.doctor is not None
    findings: list[Finding] = []
    try:
        async for finding in platform.doctor(settings, context):
            findings.append(finding)
    except Exception as error:  # a probe's bug must not hide the other checks
        findings.append(
            Finding(
                platform.name,
                "checks",
                False,
                f"could not finish: {type(error).__name__}: {str(error)[:200]}"
                " (a bug in Candor's checks: please report it with this line)",
            )
        )
    return findings


async def examine(path: Path | None, *, call_seconds: float = TIMEOUT_SECONDS) -> list[Finding]:
    """Every check, in the order an operator fixes them."""
    config, findings = _config(path)
    if config is None:
        return findings
    running, database = await _database(config)
    findings += database
    findings += _logging(config)
    findings += _knowledge(config)
    findings += _languages(config)
    context = Context(config=config, running=running, timeout=call_seconds)
    findings += await _web(config, context)
    findings += _meaning(config)
    for platform in config.platforms:
        settings = config.settings_for(platform)
        if platform.doctor is not None and platform.enabled(settings):
            findings += await _platform(platform, settings, context)
    return findings


def render(findings: list[Finding], as_json: bool, out: TextIO) -> None:
    if as_json:
        payload: dict[str, Any] = {
            "ok": passed(findings),
            "checks": [asdict(f) for f in findings],
        }
        json.dump(payload, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    for finding in findings:
        print(finding.line(), file=out)
    failed = sum(1 for f in findings if not f.ok and f.needed)
    warned = sum(1 for f in findings if not f.ok and not f.needed)
    if failed:
        print(
            f"{failed} of {len(findings)} checks failed: fix them before customers write", file=out
        )
    else:
        tail = f" ({plural(warned, 'warning')})" if warned else ""
        print(f"all {len(findings)} checks passed{tail}", file=out)


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """The libraries' own log records (python-telegram-bot logs an answer it cannot read
    with its traceback) go nowhere while doctor runs: what they say is in a finding.
    Without a handler Python would print them, tracebacks and all, on stderr."""
    root = logging.getLogger()
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    try:
        yield
    finally:
        root.removeHandler(quiet)


async def doctor_command(path: Path | None, as_json: bool, out: TextIO) -> int:
    findings = await examine(path)
    render(findings, as_json, out)
    return 0 if passed(findings) else 1
