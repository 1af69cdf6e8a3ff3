"""Benchmark an outage burst on Telegram: N customers each write one message within a
few seconds, against the fake Bot API (tests/fakes/telegram.py) on 127.0.0.1.

Candor runs in-process with its Telegram channel (its own getUpdates loop, which
confirms an update only after it is committed) and Telegram's real pacing: one
message a second per chat, `overall_per_second` overall (30 on Telegram), 20 a
minute per group. A task pushes the N updates at a steady rate over the window.

Measured:

- acknowledged: when `confirmed_offset` passed the last update and nothing was
  queued at the fake any more; ack latency per update (push to confirmation,
  sampled every few milliseconds) and the largest backlog;
- answered: when every customer's chat got a successful sendMessage; reply latency;
  then when the outbox had nothing pending (some answers are two messages);
- pacing: the most messages in any 1-second window (sliding, by when the fake
  received each call: `Call.at`, taken once the request was read) against the
  configured overall rate, the sustained rate, and the shortest gap between two
  messages to one chat;
- memory: RSS before the burst, the largest RSS sampled during it, after it, and
  the process's peak (getrusage). The fake runs in the same process and keeps every
  call and message, so these include its share;
- the outbox rows' states in the SQLite file, and updates and replies lost.

Telegram's real 30 messages a second means 10,000 replies take at least 333 s;
`--overall-per-second` raises the bot's rate (the fake has no limit) to show the
pipeline's own capacity. Run from the repository root:

    .venv/bin/python benchmarks/burst_bench.py [--customers 10000] [--window 10]
        [--overall-per-second 30] [--quick]

`--quick`: 1,000 customers, a 5-second window, 200 messages a second.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import logging
import math
import os
import platform
import random
import shlex
import sqlite3
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from measure import mib, peak_rss_bytes, percentile, rss_bytes  # noqa: E402

from adapters.telegram.channel import TelegramChannel  # noqa: E402
from bot import config as config_module  # noqa: E402
from bot.app import Candor  # noqa: E402
from bot.config import Config  # noqa: E402
from tests.fakes.telegram import Call, FakeTelegram  # noqa: E402

EVAL = ROOT / "tests" / "data" / "knowledge_eval.jsonl"
KNOWLEDGE = ROOT / "knowledge"
TOKEN = "123456:BENCH-token"
SEED = 20261123
FIRST_USER = 10_000_000
SAMPLE_SECONDS = 0.005  # how often the monitor looks at the fake
PER_CHAT_INTERVAL = 1.0
GROUP_PER_MINUTE = 20


def say(text: str = "") -> None:
    print(text, flush=True)


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {percentile(values, 50):.3f} s, p90 {percentile(values, 90):.3f} s, "
        f"p99 {percentile(values, 99):.3f} s, max {max(values):.3f} s"
    )


def load_questions() -> list[str]:
    with EVAL.open(encoding="utf-8") as lines:
        texts = [str(json.loads(line)["text"]) for line in lines if line.strip()]
    random.Random(SEED).shuffle(texts)
    return texts


def make_config(folder: Path, fake: FakeTelegram, overall_per_second: float) -> Config:
    text = textwrap.dedent(
        f"""
        [bot]
        name = "Candor"
        company = "Northwind Cloud"
        [storage]
        path = "{folder / "candor.sqlite3"}"
        [knowledge]
        directory = "{KNOWLEDGE}"
        reload_seconds = 0
        [desk]
        channels = ["console"]
        agents = [{{ name = "Maria", console = "maria" }}]
        [telegram]
        enabled = true
        token = "{TOKEN}"
        api_base_url = "{fake.base_url}"
        file_base_url = "{fake.base_file_url}"
        mode = "polling"
        poll_timeout_seconds = 1
        per_chat_interval_seconds = {PER_CHAT_INTERVAL}
        overall_per_second = {overall_per_second}
        group_per_minute = {GROUP_PER_MINUTE}
        [logging]
        file = "{folder / "candor.log"}"
        """
    )
    return config_module.parse(text, folder / "config.toml")


class CountingHandler(logging.Handler):
    """Counts warnings and errors the bot logged (the full log goes to a file)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] = self.counts.get(record.levelname, 0) + 1
        if len(self.first) < 5:
            self.first.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")


def setup_logging(folder: Path) -> CountingHandler:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    to_file = logging.FileHandler(folder / "candor.log", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    counting = CountingHandler()
    root.addHandler(to_file)
    root.addHandler(counting)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return counting


@dataclass
class Burst:
    """What the pusher and the monitor saw, all times from time.monotonic(); a call's
    time is when the fake had read the request (`Call.at`)."""

    customers: int
    pushed_at: list[float] = field(default_factory=list)  # by customer index
    update_ids: list[int] = field(default_factory=list)
    push_start: float = 0.0
    push_end: float = 0.0
    acked_at: dict[int, float] = field(default_factory=dict)  # update id -> confirmed
    all_acked_at: float | None = None
    max_backlog: int = 0
    sends: list[Call] = field(default_factory=list)  # successful sendMessage calls
    failed_sends: int = 0
    other_calls: dict[str, int] = field(default_factory=dict)
    first_reply: dict[int, float] = field(default_factory=dict)  # chat id -> first reply
    all_answered_at: float | None = None
    drained_at: float | None = None  # no telegram row pending in the outbox
    max_rss: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def push_burst(fake: FakeTelegram, burst: Burst, window: float, questions: list[str]) -> None:
    """Push update i at push_start + i * window / N (catching up if behind)."""
    n = burst.customers
    burst.push_start = start = time.monotonic()
    i = 0
    while i < n:
        elapsed = time.monotonic() - start
        due = n if window <= 0 else min(n, math.floor(elapsed / window * n) + 1)
        while i < due:
            user = FIRST_USER + i
            update = fake.push_message(
                user, questions[i % len(questions)], first_name=f"Customer{i}"
            )
            burst.pushed_at.append(time.monotonic())
            burst.update_ids.append(int(update["update_id"]))
            i += 1
        if i < n:
            await asyncio.sleep(min(0.002, max(0.0, start + i * window / n - time.monotonic())))
    burst.push_end = time.monotonic()


async def monitor(fake: FakeTelegram, burst: Burst) -> None:
    """Follow confirmations and sendMessage calls until every customer is answered."""
    seen_calls = 0
    ack_index = 0  # customers up to here are confirmed
    n = burst.customers
    while True:
        now = time.monotonic()
        pushed = len(burst.update_ids)
        offset = fake.confirmed_offset or 0
        while ack_index < pushed and burst.update_ids[ack_index] < offset:
            burst.acked_at[burst.update_ids[ack_index]] = now
            ack_index += 1
        burst.max_backlog = max(burst.max_backlog, pushed - ack_index)
        if burst.all_acked_at is None and ack_index == n and not fake.updates:
            burst.all_acked_at = now
        calls = fake.calls
        while seen_calls < len(calls):
            call = calls[seen_calls]
            seen_calls += 1
            if call.method != "sendMessage":
                burst.other_calls[call.method] = burst.other_calls.get(call.method, 0) + 1
                continue
            if call.failed:
                burst.failed_sends += 1
                continue
            chat = int(call.params["chat_id"])
            burst.sends.append(call)
            burst.first_reply.setdefault(chat, call.at)
        if burst.all_answered_at is None and len(burst.first_reply) >= n:
            burst.all_answered_at = max(burst.first_reply.values())
        burst.max_rss = max(burst.max_rss, rss_bytes())
        if burst.all_acked_at is not None and burst.all_answered_at is not None:
            burst.done.set()  # keeps watching: later messages still count for pacing
        await asyncio.sleep(SAMPLE_SECONDS)


async def drained(app: Candor) -> None:
    """Return once no Telegram message is pending in the outbox."""
    pending = await app.outbox.pending_count("telegram")
    while pending:
        await asyncio.sleep(0.1)
        pending = await app.outbox.pending_count("telegram")


async def progress(burst: Burst, every: float) -> None:
    start = time.monotonic()
    while True:
        await asyncio.sleep(every)
        say(
            f"  t={time.monotonic() - start:6.1f} s  pushed {len(burst.update_ids):>6}"
            f"  acknowledged {len(burst.acked_at):>6}  answered {len(burst.first_reply):>6}"
            f"  rss {mib(rss_bytes())}"
        )


def max_in_window(times: list[float], width: float) -> int:
    """The most events in any half-open window [t, t + width) (sliding)."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect.bisect_left(times, t + width, lo=i) - i)
    return best


def outbox_report(path: Path) -> tuple[dict[str, int], int, int]:
    """Outbox states (telegram rows), inbound rows committed, customers stored."""
    db = sqlite3.connect(path)
    try:
        states = dict(
            db.execute(
                "SELECT state, count(*) FROM outbox WHERE channel = 'telegram' GROUP BY state"
            ).fetchall()
        )
        inbound = db.execute(
            "SELECT count(*) FROM inbound_seen WHERE channel = 'telegram'"
        ).fetchone()[0]
        customers = db.execute("SELECT count(*) FROM customers").fetchone()[0]
    finally:
        db.close()
    return states, int(inbound), int(customers)


def versions() -> str:
    parts = [f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    for name in ("candor-support", "python-telegram-bot", "aiolimiter", "aiohttp", "aiosqlite"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} ?")
    return ", ".join(parts)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


async def run(customers: int, window: float, rate: float, give_up_after: float) -> bool:
    questions = load_questions()
    with tempfile.TemporaryDirectory(prefix="candor-burst-") as tmp:
        folder = Path(tmp)
        counting = setup_logging(folder)
        async with FakeTelegram(TOKEN) as fake:
            config = make_config(folder, fake, rate)
            async with Candor(config) as app:
                channel = TelegramChannel(app, config.telegram)
                app.start_background(desk=True)
                await channel.start()
                await asyncio.sleep(0.5)  # setMyCommands, deleteWebhook, first long poll
                rss_before = rss_bytes()
                burst = Burst(customers)
                say(
                    f"pushing {customers} updates over {window:g} s "
                    f"({customers / window if window > 0 else math.inf:.0f} a second) ..."
                )
                tasks = [
                    asyncio.create_task(monitor(fake, burst)),
                    asyncio.create_task(progress(burst, 5.0 if customers > 2000 else 2.0)),
                ]
                await push_burst(fake, burst, window, questions)
                finished = True
                try:
                    async with asyncio.timeout(give_up_after):
                        await burst.done.wait()
                        # a customer's second message may still be waiting its turn
                        await drained(app)
                        burst.drained_at = time.monotonic()
                except TimeoutError:
                    finished = False
                    say(f"  gave up waiting after {give_up_after:.0f} s")
                await asyncio.sleep(10 * SAMPLE_SECONDS)  # the monitor sees the last calls
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                rss_after = rss_bytes()
                await channel.stop()
            states, inbound, stored_customers = outbox_report(folder / "candor.sqlite3")
        return report(
            burst,
            finished=finished,
            window=window,
            rate=rate,
            rss_before=rss_before,
            rss_after=rss_after,
            states=states,
            inbound=inbound,
            stored_customers=stored_customers,
            counting=counting,
        )


def report(
    burst: Burst,
    *,
    finished: bool,
    window: float,
    rate: float,
    rss_before: int,
    rss_after: int,
    states: dict[str, int],
    inbound: int,
    stored_customers: int,
    counting: CountingHandler,
) -> bool:
    n = burst.customers
    start = burst.push_start
    say()
    say("== pushing")
    push_seconds = burst.push_end - start
    say(f"pushed {len(burst.update_ids)} updates in {push_seconds:.2f} s")

    say()
    say("== acknowledged (getUpdates offset confirmed after commit)")
    ack_lags = [
        burst.acked_at[uid] - burst.pushed_at[i]
        for i, uid in enumerate(burst.update_ids)
        if uid in burst.acked_at
    ]
    acked_all = burst.all_acked_at is not None and len(burst.acked_at) == n
    if burst.all_acked_at is not None:
        ack_seconds = burst.all_acked_at - start
        say(f"all {n} acknowledged {ack_seconds:.2f} s after the first push")
        say(
            f"commit throughput: {n / ack_seconds:.0f} updates/s over the burst "
            f"(offered {n / push_seconds if push_seconds > 0 else math.inf:.0f}/s)"
        )
    else:
        say(f"NOT all acknowledged: {len(burst.acked_at)} of {n}")
    ack_times = sorted(burst.acked_at.values())
    say(
        f"most updates acknowledged in any 1-s window: {max_in_window(ack_times, 1.0)} "
        f"(sampled every {SAMPLE_SECONDS * 1000:g} ms)"
    )
    say(f"push-to-ack latency: {spread(ack_lags)}")
    say(f"largest backlog (pushed, not yet confirmed): {burst.max_backlog}")
    say(f"committed inbound rows (inbound_seen): {inbound}; customers stored: {stored_customers}")

    say()
    say("== answered")
    min_seconds = n / rate
    say(
        f"overall rate used: {rate:g} messages/s"
        + (" (Telegram's real limit)" if rate == 30 else " (raised; Telegram allows 30)")
    )
    say(f"theoretical minimum for {n} replies at {rate:g}/s: {min_seconds:.1f} s")
    answered = len(burst.first_reply)
    answered_all = answered >= n and all(FIRST_USER + i in burst.first_reply for i in range(n))
    if burst.all_answered_at is not None:
        answer_seconds = burst.all_answered_at - start
        say(
            f"all {n} answered {answer_seconds:.2f} s after the first push "
            f"({answer_seconds / min_seconds:.2f}x the minimum; "
            f"{n / answer_seconds:.1f} customers answered/s)"
        )
    else:
        say(f"NOT all answered: {answered} of {n}")
    reply_lags = [
        burst.first_reply[FIRST_USER + i] - burst.pushed_at[i]
        for i in range(len(burst.pushed_at))
        if FIRST_USER + i in burst.first_reply
    ]
    say(f"push-to-first-reply latency: {spread(reply_lags)}")
    if burst.drained_at is not None:
        say(
            f"outbox empty (every message delivered) {burst.drained_at - start:.2f} s"
            " after the first push"
        )
    else:
        say("outbox NOT empty at the end")
    say(
        f"sendMessage calls: {len(burst.sends)} ok, {burst.failed_sends} refused; "
        f"other calls: {dict(sorted(burst.other_calls.items()))}"
    )

    say()
    say("== pacing")
    times = sorted(call.at for call in burst.sends)
    peak_1s = max_in_window(times, 1.0)
    sustained = ""
    if times and times[-1] - times[0] >= 10:
        sustained = f"; most in any 10-s window / 10: {max_in_window(times, 10.0) / 10:.1f}/s"
    average = len(times) / (times[-1] - times[0]) if len(times) > 1 else math.nan
    say(
        f"most messages in any 1-s window: {peak_1s} (configured {rate:g}/s); "
        f"average {average:.1f}/s from first to last{sustained}"
    )
    by_chat: dict[int, list[float]] = {}
    texts: dict[int, list[str]] = {}
    for call in burst.sends:
        chat = int(call.params["chat_id"])
        by_chat.setdefault(chat, []).append(call.at)
        texts.setdefault(chat, []).append(" ".join(str(call.params.get("text", "")).split()))
    gaps = [b - a for ats in by_chat.values() for a, b in itertools.pairwise(ats)]
    several = sum(1 for ats in by_chat.values() if len(ats) > 1)
    too_close = sum(1 for g in gaps if g < PER_CHAT_INTERVAL)
    say(
        f"chats with more than one message: {several}; "
        f"shortest gap within a chat: {f'{min(gaps):.3f} s' if gaps else 'n/a'}; "
        f"gaps under {PER_CHAT_INTERVAL:g} s: {too_close}"
    )
    if gaps:
        say(
            "gaps within a chat: "
            + ", ".join(
                f"under {limit:g} s: {sum(1 for g in gaps if g < limit)}"
                for limit in (0.1, 0.5, 0.9, 0.99, 1.0)
            )
            + " (times are when the fake received each call)"
        )
    per_chat = Counter(len(ats) for ats in by_chat.values())
    say(f"chats by number of messages: {dict(sorted(per_chat.items()))}")
    close = [
        chat
        for chat, ats in by_chat.items()
        if any(b - a < PER_CHAT_INTERVAL for a, b in itertools.pairwise(ats))
    ]
    for chat in close[:2]:
        ats = by_chat[chat]
        say(f"  e.g. chat {chat}: received at +{ats[0] - start:.3f} s and +{ats[1] - start:.3f} s")
        for text in texts[chat][:2]:
            say(f"    {text[:100]!r}")

    say()
    say("== memory (the in-process fake's calls and messages included)")
    peak = peak_rss_bytes()
    say(
        f"RSS before the burst {mib(rss_before)}, largest sampled {mib(burst.max_rss)}, "
        f"after {mib(rss_after)}; process peak (getrusage) {mib(peak)}"
    )
    say(f"growth per customer: {(burst.max_rss - rss_before) / n / 1024:.1f} KiB")

    say()
    say("== outbox and loss")
    say(f"outbox rows (telegram): {dict(sorted(states.items()))}")
    lost_updates = n - min(n, len(burst.acked_at), inbound)
    lost_replies = n - answered
    outbox_clean = states.get("failed", 0) == 0 and states.get("pending", 0) == 0
    say(f"updates lost: {lost_updates}; customers without a reply: {lost_replies}")
    if counting.counts:
        say(f"bot warnings/errors logged: {counting.counts}")
        for line in counting.first:
            say(f"  {line}")
    else:
        say("bot warnings/errors logged: none")

    within_rate = peak_1s <= rate
    paced = too_close == 0
    nothing_lost = lost_updates == 0 and lost_replies == 0 and outbox_clean

    def yes(value: bool) -> str:
        return "yes" if value else "NO"

    say()
    say("== verdict")
    say(f"acknowledged all:        {yes(acked_all)}")
    say(f"answered all:            {yes(answered_all)}")
    say(f"within overall rate:     {yes(within_rate)} (max {peak_1s} in 1 s, limit {rate:g})")
    say(f"per-chat pacing held:    {yes(paced)} (gaps under {PER_CHAT_INTERVAL:g} s: {too_close})")
    say(
        f"nothing lost:            {yes(nothing_lost)} (updates {lost_updates}, replies "
        f"{lost_replies}, outbox {dict(sorted(states.items()))})"
    )
    say(f"peak RSS:                {mib(peak)} (before the burst {mib(rss_before)})")
    say(f"finished in time:        {yes(finished)}")
    return acked_all and answered_all and within_rate and paced and nothing_lost and finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds to push over")
    parser.add_argument(
        "--overall-per-second",
        type=float,
        default=30.0,
        help="the bot's overall sending rate (Telegram's limit is 30)",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 customers, 5 s, 200/s")
    parser.add_argument(
        "--timeout", type=float, default=None, help="give up after this many seconds"
    )
    args = parser.parse_args()
    if args.quick:
        args.customers, args.window, args.overall_per_second = 1000, 5.0, 200.0
    customers: int = args.customers
    window: float = args.window
    rate: float = args.overall_per_second
    timeout = args.timeout or window + 2 * customers / rate + 60

    say(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    say(f"versions: {versions()}")
    say(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; load average {load_average()}")
    say(
        f"burst: {customers} customers, one message each, over {window:g} s; pacing "
        f"{PER_CHAT_INTERVAL:g} s per chat, {rate:g}/s overall, {GROUP_PER_MINUTE}/min per group"
    )
    say(
        f"theoretical minimum time for the replies at {rate:g}/s: {customers / rate:.1f} s"
        + ("" if rate == 30 else f" (at Telegram's real 30/s: {customers / 30:.1f} s)")
    )
    ok = asyncio.run(run(customers, window, rate, timeout))
    say(f"load average at the end: {load_average()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
