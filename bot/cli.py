"""The `candor` command (a contract: see README)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import config as config_module
from bot.config import Config, ConfigError
from bot.platforms import Channel
from bot.store import StoreError

if TYPE_CHECKING:
    from datetime import datetime

    from bot.app import Candor
    from bot.model import Event

EXIT_USAGE = 2


def _version() -> str:
    """The installed package's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("candor-support")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candor",
        description="Candor: a support bot on the customer's side.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--config",
            type=Path,
            metavar="PATH",
            help="config file (default: config.toml if present, else config.example.toml)",
        )

    run = commands.add_parser("run", help="run every channel the config enables")
    with_config(run)

    chat = commands.add_parser("chat", help="a terminal chat in which you are the customer")
    with_config(chat)
    chat.add_argument(
        "--as",
        dest="name",
        metavar="NAME",
        help="who you are (default: your login name); the same name finds the same case",
    )

    desk = commands.add_parser("desk", help="the agents' desk in a terminal")
    with_config(desk)
    desk.add_argument(
        "--as",
        dest="name",
        metavar="AGENT",
        help="which agent you are (a `console` name from [desk] agents; default: the first)",
    )

    from bot.report_csv import HELP as CSV_COLUMNS

    report = commands.add_parser(
        "report",
        help="what happened: cases, handovers, times, ratings, what to write next",
        epilog="the columns of --csv (times ISO 8601 UTC, empty: none):\n" + CSV_COLUMNS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    with_config(report)
    report.add_argument(
        "--since", metavar="DATE", help="from this date on, included (2026-11-01; UTC)"
    )
    report.add_argument(
        "--until",
        metavar="DATE",
        help="up to this date, NOT included (2026-12-01 reports up to the end of"
        " November; default: now); applies to every section",
    )
    shape = report.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="one JSON object")
    shape.add_argument(
        "--csv",
        nargs="?",
        const="-",
        metavar="FILE",
        help="one row per case opened in the period, to FILE (default: printed); UTF-8,"
        " no customer's name or words; the columns are listed below",
    )

    doctor = commands.add_parser(
        "doctor", help="check the config, database, knowledge and platforms; exit 1 on a problem"
    )
    with_config(doctor)
    doctor.add_argument("--json", action="store_true", help="the checks as JSON")

    _db_commands(commands, with_config)

    _kb_commands(commands, with_config)
    return parser


def _kb_commands(commands: Any, with_config: Callable[[argparse.ArgumentParser], None]) -> None:
    """`candor kb check`, `candor kb ask`, `candor kb eval`, `candor kb drafts`."""
    kb = commands.add_parser("kb", help="check, try and measure the knowledge base")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")
    check = kb_commands.add_parser("check", help="validate the articles; exit 1 on an error")
    ask = kb_commands.add_parser("ask", help="what the bot would do with a question, and why")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="one JSON object")
    ask.add_argument(
        "--language",
        default="en",
        metavar="CODE",
        help="the language the question is asked in (its articles' index; default: en)",
    )
    check.add_argument(
        "--languages",
        metavar="CODES",
        help="languages every article should be translated into, comma-separated"
        " (default: the config's [bot] languages, else en)",
    )
    evaluate = kb_commands.add_parser(
        "eval", help="measure answers, menus and refusals against a JSONL file of questions"
    )
    evaluate.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help='one JSON object a line: {"text": ..., "article": id or null, "also": [ids]}',
    )
    evaluate.add_argument("--json", action="store_true", help="one JSON object")
    drafts = kb_commands.add_parser(
        "drafts",
        help="the agents' drafts (knowledge/drafts) and how often their question was asked",
    )
    drafts.add_argument("--json", action="store_true", help="one JSON object")
    drafts.add_argument(
        "--since", metavar="DATE", help="count the messages from this date on (UTC; default: all)"
    )
    for sub in (check, ask, evaluate, drafts):
        sub.add_argument("--knowledge", type=Path, metavar="DIR", help="the articles' folder")
        with_config(sub)


def _db_commands(commands: Any, with_config: Callable[[argparse.ArgumentParser], None]) -> None:
    """`candor db migrate`, `candor db copy`, and `candor web`, the pages made from it."""
    with_config(commands.add_parser("web", help="serve the web pages ([web]: the status page)"))
    db = commands.add_parser("db", help="the database: its schema, a copy from SQLite")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    migrate = db_commands.add_parser(
        "migrate", help="apply the schema (also done at start) and say what was done"
    )
    with_config(migrate)
    copy = db_commands.add_parser(
        "copy", help="copy a SQLite database into a new, empty PostgreSQL one, and check it"
    )
    copy.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="SQLITE_PATH",
        help="the SQLite file (storage.path); no `candor run` may hold it",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="the PostgreSQL database, postgresql://user:password@host:5432/candor, or"
        ' "env:NAME" to read it from the environment (keeps the password out of ps)',
    )


def _setup_logging(config: Config, *, terminal: bool) -> None:
    """The log goes to `[logging] file` (none when it is ""). With `terminal` (`candor
    run`) it also shows on stderr: at INFO and above beside a file, everything the
    level lets through without one. Without (the terminal chat and desk, whose screen
    is the conversation's), stderr gets only what stops the program."""
    root = logging.getLogger()
    root.setLevel(config.logging.level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    to_file = False
    if config.logging.file is not None:
        try:
            config.logging.file.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.FileHandler(config.logging.file, encoding="utf-8")
            handler.setFormatter(fmt)
            root.addHandler(handler)
            to_file = True
        except OSError as error:
            print(f"candor: cannot write the log file: {error}", file=sys.stderr)
    # one line per HTTP request is noise, and the URLs hold tokens (redacted anyway)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    stderr = logging.StreamHandler()
    if not terminal:
        stderr.setLevel(logging.CRITICAL)
    elif to_file:
        stderr.setLevel(logging.INFO)
    stderr.setFormatter(fmt)
    root.addHandler(stderr)


async def _chat(config: Config, name: str) -> int:
    from adapters.console.chat import chat
    from bot.app import Candor

    async with Candor(config) as app:
        return await chat(app, name)


async def _desk(config: Config, agent: str) -> int:
    from adapters.console.desk import desk
    from bot.app import Candor

    async with Candor(config) as app:
        return await desk(app, agent)


def _named_channels(config: Config, app: Candor) -> list[tuple[str, Channel]]:
    """The running channel of every platform the config enables, by platform name."""
    channels = []
    for platform in config.platforms:
        settings = config.settings_for(platform)
        if platform.channel is not None and platform.enabled(settings):
            channels.append((platform.name, platform.channel(app, settings)))
    return channels


def _web(config: Config, app: Candor) -> list[tuple[str, Channel]]:
    """The web server, when `[web] enabled` asks `candor run` to serve it too."""
    if not config.web.enabled:
        return []
    from adapters.web.server import WebServer

    agents = [agent.name for agent in config.desk.agents]
    return [
        (
            "web",
            WebServer(
                app.store,
                config.web,
                config.bot.company,
                agents,
                languages=config.bot.languages,
                knowledge=config.knowledge.directory,
            ),
        )
    ]


async def _serve_web(config: Config) -> int:
    """`candor web`: the web pages alone, on the store the config names, until a
    signal stops it."""
    import signal

    from adapters.web.server import WebServer
    from bot.store import open_store

    store = open_store(config)
    await store.open()
    try:
        agents = [agent.name for agent in config.desk.agents]
        server = WebServer(
            store,
            config.web,
            config.bot.company,
            agents,
            languages=config.bot.languages,
            knowledge=config.knowledge.directory,
        )
        try:
            await server.start()
        except OSError as error:
            where = f"{config.web.listen}:{config.web.port}"
            raise ConfigError(f"web: cannot listen at {where}: {error.strerror}") from error
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        logging.getLogger(__name__).info("candor web is running; Ctrl-C stops it")
        await stop.wait()
        await server.stop()
    finally:
        await store.close()
    return 0


def _anything_to_run(config: Config) -> bool:
    """Whether `candor run` has something to serve: a network channel, or the web
    pages (`[web] enabled`, alone too). If not, stderr says what to enable, and
    which commands work without."""
    if any(p.channel and p.enabled(config.settings_for(p)) for p in config.platforms):
        return True
    if config.web.enabled:
        print(
            "candor: no network channel is enabled: serving the web pages only"
            f" at {config.web.base_url()} ([web] enabled = true)",
            file=sys.stderr,
        )
        return True
    sections = " or ".join(f"[{p.name}]" for p in config.platforms if p.channel)
    print(
        f"candor: nothing to run: no network channel is enabled in the config (enable"
        f" {sections}, or [web] enabled = true for the web pages). Without one:"
        " `candor chat` (the terminal chat), `candor desk` (the agents' desk in a"
        " terminal), `candor web` (the status page and the dashboard).",
        file=sys.stderr,
    )
    return False


def _channels(config: Config, app: Candor) -> list[Channel]:
    """The running channel of every platform the config enables."""
    return [channel for _, channel in _named_channels(config, app)]


async def _run(config: Config) -> int:
    import gc
    import signal

    from bot.app import Candor
    from bot.channels import Channels
    from bot.store.postgres import running_on

    # before the store opens (and logs its migrations): nothing to run, nothing opened
    if not _anything_to_run(config):
        return EXIT_USAGE
    async with Candor(config) as app, running_on(app.store):
        named = _named_channels(config, app) + _web(config, app)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # The knowledge index and everything else made at start lives as long as the
        # process: leave it out of the garbage collector's full sweeps (pauses of
        # 10-20 ms with every turn waiting).
        gc.freeze()
        app.start_background(desk=True)
        # each on its own: one that cannot be reached is started again in the background
        # while the others serve; a refused token raises (ChannelRefused), here or later
        channels = Channels(named)
        await channels.start()
        logging.getLogger(__name__).info(
            "%s; Ctrl-C stops it", _running(config, named, channels.running)
        )
        refused = channels.refused
        assert refused is not None
        stopping = asyncio.ensure_future(stop.wait())
        either: list[asyncio.Future[Any]] = [stopping, refused]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        await channels.stop()
        if refused.done():
            raise refused.result()
    return 0


def _running(config: Config, named: list[tuple[str, Channel]], running: set[str]) -> str:
    """What runs and where the desk is: "candor is running: telegram, slack (desk:
    telegram -100123, slack C0TRIAGE)". Ids only: no customer's words or names."""
    names = [name for name, _ in named]
    started = [name for name in names if name in running]
    waiting = [
        f"{name} (starting again in the background)" for name in names if name not in started
    ]
    desks = ", ".join(f"{a.channel} {a.chat_id}" for a in config.desk_addresses()) or "none"
    return f"candor is running: {', '.join(started + waiting)} (desk: {desks})"


def _language(given: str) -> str:
    """A language named on the command line, as the knowledge folders name it."""
    from bot.knowledge.articles import LANGUAGE_CODES

    folded = given.strip().lower()
    if folded not in LANGUAGE_CODES:
        raise ConfigError(f"unknown language {given!r}: give a two-letter ISO 639-1 code (de, fr)")
    return folded


def _kb_languages(given: str | None, config: Config | None) -> list[str]:
    """The languages `kb check` expects every article in: --languages, else the
    config's `[bot] languages` (when the config has the key), else English."""
    if given is not None:
        return ["en", *(_language(c) for c in given.split(",") if c.strip())]
    configured = getattr(getattr(config, "bot", None), "languages", None)
    if isinstance(configured, list | tuple) and all(isinstance(c, str) for c in configured):
        return ["en", *(c.strip().lower() for c in configured)]
    return ["en"]


def _kb(args: argparse.Namespace) -> int:
    from bot.knowledge import KnowledgeBase, Semantic, Thresholds
    from bot.knowledge.tools import kb_ask, kb_check, kb_eval

    semantic: Semantic = "off"
    thresholds = Thresholds.measured(semantic)
    directory: Path | None = args.knowledge
    config: Config | None = None
    if directory is None or args.config is not None:
        config = config_module.load(args.config, secrets=False)
        semantic = config.knowledge.semantic
        thresholds = Thresholds.measured(semantic, **config.knowledge.thresholds())
        directory = directory or config.knowledge.directory
    # A folder or file named on the command line that is not there is a usage
    # error (exit 2), for every kb command alike; a broken article or line is not.
    if not directory.is_dir():
        raise ConfigError(f"the knowledge folder {directory} does not exist")
    if args.kb_command == "check":
        return kb_check(directory, languages=_kb_languages(args.languages, config))
    if args.kb_command == "drafts":
        return _kb_drafts(directory, args, config)
    if args.kb_command == "eval" and not args.file.is_file():
        raise ConfigError(f"cannot read {args.file}: no such file")
    kb = KnowledgeBase.load(directory, thresholds, semantic)
    if args.kb_command == "ask":
        return kb_ask(kb, args.question, args.json, language=_language(args.language))
    try:
        return kb_eval(kb, args.file, args.json)
    except BrokenPipeError:
        raise
    except OSError as error:
        raise ConfigError(f"cannot read {args.file}: {error.strerror}") from error
    except ValueError as error:
        print(f"candor: {error}", file=sys.stderr)
    return 1


def _kb_drafts(directory: Path, args: argparse.Namespace, config: Config | None) -> int:
    """`candor kb drafts`: with a config (--config, or the default one when no
    --knowledge is given), the customers' messages are read from its database,
    read-only as `candor report` does; without one the drafts are listed uncounted."""
    from bot.knowledge.drafts import load_drafts
    from bot.knowledge.tools import kb_drafts
    from bot.report import parse_since

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as error:
        raise ConfigError(str(error)) from error
    if not load_drafts(directory)[0]:  # nothing to count: the database is not read
        return kb_drafts(directory, (), args.json)
    if config is None:
        print("candor: no --config: the drafts are listed without counts", file=sys.stderr)
        return kb_drafts(directory, None, args.json)
    try:
        events = asyncio.run(_all_events(config.storage.url or config.storage.path, since))
    except FileNotFoundError as error:
        print(f"candor: {error}: the drafts are listed without counts", file=sys.stderr)
        return kb_drafts(directory, None, args.json)
    return kb_drafts(directory, events, args.json)


async def _all_events(db: Path | str, since: datetime | None) -> Sequence[Event]:
    """Every case's events (from `since` on), from the database opened read-only (as
    bot/report.py)."""
    from datetime import UTC, datetime

    from bot.report import read_data, read_only

    async with read_only(db) as store:
        return (await read_data(store, since, datetime.now(UTC))).events


def _database_url(value: str, where: str = "--to") -> str:
    """A PostgreSQL URL given on the command line, or "env:NAME" for the one in that
    environment variable; `ConfigError` (never showing the value: it may hold a
    password) if it is none."""
    if config_module.unread(value):
        name = value[len(config_module.ENV) :]
        if name not in os.environ:
            raise ConfigError(f"{where}: the environment variable {name} is not set")
        value = os.environ[name]
    url = value.strip()
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"{where}: not a PostgreSQL URL (postgresql://user:password@host:5432/candor,"
            ' or "env:NAME" to read it from the environment variable NAME)'
        )
    return url


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "kb":
            return _kb(args)
        if args.command == "doctor":
            from bot.doctor import doctor_command, quiet_libraries

            with quiet_libraries():  # what the libraries log is in the findings
                return asyncio.run(doctor_command(args.config, args.json, sys.stdout))
        if args.command == "db" and args.db_command == "copy":
            from bot.store.copy import copy

            copied = asyncio.run(copy(args.source, _database_url(args.target)))
            print(copied.report())
            return 0
        # Only `candor run` talks to the platforms: the others need none of their secrets.
        config = config_module.load(args.config, secrets=args.command == "run")
        if args.command == "report":
            from bot.report import report_command

            try:
                return asyncio.run(
                    report_command(
                        config.storage.url or config.storage.path,
                        args.since,
                        args.json,
                        sys.stdout,
                        until=args.until,
                        csv_to=args.csv,
                    )
                )
            except ValueError as error:
                raise ConfigError(str(error)) from error
            except FileNotFoundError as error:
                print(f"candor: {error}", file=sys.stderr)
                return 1
            except OSError as error:  # the terminal's or pipe's end: a full disk, a closed pipe
                print(f"candor: cannot print the report ({error.strerror})", file=sys.stderr)
                return 1
        if args.command == "db":  # `candor db migrate`
            from bot.store.migrate import migrate

            print(asyncio.run(migrate(config)))
            return 0
        if args.command == "web":
            _setup_logging(config, terminal=True)
            return asyncio.run(_serve_web(config))
        if args.command == "chat":
            _setup_logging(config, terminal=False)
            name = args.name if args.name is not None else getpass.getuser()
            name = " ".join(name.split())
            if not name or len(name) > 64:
                raise ConfigError("--as NAME: give a name of 1 to 64 characters")
            return asyncio.run(_chat(config, name))
        if args.command == "desk":
            from adapters.console.desk import agent_name

            _setup_logging(config, terminal=False)
            return asyncio.run(_desk(config, agent_name(config, args.name)))
        _setup_logging(config, terminal=True)
        from bot.store.sqlite.sender import sole_sender

        if config.storage.url:  # PostgreSQL: several `candor run` share it (PostgresStore.running)
            return asyncio.run(_run(config))
        with sole_sender(config.storage.path):  # one `candor run` per database
            return asyncio.run(_run(config))
    except ConfigError as error:
        print(f"candor: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, RuntimeError) as error:
        print(f"candor: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `candor kb eval ... | head`: the reader has gone
        sys.stderr.close()
        return 141


if __name__ == "__main__":
    sys.exit(main())
