"""What answering the clear part of a two-ask question (bot/knowledge/asks.py, the
split in bot/knowledge/base.py) and reading customers' spellings
(bot/knowledge/analysis.py's SPELLINGS) change, on the shipped sets and on BANKING77
(with its out-of-scope questions) and HWU64: each set decided with both, without the
split, and without either (today's matcher), default thresholds, words only unless
--semantic static.

    .venv/bin/python benchmarks/asks_bench.py [--shared ../shared/benchmarks]
        [--semantic off|static]

About 3 minutes on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bot.knowledge.analysis as analysis
import bot.knowledge.base as base
from bot.knowledge import KnowledgeBase
from bot.knowledge.articles import load_articles
from bot.knowledge.asks import Ask
from bot.knowledge.matcher import Semantic
from bot.knowledge.tools import Expected, evaluate, read_eval, summary

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def variant(split: bool, spellings: bool) -> Iterator[None]:
    """The matcher with the split and the spellings map on or off (both on: as shipped)."""
    saved_asks, saved_map = base.asks, dict(analysis.SPELLINGS)
    if not split:
        base.asks = lambda text: [Ask(text, True)]
    if not spellings:
        analysis.SPELLINGS.clear()
    try:
        yield
    finally:
        base.asks = saved_asks
        analysis.SPELLINGS.update(saved_map)


def sets(shared: Path) -> Iterator[tuple[str, Path, list[tuple[str, Expected]]]]:
    knowledge = ROOT / "knowledge"
    for name in ("customer_questions", "knowledge_eval"):
        yield name, knowledge, read_eval(ROOT / "tests" / "data" / f"{name}.jsonl")
    for name in ("banking77", "hwu64"):
        yield name, shared / name / "knowledge", read_eval(shared / name / "eval.jsonl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--semantic", choices=("off", "static"), default="off")
    args = parser.parse_args(argv)
    semantic: Semantic = args.semantic
    print(f"command: python benchmarks/asks_bench.py --semantic {semantic}")
    header = (
        f"{'set':<20} {'matcher':<28} {'right':>12} {'wrong':>10} {'asked back':>11}"
        f" {'one-option':>11} {'OOS answered':>13}"
    )
    print(header)
    print("-" * len(header))
    variants = [
        ("today (no split, no map)", False, False),
        ("spellings only", False, True),
        ("split + spellings", True, True),
    ]
    for name, directory, pairs in sets(args.shared):
        for label, split, spellings in variants:
            with variant(split, spellings):
                articles, _ = load_articles(directory)
                kb = KnowledgeBase.of(sorted(articles, key=lambda a: a.id), semantic=semantic)
                s = summary(evaluate(kb, pairs, progress=False))
            c = s["counts"]
            print(
                f"{name:<20} {label:<28}"
                f" {s['answered_correct'] * 100:>5.1f}% ({c.get('answered_correct', 0):>4})"
                f" {s['answered_wrong'] * 100:>4.1f}% ({c.get('answered_wrong', 0):>3})"
                f" {s['asked_back'] * 100:>10.1f}% {s['one_option_menus'] * 100:>10.1f}%"
                f" {s['oos_answered'] * 100:>6.1f}% ({c.get('oos_answered', 0):>3})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
