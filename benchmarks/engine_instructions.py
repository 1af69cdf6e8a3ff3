"""The engine's mixed workload, for counting instructions under callgrind.

Two runs of different lengths, their difference divided by the extra messages,
give the instructions a message costs, start-up and warm-up cancelled out; the
count is the same whatever else the machine does (wall clock is not):

    valgrind --tool=callgrind python benchmarks/engine_instructions.py 600 64
    valgrind --tool=callgrind python benchmarks/engine_instructions.py 1800 64
    # (I refs of the second - I refs of the first) / 1200

Arguments: messages, and how many are in flight at once (300 customers).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine_bench as bench

from bot.app import Candor


async def main(messages: int, concurrency: int) -> None:
    workload = bench.Workload(300, bench.load_questions())
    with bench.fresh_folder("instructions") as folder:
        async with Candor(bench.make_config(folder)) as app:
            await bench.run_bounded(app, workload, messages, concurrency, "ir")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
