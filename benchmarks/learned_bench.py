"""What the second opinion (bot/knowledge/learned.py) costs: training time, memory and
the time of one opinion, for synthetic knowledge bases of N articles x 10 questions
(knowledge_bench.py's synthetic articles, from the public datasets' questions).

    .venv/bin/python benchmarks/learned_bench.py [--sizes 0,100,300] [--shared DIR]

Each size runs in a fresh process (its peak RSS is its own); medians of 200 opinions.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def one(size: int, shared: Path) -> dict[str, float]:
    from knowledge_bench import synthetic_articles

    from bot.knowledge.articles import load_articles
    from bot.knowledge.learned import Learned

    if size == 0:  # the shipped knowledge base
        articles, _ = load_articles(Path(__file__).resolve().parent.parent / "knowledge")
    else:
        articles = synthetic_articles(shared, size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    learned = Learned._fit(articles)
    trained = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    texts = [q for a in articles[:200] for q in a.questions[:1]]
    timings = []
    for text in texts:
        started = time.perf_counter()
        learned._opinion(text + " please")
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "articles": len(articles),
        "train_s": round(trained, 2),
        "peak_rss_mib_added": round(after - before, 1),
        "opinion_p50_ms": round(statistics.median(timings), 3),
        "opinion_p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="0,100,300", help="0: the shipped articles")
    parser.add_argument("--shared", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.shared)))
        return 0
    for size in args.sizes.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--one", size, "--shared", str(args.shared)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print(out.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
