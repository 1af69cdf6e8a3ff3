"""Precision and recall of the facts on handover cards, per label and overall, over
the recorded conversations of tests/data/handover_conversations.jsonl (each replayed
through the real engine with the shipped knowledge, SQLite and a fake clock, handed
over, and the card's "• Facts:" line compared with the facts written down by hand):

    .venv/bin/python benchmarks/summary_eval.py [--misses] [--data FILE.jsonl]

`--misses` also prints, per conversation, the facts missed and those found wrongly;
`--data` reads another set of the same format (the blind one:
tests/data/handover_conversations_blind.jsonl, written by someone who never saw the
rules).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.summary.facts import LABELS  # noqa: E402
from tests.handover_eval import Score, conversations, replay  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="print what each one missed")
    parser.add_argument("--data", type=Path, help="another set of conversations (JSON lines)")
    args = parser.parse_args()
    rows = conversations(args.data) if args.data else conversations()
    with tempfile.TemporaryDirectory() as folder:
        done = asyncio.run(replay(Path(folder), rows))
    score = Score()
    for replayed in done:
        score.add(replayed)
        if args.misses and replayed.found != replayed.wanted:
            print(
                f"{replayed.name}: missed {sorted(replayed.wanted - replayed.found)},"
                f" wrong {sorted(replayed.found - replayed.wanted)}"
            )
    early = sum(r.early for r in done)
    print(f"{len(done)} conversations, {sum(score.wanted.values())} facts written down")
    print(f"the summary was shown before the last message in {early} (it is what was shown)")
    print(f"{'label':<10} {'facts':>5} {'found':>5} {'precision':>9} {'recall':>7}")
    for label in LABELS:
        print(
            f"{label:<10} {score.wanted[label]:>5} {score.found[label]:>5}"
            f" {score.precision(label):>9.1%} {score.recall(label):>7.1%}"
        )
    print(
        f"{'overall':<10} {sum(score.wanted.values()):>5} {sum(score.found.values()):>5}"
        f" {score.precision():>9.1%} {score.recall():>7.1%}"
    )


if __name__ == "__main__":
    main()
