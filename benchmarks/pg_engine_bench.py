"""Engine throughput and latency on SQLite and on PostgreSQL with 1, 2 and 3 processes,
in one run, and the shared outbox's delivery rate with as many processes.

Every configuration is a fresh database, and each of its processes is a separate OS
process (this script again, as `--worker`) running its own Candor (`Candor(config)`:
engine, store, outbox) against it, as several `candor run` behind a load balancer
would; the parent starts them, lets them open and warm up, then says "go" to all at
once and collects what each measured.

- `sqlite`: one process, the SQLite file (as `engine_bench.py`).
- `pg P`: P processes on one PostgreSQL database, customers split between them
  (customer c's messages all go to process c % P).
- `pg P same customers`: P processes, and every customer's messages go to all of
  them at once: process i takes messages i, i+P, i+2P …, and messages kP..kP+P-1 are
  from one customer (so each customer sends P messages, one to each process: with
  20,000 messages and 3 processes, 6,667 customers). At any moment the P processes
  work on the same customers: each
  turn waits for the others' on that customer (the per-customer advisory lock,
  `pg_advisory_xact_lock`), the worst case of the issue's "a customer's consecutive
  messages on different processes".

Messages come from distinct customers asking the questions of
tests/data/knowledge_eval.jsonl (as engine_bench.py), N in flight across the whole
deployment (N // P per process), each awaited until committed: throughput is
messages / (last commit - first start), latency from a message's submission to
`receive()` returning (closed loop: it grows with N). A receive that fails
(a deadlock PostgreSQL broke, the group rolled back and the turn's own retry failed
too) is submitted again, as a platform redelivers an unacknowledged event, and
counted. Each process first asks its matcher every question once, so the figures
measure the engine and the store rather than each process's first matches.

Then (unless `--no-outbox`) the same processes deliver the outbox those turns wrote
(the replies: pending rows to the "bench" channel) through a sender that does
nothing: delivery rate = rows / time until none is pending, each row sent once.

The PostgreSQL server is the tests' throwaway one (tests/postgres.py: fsync and
synchronous_commit off, like SQLite's WAL with synchronous=NORMAL here: a commit
survives the process, not the machine losing power), on the same two cores.

Run from the repository root:

    .venv/bin/python benchmarks/pg_engine_bench.py [--quick] [--json]
        [--messages 20000] [--customers 10000] [--in-flight 64] [--processes 1 2 3]

`--smoke`: the smallest configuration (200 messages; SQLite, 1 process, and 2 on the
same customers), for tests/test_pg_engine_bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EVAL = ROOT / "tests" / "data" / "knowledge_eval.jsonl"
KNOWLEDGE = ROOT / "knowledge"
SEED = 20261123
CHANNEL = "bench"
PREFIX = "BENCH "  # the workers' lines on stdout that are for the parent
TABLES = ("inbound_seen", "customers", "cases", "events", "outbox")
WORKER_BOUND = 900.0  # seconds: only a broken run waits this long for a worker


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# -- the workload --------------------------------------------------------------------------


def load_questions() -> list[str]:
    import random

    texts = [str(json.loads(line)["text"]) for line in EVAL.open(encoding="utf-8") if line.strip()]
    random.Random(SEED).shuffle(texts)
    return texts


@dataclass(frozen=True)
class Plan:
    """Which customer sends message m, its how-manieth message that is, and which of
    the P processes receives it."""

    messages: int
    customers: int
    processes: int
    same_customers: bool

    def route(self, m: int) -> tuple[int, int, int]:
        """(customer, round, process) of message m."""
        p = self.processes
        if self.same_customers:  # messages i..i+P-1 from one customer, one to each process
            slot = m // p
            return slot % self.customers, (slot // self.customers) * p + m % p, m % p
        customer = m % self.customers
        return customer, m // self.customers, customer % p

    def of_process(self, index: int) -> list[int]:
        return [m for m in range(self.messages) if self.route(m)[2] == index]


def make_config(folder: Path, url: str) -> Any:
    from bot import config as config_module

    text = textwrap.dedent(
        f"""
        [bot]
        name = "Candor"
        company = "Northwind Cloud"
        [storage]
        path = "{folder / "candor.sqlite3"}"
        url = "{url}"
        [knowledge]
        directory = "{KNOWLEDGE}"
        reload_seconds = 0
        [outbox]
        poll_seconds = 0.5
        heartbeat_seconds = 0.5
        [desk]
        agents = [{{ name = "Maria", console = "maria" }}]
        [logging]
        file = "{folder / "candor.log"}"
        """
    )
    return config_module.parse(text, folder / "config.toml")


# -- a worker: one process of the deployment -----------------------------------------------


class Counters:
    """What a worker counts inside its store while it runs (cheap: a few additions)."""

    def __init__(self) -> None:
        self.trips = 0  # statements sent to PostgreSQL (an executemany is one)
        self.busy = 0.0  # seconds in them: the connection's time, server's and network's
        self.lock_seconds = 0.0  # of that, in the statements that take a customer's lock
        self.lock_trips = 0
        self.groups = 0
        self.group_members = 0
        self.groups_failed = 0
        self.statements: dict[str, int] = {}  # trips by the statement's first words

    def snapshot(self) -> dict[str, Any]:
        return dict(vars(self))


LOCK_STATEMENTS = ("SELECT candor_lock_identity(", "SELECT pg_advisory_xact_lock(customer_id)")


def instrument(counters: Counters) -> None:
    """Count trips to PostgreSQL and their time, the lock statements' apart, and the
    groups (patched for the worker's life: it is a process of its own). Timed around
    asyncpg's own calls, inside the store's wait for its connection."""
    import asyncpg

    from bot.store.sqlite.group import Group

    finish = Group.finish

    def counted_finish(self: Group, error: BaseException | None) -> None:
        counters.groups += 1
        counters.group_members += self.joined
        counters.groups_failed += error is not None
        finish(self, error)

    Group.finish = counted_finish  # type: ignore[method-assign]

    def counted(name: str) -> None:
        real = getattr(asyncpg.Connection, name)

        async def call(self: Any, statement: str, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await real(self, statement, *args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                counters.trips += 1
                counters.busy += spent
                kind = f"{name}: {statement[:70]}"
                counters.statements[kind] = counters.statements.get(kind, 0) + 1
                if statement.startswith(LOCK_STATEMENTS):
                    counters.lock_trips += 1
                    counters.lock_seconds += spent

        setattr(asyncpg.Connection, name, call)

    for name in ("execute", "executemany", "fetch", "fetchval", "fetchrow"):
        counted(name)


class NoopSender:
    """The "bench" channel: takes every message and does nothing with it. It can show
    a message to one person (as Slack's ephemeral messages), and has an overall limit
    far above what is reached, so that the processes count each other and divide the
    addresses as they do for Telegram's 30 a second."""

    channel = CHANNEL
    shows_to_one = True
    overall_per_second = 1_000_000.0

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.first = self.last = 0.0

    async def send(self, message: Any) -> str:
        self.last = time.time()
        if not self.sent:
            self.first = self.last
        self.sent.append(int(message.id))
        return f"b{message.id}"


def tell(kind: str, **data: Any) -> None:
    print(PREFIX + json.dumps({"kind": kind, **data}), flush=True)


async def worker(spec: dict[str, Any]) -> None:
    import gc
    import logging

    from bot.app import Candor
    from bot.model import Address, Identity, Inbound, InboundKind

    logging.basicConfig(level=logging.ERROR, format="worker: %(levelname)s %(name)s: %(message)s")

    plan = Plan(spec["messages"], spec["customers"], spec["processes"], spec["same_customers"])
    questions = load_questions()
    mine = plan.of_process(spec["index"])
    counters = Counters()
    instrument(counters)
    config = make_config(Path(spec["folder"]), spec["url"])
    lines = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)

    def inbound(m: int) -> Inbound:
        customer, round_, _ = plan.route(m)
        user = f"u{customer}"
        return Inbound(
            f"m-{m}",
            Identity(CHANNEL, "w", user),
            Address(CHANNEL, user),
            InboundKind.MESSAGE,
            text=questions[(customer * 7 + round_) % len(questions)],
            display_name=f"Customer {customer}",
        )

    async with Candor(config) as app:
        for text in questions:  # every process's matcher warm, as in a running bot
            app.knowledge.decide(text)
        gc.freeze()
        tell("ready")
        await lines.readline()  # "go"
        latencies: list[float] = []
        redelivered = 0
        gate = asyncio.Semaphore(spec["in_flight"])

        async def one(m: int) -> None:
            nonlocal redelivered
            try:
                start = time.perf_counter()
                while True:
                    try:
                        await app.engine.receive(inbound(m))
                        break
                    except Exception:  # not acknowledged: the platform sends it again
                        redelivered += 1
                        if redelivered > 10 * len(mine) + 100:
                            raise
                latencies.append(time.perf_counter() - start)
            finally:
                gate.release()

        counters.__init__()  # type: ignore[misc]  # what opening the store did: not counted
        profiler = cProfile.Profile() if spec.get("profile") and spec["index"] == 0 else None
        if profiler:
            profiler.enable()
        began, cpu = time.time(), time.process_time()
        async with asyncio.TaskGroup() as group:
            for m in mine:
                await gate.acquire()
                group.create_task(one(m))
        ended, cpu = time.time(), time.process_time() - cpu
        if profiler:
            profiler.disable()
            profiler.dump_stats(spec["profile"])
        tell(
            "done",
            began=began,
            ended=ended,
            cpu=cpu,
            latencies=[round(x, 6) for x in latencies],
            redelivered=redelivered,
            **counters.snapshot(),
        )
        if (await lines.readline()).strip() != b"outbox":
            return
        # Started paused, until every process counts the others: then the addresses
        # are divided between them as in a running deployment, not all taken by the
        # first to start.
        sender = NoopSender()
        app.outbox.register(sender)
        passes = {"passes": 0, "rows_read": 0}
        start_due, pending = app.outbox._start_due, app.store.pending

        async def counted_pass() -> Any:
            passes["passes"] += 1
            return await start_due()

        async def counted_pending(*args: Any, **kwargs: Any) -> Any:
            rows = await pending(*args, **kwargs)
            passes["rows_read"] += len(rows)
            return rows

        app.outbox._start_due = counted_pass  # type: ignore[method-assign]
        app.store.pending = counted_pending  # type: ignore[method-assign]
        app.outbox.paused = True
        task = asyncio.create_task(app.outbox.run(config.outbox.poll_seconds))
        sharing = app.outbox.sharing
        if sharing is not None:  # (polled: `live` changes at the heartbeats, no event)
            while not (sharing.ready.is_set() and sharing.live >= plan.processes):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        tell("outbox ready")
        await lines.readline()  # "deliver"
        if profiler:
            profiler = cProfile.Profile()
            profiler.enable()
        began = time.time()
        app.outbox.paused = False
        app.outbox.wake()
        await lines.readline()  # "stop"
        if profiler:
            profiler.disable()
            profiler.dump_stats(spec["profile"] + ".outbox")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        tell(
            "delivered",
            began=began,
            sent=sender.sent,
            first=sender.first,
            last=sender.last,
            **passes,
        )


# -- the parent ----------------------------------------------------------------------------


@dataclass
class Setup:
    name: str
    backend: str  # "sqlite" or "postgresql"
    processes: int
    same_customers: bool = False


class Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )

    def expect(self, kind: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            if line.startswith(PREFIX):
                said: dict[str, Any] = json.loads(line[len(PREFIX) :])
                if said["kind"] != kind:
                    raise RuntimeError(f"a worker said {said['kind']!r}, not {kind!r}")
                return said
        raise RuntimeError(f"a worker ended (exit {self.proc.wait()}) before saying {kind!r}")

    def say(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word.encode() + b"\n")
        self.proc.stdin.flush()

    def end(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Database:
    """The configuration's database as the parent reads it: counts, and the server's
    own counters (PostgreSQL)."""

    def __init__(self, setup: Setup, server: Any, folder: Path) -> None:
        self.setup = setup
        self.server = server
        self.path = folder / "candor.sqlite3"
        self.name = "bench_" + setup.name.replace(" ", "_")
        self.url = server.new_database(self.name) if setup.backend == "postgresql" else ""

    def query(self, sql: str) -> list[list[str]]:
        if self.url:
            out = self.server.psql(self.name, sql)
            return [line.split("|") for line in out.splitlines()]
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as db:
            rows = [[str(x) for x in row] for row in db.execute(sql).fetchall()]
            db.commit()
            return rows

    def counts(self) -> dict[str, int]:
        union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return {name: int(n) for name, n in self.query(union)}

    def pending(self) -> int:
        like = f"'[\"{CHANNEL}\"%'"
        sql = f"SELECT count(*) FROM outbox WHERE state = 'pending' AND address LIKE {like}"
        return int(self.query(sql)[0][0])

    def cases_per_customer(self) -> int:
        """The most open cases any one customer has (1: one case per customer)."""
        sql = (
            "SELECT coalesce(max(n), 0) FROM (SELECT customer_id, count(*) AS n FROM cases"
            " WHERE state != 'resolved' GROUP BY customer_id) AS k"
        )
        return int(self.query(sql)[0][0])

    def server_counters(self) -> dict[str, int]:
        if not self.url:
            return {}
        sql = (
            "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database"
            f" WHERE datname = '{self.name}'"
        )
        commit, rollback, deadlocks = self.query(sql)[0]
        return {
            "commits": int(commit),
            "rollbacks": int(rollback),
            "deadlocks": int(deadlocks),
            "cpu": server_cpu(self.server.data),
        }


def server_cpu(data: Path) -> float:
    """CPU seconds of the PostgreSQL server's processes so far (Linux /proc)."""
    try:
        postmaster = (data / "postmaster.pid").read_text().split()[0]
    except (OSError, IndexError):
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == postmaster or stat.parent.name == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def migrate(url: str) -> None:
    from bot.store import PostgresStore

    asyncio.run(PostgresStore(url).migrate())


def run_setup(setup: Setup, server: Any, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="candor-pgbench-") as folder:
        db = Database(setup, server, Path(folder))
        if db.url:
            migrate(db.url)
        p = setup.processes
        spec = {
            "messages": args.messages,
            "customers": args.customers,
            "processes": p,
            "same_customers": setup.same_customers,
            "in_flight": max(1, args.in_flight // p),
            "folder": folder,
            "url": db.url,
        }
        if args.profile:
            spec["profile"] = str(Path(folder) / "worker.prof")
        workers = [Worker({**spec, "index": i}) for i in range(p)]
        try:
            for w in workers:
                w.expect("ready")
            before = db.server_counters()
            for w in workers:
                w.say("go")
            done = [w.expect("done") for w in workers]
            after = db.server_counters()
            counts = db.counts()
            result = summarise(setup, args, done, counts, before, after)
            result["most_open_cases_of_a_customer"] = db.cases_per_customer()
            if not args.no_outbox:
                result["outbox"] = deliver(db, workers, args.outbox_rows)
            if args.profile:
                result["profile"] = profile_text(spec["profile"])
        finally:
            for w in workers:
                w.end()
    return result


def profile_text(path: str) -> str:
    """The first worker's cProfile: the top functions by own time, and by the time
    spent in them and what they called, of the store's modules and asyncpg's."""
    import io
    import pstats

    out = io.StringIO()
    for worker_path in sorted(Path(path).parent.glob("worker.prof*")):
        out.write(f"== {worker_path.name}\n")
        stats = pstats.Stats(str(worker_path), stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(
            r"(store/|asyncpg|engine\.py|outbox|sharing|lanes)", 30
        )
    return out.getvalue()


def summarise(
    setup: Setup,
    args: argparse.Namespace,
    done: list[dict[str, Any]],
    counts: dict[str, int],
    before: dict[str, int],
    after: dict[str, int],
) -> dict[str, Any]:
    latencies = [x for d in done for x in d["latencies"]]
    seconds = max(d["ended"] for d in done) - min(d["began"] for d in done)
    n = args.messages
    groups = sum(d["groups"] for d in done)
    result: dict[str, Any] = {
        "name": setup.name,
        "backend": setup.backend,
        "processes": setup.processes,
        "same_customers": setup.same_customers,
        "in_flight_per_process": max(1, args.in_flight // setup.processes),
        "messages": n,
        "committed": len(latencies),
        "seconds": seconds,
        "per_second": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=0.0) * 1000,
        "redelivered": sum(d["redelivered"] for d in done),
        "trips_per_message": sum(d["trips"] for d in done) / n,
        # the writer connections' time in statements, of the run's wall time (one per process)
        "connection_busy": sum(d["busy"] for d in done) / (seconds * setup.processes),
        "lock_ms_per_message": sum(d["lock_seconds"] for d in done) / n * 1000,
        "lock_ms_per_lock": sum(d["lock_seconds"] for d in done)
        / max(1, sum(d["lock_trips"] for d in done))
        * 1000,
        "client_cpu_ms_per_message": sum(d["cpu"] for d in done) / n * 1000,
        "groups": groups,
        "turns_per_group": sum(d["group_members"] for d in done) / max(1, groups),
        "groups_rolled_back": sum(d["groups_failed"] for d in done),
        "counts": counts,
    }
    statements: dict[str, int] = {}
    for d in done:
        for kind, count in d["statements"].items():
            statements[kind] = statements.get(kind, 0) + count
    result["trips_by_statement"] = {
        kind: round(count / n, 3)
        for kind, count in sorted(statements.items(), key=lambda item: -item[1])
    }
    if after:
        result["server"] = {k: after[k] - before[k] for k in after}
        result["server_cpu_ms_per_message"] = result["server"].pop("cpu") / n * 1000
    return result


def deliver(db: Database, workers: list[Worker], rows: int) -> dict[str, Any]:
    """The first `rows` replies the engine part wrote are delivered; the others are
    set aside first (marked failed: the outbox reads only pending rows)."""
    like = f"'[\"{CHANNEL}\"%'"
    db.query(
        "UPDATE outbox SET state = 'failed' WHERE state = 'pending' AND id NOT IN"
        f" (SELECT id FROM outbox WHERE state = 'pending' AND address LIKE {like}"
        f" ORDER BY id LIMIT {rows})"
    )
    pending = db.pending()
    for w in workers:
        w.say("outbox")
    for w in workers:
        w.expect("outbox ready")
    for w in workers:
        w.say("deliver")
    start = time.time()
    bound = start + WORKER_BOUND
    while db.pending() and time.time() < bound:
        time.sleep(0.05)
    finished = time.time()
    left = db.pending()
    for w in workers:
        w.say("stop")
    said = [w.expect("delivered") for w in workers]
    sent = [m for s in said for m in s["sent"]]
    began = min(s["began"] for s in said)
    first = min((s["first"] for s in said if s["sent"]), default=began)
    last = max((s["last"] for s in said if s["sent"]), default=began)
    return {
        "rows": pending,
        "left_pending": left,
        "sent": len(sent),
        "sent_twice": len(sent) - len(set(sent)),
        "seconds": finished - began,
        "per_second": len(sent) / max(1e-9, finished - began),
        # from the first send to the last: without the start (heartbeats, the others
        # counted, the first claims)
        "sending_seconds": last - first,
        "sending_per_second": len(sent) / max(1e-9, last - first),
        "by_process": [len(s["sent"]) for s in said],
        # the outbox's passes (each reads the pending rows, page by page) and the rows
        # they read, per message sent
        "passes": sum(s["passes"] for s in said),
        "rows_read_per_sent": sum(s["rows_read"] for s in said) / max(1, len(sent)),
    }


def setups(processes: list[int], smoke: bool) -> list[Setup]:
    made = [Setup("sqlite", "sqlite", 1)]
    made += [Setup(f"pg {p}", "postgresql", p) for p in processes]
    made += [Setup(f"pg {p} same customers", "postgresql", p, True) for p in processes if p > 1]
    return made[:2] + made[-1:] if smoke else made


def report(results: list[dict[str, Any]], header: dict[str, Any]) -> None:
    say = print
    say(f"command: {header['command']}")
    say(f"{header['machine']}; python {header['python']}; {header['postgres']}")
    start, end = header["load_start"], header["load_end"]
    say(f"load average (1 min) at start / end: {start:.2f} / {end:.2f}")
    first = results[0]
    say(
        f"{first['messages']:,} messages from {header['customers']:,} customers, in flight"
        f" {header['in_flight']} across the deployment (// processes each); every message"
        " awaited until committed"
    )
    say()
    columns = (
        "setup",
        "msg/s",
        "x sqlite",
        "p50 ms",
        "p99 ms",
        "max ms",
        "trips/msg",
        "conn busy",
        "lock ms",
        "cpu ms/msg",
        "server cpu",
        "turns/group",
        "groups back",
        "redelivered",
        "deadlocks",
    )
    rows = []
    base = first["per_second"]
    for r in results:
        pg = r["backend"] == "postgresql"
        rows.append(
            (
                r["name"],
                f"{r['per_second']:,.0f}",
                f"{r['per_second'] / base:.2f}",
                f"{r['p50_ms']:,.1f}",
                f"{r['p99_ms']:,.1f}",
                f"{r['max_ms']:,.0f}",
                f"{r['trips_per_message']:.1f}" if pg else "-",
                f"{r['connection_busy']:.0%}" if pg else "-",
                f"{r['lock_ms_per_lock']:.2f}" if pg else "-",
                f"{r['client_cpu_ms_per_message']:.2f}",
                f"{r['server_cpu_ms_per_message']:.2f}" if pg else "-",
                f"{r['turns_per_group']:.1f}",
                str(r["groups_rolled_back"]),
                str(r["redelivered"]),
                str(r.get("server", {}).get("deadlocks", "-")),
            )
        )
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    for row in (columns, tuple("-" * w for w in widths), *rows):
        cells = zip(row, widths, strict=True)
        say("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(cells)))
    say()
    for r in results:
        c = r["counts"]
        say(
            f"{r['name']}: committed {r['committed']:,}/{r['messages']:,}; rows: "
            + ", ".join(f"{t} {c[t]:,}" for t in TABLES)
            + f"; most open cases of one customer {r['most_open_cases_of_a_customer']}"
        )
    if any("outbox" in r for r in results):
        say()
        say("outbox delivery to a sender that does nothing (the replies those turns wrote):")
        for r in results:
            o = r.get("outbox")
            if o:
                say(
                    f"  {r['name']}: {o['sent']:,} of {o['rows']:,} rows in {o['seconds']:.2f} s ="
                    f" {o['per_second']:,.0f}/s (from first send to last:"
                    f" {o['sending_per_second']:,.0f}/s);"
                    f" by process {o['by_process']}; {o['passes']:,} passes reading"
                    f" {o['rows_read_per_sent']:,.1f} rows per message sent;"
                    f" sent twice {o['sent_twice']}; left pending {o['left_pending']}"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, default=None, help="default 20,000")
    parser.add_argument("--customers", type=int, default=None, help="default 10,000")
    parser.add_argument("--in-flight", type=int, default=64, help="across the deployment")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--quick", action="store_true", help="4,000 messages, 2,000 customers")
    parser.add_argument(
        "--smoke", action="store_true", help="200 messages; sqlite, pg 1, pg 2 same customers"
    )
    parser.add_argument("--no-outbox", action="store_true", help="skip the delivery part")
    parser.add_argument(
        "--outbox-rows", type=int, default=None, help="rows delivered (default 2,000)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--profile", action="store_true", help="cProfile the first process")
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(worker(json.loads(args.worker)))
        return 0
    if args.smoke:
        args.processes = [1, 2]
    small = args.smoke or args.quick
    if args.messages is None:
        args.messages = 200 if args.smoke else 4000 if args.quick else 20_000
    if args.customers is None:
        args.customers = 50 if args.smoke else 2000 if small else 10_000
    if args.outbox_rows is None:
        args.outbox_rows = 1000 if small else 2000
    command = shlex.join(["python", *(sys.argv if argv is None else ["pg_engine_bench.py", *argv])])
    from tests.postgres import Server

    load_start = os.getloadavg()[0]
    server = Server()
    server.start()
    try:
        version = server.psql("postgres", "SHOW server_version").strip()
        results = []
        for setup in setups(args.processes, args.smoke):
            log(setup.name)
            results.append(run_setup(setup, server, args))
    finally:
        server.stop()
    header = {
        "command": command,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "postgres": f"PostgreSQL {version} (fsync off)",
        "customers": args.customers,
        "in_flight": args.in_flight,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps({**header, "results": results}, indent=2))
    else:
        report(results, header)
        for r in results:
            if r["backend"] == "postgresql" and args.profile:
                print(f"\n{r['name']}: trips per message by statement:")
                for kind, per in r["trips_by_statement"].items():
                    print(f"  {per:6.3f}  {kind}")
            if r.get("profile"):
                print(f"\ncProfile of {r['name']}'s first process (engine part):")
                print(r["profile"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
