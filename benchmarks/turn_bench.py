"""The cost of one turn when the bot does the same work: returning customers ask
questions the knowledge base answers, nothing else happens.

`engine_bench.py` measures the engine on a mixed workload, and what the bot does
on it changes with the bot (a new customer's first reply now says it is a bot, a
question asked while a handover summary is shown is now answered instead of
swallowed), so two versions of Candor do different work there. Here every timed
message is a question with a confident answer from an article that hands over to
nobody, from a customer who was greeted already, never repeated by that customer:
each turn writes one customer event, one answer event and one outbox row, in any
version. Run it from the root of each tree to compare two versions:

    .venv/bin/python benchmarks/turn_bench.py [--customers 2000] [--rounds 5] [--runs 3]

It prints the median over runs of messages per second at 1 and at 64 in flight,
and the CPU time of the whole process per message (less swayed by other processes
than wall time). No sender is registered: replies are committed outbox rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import config as config_module  # noqa: E402
from bot.app import Candor  # noqa: E402
from bot.knowledge import KnowledgeBase  # noqa: E402
from bot.model import Address, Identity, Inbound, InboundKind  # noqa: E402
from bot.signals import frustrated, is_greeting, not_helpful, wants_person  # noqa: E402

EVAL = ROOT / "tests" / "data" / "knowledge_eval.jsonl"
KNOWLEDGE = ROOT / "knowledge"


def answered_questions() -> list[str]:
    """The evaluation file's questions that the shipped articles answer with
    confidence, from articles that offer no person, and that no trigger takes."""
    kb = KnowledgeBase.load(KNOWLEDGE)
    found = []
    for line in EVAL.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        decision = kb.decide(text)
        if decision.kind != "answer" or decision.candidates[0].article.handover:
            continue
        if wants_person(text) or frustrated(text) or not_helpful(text) or is_greeting(text):
            continue
        found.append(text)
    return sorted(set(found))


def config_in(folder: Path) -> config_module.Config:
    path = folder / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [storage]
            path = "{folder / "candor.sqlite3"}"
            [knowledge]
            directory = "{KNOWLEDGE}"
            reload_seconds = 0
            [logging]
            file = "{folder / "candor.log"}"
            """
        ),
        encoding="utf-8",
    )
    return config_module.load(path)


def inbound(customer: int, key: str, text: str) -> Inbound:
    user = f"u{customer}"
    return Inbound(
        key,
        Identity("bench", "w", user),
        Address("bench", user),
        InboundKind.MESSAGE,
        text=text,
        display_name=f"Customer {customer}",
    )


async def one_run(customers: int, rounds: int, concurrency: int, questions: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="candor-turn-") as folder:
        async with Candor(config_in(Path(folder))) as app:
            for c in range(customers):  # greeted, and the matcher has met every question
                await app.engine.receive(inbound(c, f"hi-{c}", "hi"))
            for text in questions:
                app.knowledge.decide(text)
            gate = asyncio.Semaphore(concurrency)

            async def send(m: int) -> None:
                try:
                    c, r = m % customers, m // customers
                    text = questions[(c * 7 + r) % len(questions)]  # a customer never repeats
                    await app.engine.receive(inbound(c, f"q-{m}", text))
                finally:
                    gate.release()

            messages = customers * rounds
            cpu, wall = time.process_time(), time.perf_counter()
            async with asyncio.TaskGroup() as group:
                for m in range(messages):
                    await gate.acquire()
                    group.create_task(send(m))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            replies = len(await app.store.outbox_rows())
            if replies != customers + messages:  # one greeting each, one answer a question
                raise SystemExit(f"{replies} replies for {customers} + {messages}: other work")
    return {"per_second": messages / wall, "cpu_us_per_message": cpu / messages * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    questions = answered_questions()
    if len(questions) < args.rounds * 7:
        raise SystemExit(f"only {len(questions)} answered questions: too few for the rounds")
    figures: dict[str, dict[str, float]] = {}
    for concurrency in (1, 64):
        runs = [
            asyncio.run(one_run(args.customers, args.rounds, concurrency, questions))
            for _ in range(args.runs)
        ]
        figures[str(concurrency)] = {
            key: statistics.median(run[key] for run in runs) for key in runs[0]
        } | {"runs_per_second": [round(run["per_second"]) for run in runs]}  # type: ignore[dict-item]
    if args.json:
        print(json.dumps({"questions": len(questions), "figures": figures}))
        return
    print(f"{len(questions)} answered questions; {args.customers} customers x {args.rounds}")
    for concurrency, row in figures.items():
        print(
            f"  {concurrency:>2} in flight: {row['per_second']:,.0f} msg/s"
            f" (runs {row['runs_per_second']}), {row['cpu_us_per_message']:,.0f} µs CPU a message"
        )


if __name__ == "__main__":
    main()
