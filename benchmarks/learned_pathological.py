"""What a new question costs `KnowledgeBase.decide` with the second opinion on, for
ordinary and pathological questions (red team, session 9): every question is new
(the decision cache never answers), on the shipped knowledge base.

    .venv/bin/python benchmarks/learned_pathological.py [--count 300]

Prints p50 / p99 / max per kind of question, with the classifier on (the default)
and off (learned_probability 1: the words alone), in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import KnowledgeBase, Thresholds  # noqa: E402
from bot.knowledge.tools import read_eval  # noqa: E402


def kinds(rng: random.Random) -> dict[str, Callable[[int], str]]:
    ordinary = [t for t, _ in read_eval(ROOT / "tests" / "data" / "customer_questions.jsonl")]
    # each text starts with its number: a new question every time (the first
    # MAX_MATCHED characters are what is matched, and decided once)
    return {
        "customer questions": lambda n: f"#{n} {ordinary[n % len(ordinary)]}",
        "100k characters": lambda n: f"#{n} pricing " + "how much is the team plan " * 4000,
        "one long word": lambda n: f"{n}" + "a" * 100_000,
        "NUL and controls": lambda n: f"#{n} " + "price\x00\x01\x02\x7f" * 200,
        "only punctuation": lambda n: f"{n}" + "?!.,;:" * 300,
        "repeated n-grams": lambda n: f"#{n} " + "seat " * 2000,
        "odd Unicode": lambda n: (
            f"{n}\u202e" + "".join(chr(rng.randrange(0x300, 0x2FFF)) for _ in range(900))
        ),
        "emoji": lambda n: f"{n}" + "🙂💰" * 400,
    }


def measure(kb: KnowledgeBase, make: Callable[[int], str], count: int) -> list[float]:
    timings = []
    for n in range(count):
        text = make(n)
        started = time.perf_counter()
        kb.decide(text)
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=300, help="questions per kind")
    args = parser.parse_args()
    rng = random.Random(0)
    # off first: it trains no classifier, and shares no cached opinion with `on`
    off = KnowledgeBase.load(ROOT / "knowledge", Thresholds(learned_probability=1.0))
    on = KnowledgeBase.load(ROOT / "knowledge")
    print(f"{'kind':<20} {'on p50':>8} {'on p99':>8} {'on max':>8} {'off p50':>8} {'off p99':>8}")
    for name, make in kinds(rng).items():
        t_on = measure(on, make, args.count)
        t_off = measure(off, make, args.count)
        p99 = min(len(t_on) - 1, int(len(t_on) * 0.99))
        print(
            f"{name:<20} {statistics.median(t_on):8.2f} {t_on[p99]:8.2f} {t_on[-1]:8.2f}"
            f" {statistics.median(t_off):8.2f} {t_off[p99]:8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
