"""What each text check costs on the worst 40,000-character messages (Slack's limit).

Every check the core runs on a customer's words (the signals, command parsing,
cleaning and escaping, the knowledge matcher), the renderers the adapters run on
the way out, and a whole turn through the engine (a new customer's message, the
store included) are timed on pathological inputs: long runs of one character,
alternations of two, punctuation runs, repeated words and near-matches of each
pattern. Run it from the root of a tree to compare two versions:

    .venv/bin/python benchmarks/text_checks_bench.py [--length 40000] [--timeout 20]

Each check runs in a child process, one input at a time, best of `--repeat` runs;
a call still busy after `--timeout` seconds is stopped and shown as "> N s" (on
an old tree a single regular expression can take minutes). It prints, per check,
the slowest input and its time, and the median over the inputs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def inputs(n: int) -> dict[str, str]:
    """Pathological texts of `n` characters (near enough), by name."""

    def fill(unit: str, head: str = "", tail: str = "") -> str:
        body = n - len(head) - len(tail)
        return head + (unit * (body // len(unit) + 1))[:body] + tail

    return {
        "hi + dots + x": fill(".", "hi", "x"),
        "hi + spaces + x": fill(" ", "hi", "x"),
        "hi + !, + x": fill("!,", "hi", "x"),
        "h + i-run + x": fill("i", "h", "x"),
        "spaces": fill(" "),
        "newlines": fill("\n"),
        "dots": fill("."),
        "a-run": fill("a"),
        "ab alternation": fill("ab"),
        "a-space alternation": fill("a "),
        "no + spaces + x": fill(" ", "no", "x"),
        "no, runs": fill(", ", "no", "x"),
        "talk to + a a a": fill("a ", "talk to ", "x"),
        "i want the the the": fill("the ", "i want ", "x"),
        "person + spaces + x": fill(" ", "person", "x"),
        "never talk to a person": fill("never talk to a person "),
        "not useless": fill("not useless "),
        "is it useless?": fill("is it useless? "),
        "still again": fill("still again "),
        "it was it was": fill("it was "),
        "what a what a": fill("what a "),
        "how + dots": fill(".", "", "how"),
        "repeated word": fill("price "),
        "stars": fill("*"),
        "bold openers": fill("**a"),
        "underscores": fill("_a"),
        "backticks": fill("`a"),
        "backslashes": fill("\\"),
        "hashes": fill("#"),
        "link openers": fill("[a](https://"),
        "angle brackets": fill("<!channel> "),
        "dashes at line starts": fill("-\n"),
        "slash words": fill("/a "),
        "command + letters": fill("a", "/"),
        "command@ + letters + !": fill("a", "/ab@", "!"),
        "apostrophes": fill("'"),
    }


def checks() -> dict[str, Callable[[str], Any]]:
    """Every text check, by name, from whatever tree this runs in."""
    from adapters.markdown import split, to_plain, to_slack_mrkdwn, to_telegram_html
    from bot import signals
    from bot.knowledge import KnowledgeBase
    from bot.text import clean, md_escape, parse_command, shorten

    kb = KnowledgeBase.load(ROOT / "knowledge")
    found: dict[str, Callable[[str], Any]] = {
        "is_greeting": signals.is_greeting,
        "wants_person": signals.wants_person,
        "not_helpful": signals.not_helpful,
        "not_solved": signals.not_solved,
        "frustrated": signals.frustrated,
        "looks_like_question": signals.looks_like_question,
        "shouting": signals.shouting,
        "clean": clean,
        "parse_command": parse_command,
        "md_escape": md_escape,
        "shorten": shorten,
        "knowledge rank": lambda text: kb.rank(text),  # decide() without its cache
        "to_slack_mrkdwn(md_escape)": lambda text: to_slack_mrkdwn(md_escape(text)),
        "to_telegram_html(md_escape)": lambda text: to_telegram_html(md_escape(text)),
        "to_plain(md_escape)": lambda text: to_plain(md_escape(text)),
        "split(md_escape)": lambda text: split(md_escape(text), 2900),
    }
    try:
        from adapters.slack.send import blocks_for

        found["slack blocks_for(md_escape)"] = lambda text: blocks_for(md_escape(text), ())
    except ImportError:
        pass
    return found


class TurnRunner:
    """A whole turn: a new customer's message through the engine and the store."""

    def __init__(self) -> None:
        from bot import config as config_module
        from bot.app import Candor

        self.folder = tempfile.mkdtemp(prefix="candor-text-bench-")
        path = Path(self.folder) / "config.toml"
        path.write_text(
            textwrap.dedent(
                f"""
                [storage]
                path = "{Path(self.folder) / "candor.sqlite3"}"
                [knowledge]
                directory = "{ROOT / "knowledge"}"
                reload_seconds = 0
                [logging]
                file = "{Path(self.folder) / "candor.log"}"
                """
            ),
            encoding="utf-8",
        )
        self.loop = asyncio.new_event_loop()
        self.app = Candor(config_module.load(path))
        self.loop.run_until_complete(self.app.__aenter__())
        self.turns = 0

    def __call__(self, text: str) -> None:
        from bot.model import Address, Identity, Inbound, InboundKind

        self.turns += 1
        user = f"u{self.turns}"
        inbound = Inbound(
            f"m{self.turns}",
            Identity("bench", "w", user),
            Address("bench", user),
            InboundKind.MESSAGE,
            text=text,
            display_name=f"Customer {self.turns}",
        )
        self.loop.run_until_complete(self.app.engine.receive(inbound))


def worker(name: str, repeat: int, pipe: Connection) -> None:
    check = TurnRunner() if name == "a whole turn" else checks()[name]
    pipe.send("ready")
    while True:
        text = pipe.recv()
        if text is None:
            os._exit(0)  # the turn's store threads need not be waited for
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            check(text)
            best = min(best, time.perf_counter() - start)
        pipe.send(best)


def measure(name: str, texts: dict[str, str], repeat: int, timeout: float) -> dict[str, float]:
    """Seconds per input (inf: stopped after `timeout`)."""
    context = multiprocessing.get_context("spawn")
    times: dict[str, float] = {}
    process = None
    pipe: Connection | None = None
    for label, text in texts.items():
        if process is None:
            pipe, child = context.Pipe()
            process = context.Process(target=worker, args=(name, repeat, child), daemon=True)
            process.start()
            pipe.recv()
        assert pipe is not None
        pipe.send(text)
        if pipe.poll(timeout * repeat):
            times[label] = pipe.recv()
        else:
            times[label] = float("inf")
            process.kill()
            process.join()
            process = None
    if process is not None and pipe is not None:
        pipe.send(None)
        process.join()
    return times


def shown(seconds: float, timeout: float) -> str:
    if seconds == float("inf"):
        return f"> {timeout:g} s"
    return f"{seconds * 1000:,.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--length", type=int, default=40_000)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="run only the checks whose name contains this")
    parser.add_argument("--all", action="store_true", help="print every input's time")
    args = parser.parse_args()
    texts = inputs(args.length)
    names = [*checks(), "a whole turn"]
    if args.only:
        names = [name for name in names if args.only in name]
    print(f"{len(texts)} inputs of {args.length:,} characters; best of {args.repeat};")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'check':30} {'slowest input':26} {'its time':>12} {'median':>12}")
    for name in names:
        times = measure(name, texts, args.repeat, args.timeout)
        worst = max(times, key=lambda label: times[label])
        middle = statistics.median(times.values())
        print(
            f"{name:30} {worst:26} {shown(times[worst], args.timeout):>12}"
            f" {shown(middle, args.timeout):>12}",
            flush=True,
        )
        if args.all:
            for label, seconds in times.items():
                print(f"    {label:26} {shown(seconds, args.timeout):>12}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
