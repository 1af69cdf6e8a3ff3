"""The kill test's figures (issue 16): three `candor run` on one PostgreSQL, ten
customers, twenty SIGKILLs with restarts, once for Telegram (webhook) and once for
Slack (HTTP), the scenarios of tests/test_cluster_telegram.py and
tests/test_cluster_slack.py. Prints, for each: updates, POSTs (with redeliveries),
kills, replies owed, replies sent, repeats (total, and the most one kill caused),
wall time, the busiest second overall and per chat (and, on Telegram, the busiest
minute of the staff group).

    .venv/bin/python benchmarks/cluster_kill_bench.py [--seed N] [--only telegram|slack]

Starts its own throwaway PostgreSQL (tests/postgres.py: initdb/pg_ctl on PATH or
Debian's, as the `postgres` user when run as root).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import ARTICLES, write_articles
from tests.postgres import Server
from tests.test_cluster_telegram import Figures


def show(name: str, f: Figures) -> None:
    print(f"{name}:")
    print(f"  updates                {f.updates}")
    print(f"  POSTs (redeliveries)   {f.posts}")
    print(f"  kills                  {f.kills}")
    print(f"  replies owed           {f.owed}")
    print(f"  replies sent           {f.sent}")
    print(f"  repeats                {f.repeats}")
    print(f"  most repeats, one kill {f.most_per_kill}")
    print(f"  wall time              {f.wall:.1f} s")
    print(f"  busiest second, all    {f.busiest_second}")
    print(f"  busiest second, a chat {f.busiest_chat_second}")
    if name == "telegram":
        print(f"  busiest group minute   {f.busiest_group_minute}")
    missing = sum(len(v) for v in f.details.get("missing", {}).values())
    if missing:
        print(f"  MISSING replies        {missing}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--only", choices=["telegram", "slack"], default=None)
    args = parser.parse_args()
    from tests import test_cluster_slack, test_cluster_telegram

    server = Server()
    server.start()
    try:
        for name, module in (("telegram", test_cluster_telegram), ("slack", test_cluster_slack)):
            if args.only and args.only != name:
                continue
            with tempfile.TemporaryDirectory(prefix=f"candor-kill-{name}-") as folder:
                root = Path(folder)
                knowledge = write_articles(root / "knowledge", ARTICLES)
                url = server.database_for(root)
                seed = {} if args.seed is None else {"seed": args.seed}
                figures, found, _, _ = await module.scenario(root / "run", knowledge, url, **seed)
                figures.details["missing"] = found.missing
                show(name, figures)
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
