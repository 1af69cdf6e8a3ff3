"""Benchmark Candor's engine end to end against raw SQLite in the same run.

Parts, each on a fresh database in a temporary directory:

1. Raw SQLite baseline: rows per second for one INSERT + COMMIT per row (WAL,
   synchronous=NORMAL) through plain `sqlite3`, the same through `aiosqlite`, and
   100 rows per transaction through `aiosqlite`.
2. Engine throughput: N messages from C distinct customers (customer i sends
   questions from tests/data/knowledge_eval.jsonl in a seeded order), each awaited
   until committed, with 64 in flight and with 1 in flight.
3. Latency at steady offered loads (1,000 and 2,000 msg/s by default): messages
   submitted open-loop at a fixed rate (scheduled by the clock, not by completions);
   latency is from the scheduled submit time to `receive()` returning.
4. Memory: RSS growth per customer (one message each, so one open case each).

The outbox is not delivered (no sender is registered): replies are committed rows.

Run from the repository root:

    .venv/bin/python benchmarks/engine_bench.py [--customers 10000] [--messages 20000]
        [--rate 1000 2000] [--quick] [--json] [--profile]

`--json` prints one JSON object on stdout (the plain-text figures go to stderr).
`--profile` adds a cProfile run of a small throughput part and says where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import selectors
import shlex
import sqlite3
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import aiosqlite
from measure import mib, peak_rss_bytes, percentile, rss_bytes

from bot import config as config_module
from bot.app import Candor
from bot.config import Config
from bot.knowledge import KnowledgeBase
from bot.model import Address, Identity, Inbound, InboundKind
from bot.store import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "knowledge_eval.jsonl"
KNOWLEDGE = ROOT / "knowledge"
SEED = 20261123
CONCURRENCY = 64
BATCH = 100  # rows per transaction in baseline (c)
LATENCY_SECONDS = 5.0
P99_TARGET_MS = 50.0  # issue 8: p99 under 50 ms at 2,000 msg/s
QUICK_LATENCY_SECONDS = 2.0
PROFILE_MESSAGES = 2000
SPLIT_MESSAGES = 5000

OUT = sys.stdout


def say(text: str = "") -> None:
    print(text, file=OUT, flush=True)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- helpers -------------------------------------------------------------------------------


def load_questions() -> list[str]:
    texts = []
    with EVAL.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                texts.append(str(json.loads(line)["text"]))
    random.Random(SEED).shuffle(texts)
    return texts


def make_config(folder: Path) -> Config:
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
        agents = [{{ name = "Maria", console = "maria" }}]
        [logging]
        file = "{folder / "candor.log"}"
        """
    )
    return config_module.parse(text, folder / "config.toml")


@dataclass(frozen=True)
class Workload:
    """Message m goes to customer m % customers; its round is m // customers."""

    customers: int
    questions: list[str]
    # Each message's text made its own (" (ref m)" added), so the matcher meets every
    # one for the first time, as with real customers' wording; otherwise the 363
    # questions repeat and, after the first few hundred, their decisions are kept.
    unique: bool = False

    def inbound(self, m: int, tag: str) -> Inbound:
        customer, round_ = m % self.customers, m // self.customers
        # Consecutive rounds of one customer ask different questions (never a repeat).
        text = self.questions[(customer * 7 + round_) % len(self.questions)]
        if self.unique:
            text = f"{text} (ref {m})"
        user = f"u{customer}"
        return Inbound(
            f"{tag}-{m}",
            Identity("bench", "w", user),
            Address("bench", user),
            InboundKind.MESSAGE,
            text=text,
            display_name=f"Customer {customer}",
        )


@contextlib.asynccontextmanager
async def serving(config: Config) -> AsyncIterator[Candor]:
    """The app as `candor run` has it: started, then what it made frozen out of the
    garbage collector's full sweeps."""
    async with Candor(config) as app:
        gc.freeze()
        try:
            yield app
        finally:
            gc.unfreeze()


def table_counts(path: Path) -> dict[str, Any]:
    """What the engine committed: rows per table, outbox states, bot reply kinds."""
    db = sqlite3.connect(path)
    try:
        counts: dict[str, Any] = {
            name: db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in ("inbound_seen", "customers", "cases", "events", "outbox")
        }
        counts["outbox_states"] = dict(
            db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
        )
        counts["bot_events"] = dict(
            db.execute(
                "SELECT kind, count(*) FROM events WHERE actor = 'bot' GROUP BY kind"
                " ORDER BY count(*) DESC"
            ).fetchall()
        )
        counts["open_cases"] = db.execute(
            "SELECT count(*) FROM cases WHERE state != 'resolved'"
        ).fetchone()[0]
    finally:
        db.close()
    counts["db_bytes"] = sum(
        p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file()
    )
    return counts


@contextlib.contextmanager
def fresh_folder(name: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"candor-bench-{name}-") as folder:
        yield Path(folder)


# -- part 1: raw SQLite --------------------------------------------------------------------

SCHEMA = "CREATE TABLE t (id INTEGER PRIMARY KEY, at REAL NOT NULL, text TEXT NOT NULL)"
INSERT = "INSERT INTO t (at, text) VALUES (?, ?)"


def raw_sqlite(path: Path, rows: int, text: str) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(SCHEMA)
    start = time.perf_counter()
    for _ in range(rows):
        db.execute("BEGIN IMMEDIATE")
        db.execute(INSERT, (time.time(), text))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return rows / elapsed


async def raw_aiosqlite(path: Path, rows: int, text: str, per_tx: int) -> float:
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute(SCHEMA)
        start = time.perf_counter()
        done = 0
        while done < rows:
            n = min(per_tx, rows - done)
            await db.execute("BEGIN IMMEDIATE")
            for _ in range(n):
                await db.execute(INSERT, (time.time(), text))
            await db.execute("COMMIT")
            done += n
        elapsed = time.perf_counter() - start
    return rows / elapsed


async def part_baseline(rows: int, text: str) -> dict[str, float]:
    result = {}
    with fresh_folder("raw") as folder:
        result["sqlite3_row_per_tx"] = raw_sqlite(folder / "a.sqlite3", rows, text)
    with fresh_folder("raw") as folder:
        result["aiosqlite_row_per_tx"] = await raw_aiosqlite(folder / "b.sqlite3", rows, text, 1)
    with fresh_folder("raw") as folder:
        result[f"aiosqlite_{BATCH}_rows_per_tx"] = await raw_aiosqlite(
            folder / "c.sqlite3", rows, text, BATCH
        )
    return result


# -- part 2: throughput --------------------------------------------------------------------


@dataclass
class Throughput:
    concurrency: int
    messages: int
    seconds: float
    per_second: float
    committed: dict[str, Any] = field(default_factory=dict)


async def run_bounded(
    app: Candor, workload: Workload, messages: int, concurrency: int, tag: str
) -> float:
    """Submit `messages` with at most `concurrency` in flight; returns the wall seconds."""
    gate = asyncio.Semaphore(concurrency)
    engine = app.engine

    async def one(m: int) -> None:
        try:
            await engine.receive(workload.inbound(m, tag))
        finally:
            gate.release()

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for m in range(messages):
            await gate.acquire()
            group.create_task(one(m))
    return time.perf_counter() - start


async def part_throughput(workload: Workload, messages: int, concurrency: int) -> Throughput:
    with fresh_folder(f"tp{concurrency}") as folder:
        config = make_config(folder)
        async with serving(config) as app:
            seconds = await run_bounded(app, workload, messages, concurrency, "tp")
        committed = table_counts(config.storage.path)
    return Throughput(concurrency, messages, seconds, messages / seconds, committed)


async def part_split(workload: Workload, messages: int) -> Split:
    with fresh_folder("split") as folder:
        config = make_config(folder)
        async with serving(config) as app:
            with measure_split() as split:
                await run_bounded(app, workload, messages, CONCURRENCY, "split")
    return split


# -- part 3: latency at a steady offered load ----------------------------------------------


@dataclass
class Latency:
    offered_rate: float
    offered_seconds: float
    messages: int
    submit_seconds: float  # when the last message was actually submitted
    finished_seconds: float  # when the last message was committed
    completed_in_window: int
    achieved_rate_in_window: float
    achieved_rate_overall: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    max_submit_lag_ms: float
    max_in_flight: int
    by_second: list[dict[str, float]]
    kept_up: bool
    # after the first second: the 363 distinct questions were each matched once by
    # then (about 0.7 ms each on the event loop), and the decisions are kept
    steady_p99_ms: float = 0.0


async def part_latency(workload: Workload, rate: float, seconds: float) -> Latency:
    total = int(rate * seconds)
    latencies = [0.0] * total
    done_at = [0.0] * total
    lag = 0.0
    in_flight = 0
    max_in_flight = 0
    with fresh_folder("lat") as folder:
        config = make_config(folder)
        async with serving(config) as app:
            engine = app.engine

            async def one(m: int, scheduled: float) -> None:
                nonlocal in_flight
                await engine.receive(workload.inbound(m, "lat"))
                now = time.perf_counter()
                latencies[m] = now - scheduled
                done_at[m] = now
                in_flight -= 1

            tasks: set[asyncio.Task[None]] = set()
            t0 = time.perf_counter() + 0.01
            m = 0
            while m < total:
                now = time.perf_counter()
                # Everything due by now is submitted at once, with its own scheduled time.
                while m < total and t0 + m / rate <= now:
                    scheduled = t0 + m / rate
                    lag = max(lag, now - scheduled)
                    task = asyncio.create_task(one(m, scheduled))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    in_flight += 1
                    m += 1
                max_in_flight = max(max_in_flight, in_flight)
                if m < total:
                    await asyncio.sleep(max(0.0, t0 + m / rate - time.perf_counter()))
            submitted = time.perf_counter() - t0
            while tasks:
                await asyncio.gather(*list(tasks))
            finished = max(done_at) - t0
    window_end = t0 + seconds
    in_window = sum(1 for d in done_at if d <= window_end)
    by_second = []
    for s in range(int(seconds + 0.999)):
        chunk = latencies[int(s * rate) : int((s + 1) * rate)]
        if chunk:
            by_second.append(
                {
                    "second": s,
                    "messages": len(chunk),
                    "p50_ms": percentile(chunk, 50) * 1000,
                    "p99_ms": percentile(chunk, 99) * 1000,
                    "max_ms": max(chunk) * 1000,
                }
            )
    rate_in_window = in_window / seconds
    return Latency(
        offered_rate=rate,
        offered_seconds=seconds,
        messages=total,
        submit_seconds=submitted,
        finished_seconds=finished,
        completed_in_window=in_window,
        achieved_rate_in_window=rate_in_window,
        achieved_rate_overall=total / finished,
        p50_ms=percentile(latencies, 50) * 1000,
        p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=max(latencies) * 1000,
        max_submit_lag_ms=lag * 1000,
        max_in_flight=max_in_flight,
        by_second=by_second,
        # Kept up: (nearly) everything offered in the window was committed in it, and the
        # last second's median latency is not far above the first second's.
        kept_up=rate_in_window >= 0.95 * rate
        and by_second[-1]["p50_ms"] <= 3 * by_second[0]["p50_ms"] + 50,
        steady_p99_ms=percentile(latencies[int(rate) :] or latencies, 99) * 1000,
    )


# -- part 4: memory ------------------------------------------------------------------------


@dataclass
class Memory:
    customers: int
    rss_before: int
    rss_after: int
    per_customer_bytes: float
    db_bytes: int
    db_bytes_per_customer: float
    open_cases: int
    objects_before: int
    objects_after: int
    peak_rss: int = 0


async def part_memory(workload: Workload) -> Memory:
    with fresh_folder("mem") as folder:
        config = make_config(folder)
        async with Candor(config) as app:
            gc.collect()
            before, objects_before = rss_bytes(), len(gc.get_objects())
            await run_bounded(app, workload, workload.customers, CONCURRENCY, "mem")
            gc.collect()
            after, objects_after = rss_bytes(), len(gc.get_objects())
        committed = table_counts(config.storage.path)
    n = workload.customers
    return Memory(
        customers=n,
        rss_before=before,
        rss_after=after,
        per_customer_bytes=(after - before) / n,
        db_bytes=committed["db_bytes"],
        db_bytes_per_customer=committed["db_bytes"] / n,
        open_cases=committed["open_cases"],
        objects_before=objects_before,
        objects_after=objects_after,
    )


# -- where the time goes -------------------------------------------------------------------


class TimedSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The event loop's selector, timing how long the loop sits idle in select()."""

    waited = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        start = time.perf_counter()
        try:
            return super().select(timeout)  # type: ignore[no-any-return]
        finally:
            TimedSelector.waited += time.perf_counter() - start


def timed_loop() -> asyncio.AbstractEventLoop:
    return asyncio.SelectorEventLoop(TimedSelector())


@dataclass
class Split:
    """Wall time of a run, split by thread and activity (measured with perf_counter)."""

    wall: float = 0.0
    decide: float = 0.0  # KnowledgeBase.decide, on the loop's thread
    loop_idle: float = 0.0  # the loop in select(): waiting for the aiosqlite thread
    sqlite_calls: int = 0  # round trips to the aiosqlite thread
    sqlite_busy: float = 0.0  # inside sqlite3 calls on the aiosqlite thread
    groups: list[int] = field(default_factory=list)  # turns per group commit

    @property
    def loop_other(self) -> float:
        return self.wall - self.decide - self.loop_idle


@contextlib.contextmanager
def measure_split() -> Iterator[Split]:
    """Time KnowledgeBase.decide, the loop's idle time and every aiosqlite round trip.
    Patches the classes for the duration (cheap: two perf_counter calls per call)."""
    split = Split()
    decide = KnowledgeBase.decide
    execute = aiosqlite.Connection._execute

    def timed_decide(self: KnowledgeBase, text: str) -> Any:
        start = time.perf_counter()
        try:
            return decide(self, text)
        finally:
            split.decide += time.perf_counter() - start

    async def timed_execute(
        self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        def run() -> Any:  # on the aiosqlite thread
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                split.sqlite_busy += time.perf_counter() - start

        split.sqlite_calls += 1
        return await execute(self, run)

    lead = SQLiteStore._lead

    async def counted_lead(self: SQLiteStore, group: Any) -> None:
        await lead(self, group)
        split.groups.append(group.joined)

    KnowledgeBase.decide = timed_decide  # type: ignore[method-assign]
    aiosqlite.Connection._execute = timed_execute  # type: ignore[method-assign]
    SQLiteStore._lead = counted_lead  # type: ignore[method-assign]
    idle = TimedSelector.waited
    start = time.perf_counter()
    try:
        yield split
    finally:
        split.wall = time.perf_counter() - start
        split.loop_idle = TimedSelector.waited - idle
        KnowledgeBase.decide = decide  # type: ignore[method-assign]
        aiosqlite.Connection._execute = execute  # type: ignore[method-assign]
        SQLiteStore._lead = lead  # type: ignore[method-assign]


async def part_profile(workload: Workload, messages: int) -> dict[str, Any]:
    """Throughput at 64 in flight under cProfile: the top functions by own time."""
    profiler = cProfile.Profile()
    with fresh_folder("prof") as folder:
        config = make_config(folder)
        async with Candor(config) as app:
            profiler.enable()
            seconds = await run_bounded(app, workload, messages, CONCURRENCY, "prof")
            profiler.disable()
    own = io.StringIO()
    pstats.Stats(profiler, stream=own).sort_stats("tottime").print_stats(20)
    cumulative = io.StringIO()
    pstats.Stats(profiler, stream=cumulative).sort_stats("cumulative").print_stats(
        r"(engine|dialog|knowledge/base|store/sqlite/\w+)\.py", 20
    )
    return {
        "messages": messages,
        "seconds": seconds,
        "top_tottime": own.getvalue().strip(),
        "top_cumulative": cumulative.getvalue().strip(),
    }


# -- report --------------------------------------------------------------------------------


def header(command: str) -> dict[str, Any]:
    return {
        "command": command,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "aiosqlite": aiosqlite.__version__,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }


def print_throughput(t: Throughput, base: dict[str, float]) -> None:
    a, b = base["sqlite3_row_per_tx"], base["aiosqlite_row_per_tx"]
    say(
        f"  concurrency {t.concurrency:>3}: {t.messages:,} messages in {t.seconds:.2f} s ="
        f" {t.per_second:,.0f} msg/s   ({t.per_second / a:.3f} x raw sqlite3,"
        f" {t.per_second / b:.3f} x raw aiosqlite, one row per commit)"
    )
    c = t.committed
    say(
        f"    committed: {c['customers']:,} customers, {c['cases']:,} cases,"
        f" {c['events']:,} events, {c['outbox']:,} outbox rows {c['outbox_states']},"
        f" db {mib(c['db_bytes'])}"
    )
    say(f"    bot replies by kind: {c['bot_events']}")


async def main_async(args: argparse.Namespace, command: str) -> dict[str, Any]:
    questions = load_questions()
    workload = Workload(args.customers, questions)
    info = header(command)
    load_start = os.getloadavg()
    say(f"command: {info['command']}")
    say(
        f"python {info['python']}, SQLite {info['sqlite']}, aiosqlite {info['aiosqlite']},"
        f" {info['machine']}"
    )
    say(f"load average at start (1/5/15 min): {' / '.join(f'{x:.2f}' for x in load_start)}")
    say(
        f"workload: {args.messages:,} messages from {args.customers:,} customers (message m from"
        f" customer m % {args.customers:,}), {len(questions)} questions from {EVAL.name}"
    )
    say()

    log("memory")
    memory = await part_memory(workload)

    log("raw SQLite baseline")
    base = await part_baseline(args.messages, questions[0])
    say(f"1. Raw SQLite baseline ({args.messages:,} rows each, WAL, synchronous=NORMAL)")
    say(f"  (a) sqlite3,   1 row per commit:    {base['sqlite3_row_per_tx']:>9,.0f} rows/s")
    say(f"  (b) aiosqlite, 1 row per commit:    {base['aiosqlite_row_per_tx']:>9,.0f} rows/s")
    say(
        f"  (c) aiosqlite, {BATCH} rows per commit:  "
        f"{base[f'aiosqlite_{BATCH}_rows_per_tx']:>9,.0f} rows/s"
    )
    say()

    say("2. Engine throughput (each message awaited until its transaction committed)")
    throughput = []
    for concurrency in (CONCURRENCY, 1):
        log(f"throughput, concurrency {concurrency}")
        t = await part_throughput(workload, args.messages, concurrency)
        throughput.append(t)
        print_throughput(t, base)
    log(f"throughput, concurrency {CONCURRENCY}, every question new")
    fresh = await part_throughput(replace(workload, unique=True), args.messages, CONCURRENCY)
    ratio = fresh.per_second / throughput[0].per_second
    say(
        f"  concurrency {CONCURRENCY}, every question new to the matcher (its text made"
        f" unique): {fresh.per_second:,.0f} msg/s, {ratio:.2f} x the above, where the 363"
        " questions repeat and their decisions are kept"
    )
    say()

    seconds = QUICK_LATENCY_SECONDS if args.quick else LATENCY_SECONDS
    latencies = []
    for rate in args.rate:
        log(f"latency at {rate:,.0f}/s")
        lat = await part_latency(workload, rate, seconds)
        latencies.append(lat)
        say(
            f"3. Latency at a steady offered load: {lat.offered_rate:,.0f} msg/s for"
            f" {lat.offered_seconds:.0f} s ({lat.messages:,} messages, open loop; latency from the"
            " scheduled submit time to receive() returning)"
        )
        say(
            f"  commit latency: p50 {lat.p50_ms:,.1f} ms, p90 {lat.p90_ms:,.1f} ms,"
            f" p99 {lat.p99_ms:,.1f} ms, max {lat.max_ms:,.1f} ms"
        )
        say(
            f"  achieved: {lat.completed_in_window:,} committed within the"
            f" {lat.offered_seconds:.0f} s window = {lat.achieved_rate_in_window:,.0f} msg/s;"
            f" all {lat.messages:,} committed"
            f" after {lat.finished_seconds:.2f} s = {lat.achieved_rate_overall:,.0f} msg/s"
        )
        say(
            f"  submitter: last submit at {lat.submit_seconds:.2f} s, max lag behind schedule"
            f" {lat.max_submit_lag_ms:,.1f} ms, up to {lat.max_in_flight:,} messages in flight"
        )
        say(
            "  p50 / p99 / max latency by second of submission: "
            + ", ".join(
                f"{int(s['second'])}s {s['p50_ms']:,.0f}/{s['p99_ms']:,.0f}/{s['max_ms']:,.0f} ms"
                for s in lat.by_second
            )
        )
        say(
            "  p99 after the first second (by then every question was matched once and the"
            f" decisions are kept, as in a running bot): {lat.steady_p99_ms:,.1f} ms"
        )
        if lat.kept_up:
            say(
                f"  the engine kept up with {lat.offered_rate:,.0f} msg/s; p99 after the first"
                f" second {'under' if lat.steady_p99_ms < P99_TARGET_MS else 'OVER'} the"
                f" {P99_TARGET_MS:.0f} ms target"
            )
        else:
            say(
                f"  the engine did NOT keep up with {lat.offered_rate:,.0f} msg/s: it committed"
                f" {lat.achieved_rate_in_window:,.0f} msg/s and latency grew while the queue built"
                " up (every message waited behind those submitted before it)"
            )
        say()

    memory.peak_rss = peak_rss_bytes()
    say("4. Memory")
    say(f"  peak RSS of the whole run (ru_maxrss): {mib(memory.peak_rss)}")
    say(
        f"  RSS with the knowledge base loaded: {mib(memory.rss_before)}; after"
        f" {memory.customers:,} customers with one message each: {mib(memory.rss_after)}"
    )
    say(
        f"  RSS per customer: {memory.per_customer_bytes:,.0f} bytes"
        f" (= per open case: each of these customers has exactly one open case,"
        f" {memory.open_cases:,} open cases in all, so the two figures are the same number)"
    )
    say(
        f"  Python objects tracked by the gc: {memory.objects_before:,} before,"
        f" {memory.objects_after:,} after: the engine keeps no per-customer state in memory"
        " between messages (its per-customer lock is dropped when idle); the RSS growth is"
        " SQLite's page cache (bounded, 2 MiB by default) and allocator slack, so it does not"
        " scale with customers. Measured first, on a fresh database, before the other parts"
    )
    say(
        f"  on disk: {mib(memory.db_bytes)} for {memory.customers:,} customers ="
        f" {memory.db_bytes_per_customer:,.0f} bytes per customer (database + WAL)"
    )
    say()
    say(
        "5. The outbox is not delivered here (no sender is registered): every reply is a"
        " committed 'pending' outbox row, and nothing is sent."
    )

    n = min(args.messages, SPLIT_MESSAGES)
    log(f"split, {n} messages")
    split = await part_split(workload, n)
    w = split.wall
    say(
        f"6. Where the time goes: {n:,} messages at concurrency {CONCURRENCY} on a fresh database,"
        f" instrumented ({n / w:,.0f} msg/s with the instrumentation)"
    )
    say(f"  per message: {w / n * 1000:.2f} ms wall, on the event loop's thread:")
    say(
        f"    knowledge matching (KnowledgeBase.decide)  {split.decide / n * 1000:5.2f} ms"
        f"  {split.decide / w:4.0%}"
    )
    say(
        f"    idle, waiting for the aiosqlite thread     {split.loop_idle / n * 1000:5.2f} ms"
        f"  {split.loop_idle / w:4.0%}"
    )
    say(
        f"    everything else (dialog, store code, asyncio) {split.loop_other / n * 1000:5.2f} ms"
        f"  {split.loop_other / w:4.0%}"
    )
    say(
        f"  {split.sqlite_calls / n:.1f} aiosqlite round trips per message (statements, fetches,"
        f" BEGIN/COMMIT); time inside sqlite3 calls on the aiosqlite thread"
        f" {split.sqlite_busy / n * 1000:.2f} ms per message ({split.sqlite_busy / w:.0%} of wall)"
    )
    if split.groups:
        sizes = sorted(split.groups)
        say(
            f"  group commit: {len(sizes):,} groups for {n:,} messages, median"
            f" {sizes[len(sizes) // 2]} turns per group (most {sizes[-1]}); a group's turns"
            " share one transaction and one COMMIT, and their plain writes go to SQLite"
            " together, one executemany per statement"
        )

    profile = None
    if args.profile:
        n = min(args.messages, PROFILE_MESSAGES)
        log(f"profile, {n} messages")
        profile = await part_profile(workload, n)
        say()
        say(
            f"cProfile, {n:,} messages at concurrency {CONCURRENCY}"
            f" ({n / profile['seconds']:,.0f} msg/s under the profiler; loop thread only):"
        )
        say(profile["top_tottime"])
        say()
        say(profile["top_cumulative"])
    say()

    load_end = os.getloadavg()
    say(f"load average at end (1/5/15 min): {' / '.join(f'{x:.2f}' for x in load_end)}")
    return {
        **info,
        "quick": args.quick,
        "customers": args.customers,
        "messages": args.messages,
        "load_average_start": load_start,
        "load_average_end": load_end,
        "baseline_rows_per_second": base,
        "throughput_every_question_new": asdict(fresh),
        "throughput": [
            {
                **asdict(t),
                "ratio_to_sqlite3": t.per_second / base["sqlite3_row_per_tx"],
                "ratio_to_aiosqlite": t.per_second / base["aiosqlite_row_per_tx"],
            }
            for t in throughput
        ],
        "latency": [asdict(lat) for lat in latencies],
        "memory": asdict(memory),
        "outbox_delivered": False,
        "split": {**asdict(split), "messages": min(args.messages, SPLIT_MESSAGES)},
        "profile": profile,
    }


def main(argv: list[str] | None = None) -> int:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=None, help="default 10,000")
    parser.add_argument("--messages", type=int, default=None, help="default 20,000")
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        default=[1000.0, 2000.0],
        help="offered msg/s in part 3, one run each (default 1000 2000)",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 customers, 2,000 messages")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--profile", action="store_true", help="also profile a small run")
    args = parser.parse_args(argv)
    if args.customers is None:
        args.customers = 1000 if args.quick else 10_000
    if args.messages is None:
        args.messages = 2000 if args.quick else 20_000
    command = shlex.join(["python", *(sys.argv if argv is None else ["engine_bench.py", *argv])])
    if args.json:
        OUT = sys.stderr
    with asyncio.Runner(loop_factory=timed_loop) as runner:
        result = runner.run(main_async(args, command))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
