"""How long the web pages take to make (bot/web/, served by adapters/web/server.py),
over HTTP on aiohttp's test server, from a SQLite database filled through the
store's protocols: N cases over 90 days (each with a customer message; half handed
over, claimed, replied to, resolved and rated), 30 incidents with 5 updates each.

    .venv/bin/python benchmarks/web_bench.py [--cases 1000 10000] [--runs 20]

Prints, per size and page, the median and the slowest of `runs` requests (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from adapters.web.server import WebServer
from bot.model import Address, CaseState, EventKind, Identity
from bot.store import SQLiteStore, Store
from bot.web.settings import WebSettings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def fill(store: Store, cases: int) -> None:
    span = timedelta(days=90).total_seconds()
    async with store.transaction() as tx:
        for n in range(cases):
            opened = NOW - timedelta(seconds=span * (n + 0.5) / cases)
            customer, _ = await tx.customers.for_identity(
                Identity("bench", "w", f"c{n}"), f"Customer {n}", Address("bench", f"c{n}"), opened
            )
            case = await tx.cases.new(customer.id, opened)
            await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", "hello", opened)
            if n % 2:
                continue
            at = opened + timedelta(minutes=1)
            await tx.timeline.append(case.id, EventKind.HANDOVER, "bot", "asked for a person", at)
            await tx.timeline.append(
                case.id, EventKind.CLAIM, "Maria", "claimed", at + timedelta(minutes=n % 17)
            )
            await tx.timeline.append(
                case.id, EventKind.AGENT, "Maria", "hi", at + timedelta(minutes=n % 23)
            )
            done = at + timedelta(minutes=40)
            await tx.cases.update(replace(case, state=CaseState.RESOLVED, resolved_at=done))
            await tx.timeline.append(
                case.id, EventKind.RATING, "customer", "5", done, {"score": 1 + n % 5}
            )
        for n in range(30):
            opened = NOW - timedelta(days=n)
            number = await tx.incidents.open(f"Incident {n}", "checkout", ["x"], "Maria", opened)
            for u in range(5):
                last = u == 4 and n > 2
                await tx.incidents.add_update(
                    number, "Maria", f"update {u}", opened + timedelta(minutes=u), resolve=last
                )


async def measure(cases: int, runs: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "bench.sqlite3")
        await store.open()
        try:
            await fill(store, cases)
            web = WebServer(store, WebSettings(), "Bench", ["Maria"], clock=lambda: NOW)
            async with store.transaction() as tx:
                await tx.web.add_session("a" * 64, "Maria", NOW, NOW + timedelta(hours=1))
            cookie = {"Cookie": "candor_session=" + "a" * 64}
            pages = {
                "status": "/status",
                "feed": "/status/feed.atom",
                "overview 7 days": "/dashboard?days=7",
                "overview 30 days": "/dashboard?days=30",
                "overview 90 days": "/dashboard?days=90",
                "csv 90 days by week": "/dashboard/csv?days=90&table=by_period",
            }
            found = []
            async with TestClient(TestServer(web.app())) as client:
                for name, path in pages.items():
                    took = []
                    for _ in range(runs):
                        start = time.perf_counter()
                        response = await client.get(path, headers=cookie)
                        await response.read()
                        took.append((time.perf_counter() - start) * 1000)
                        assert response.status == 200, (path, response.status)
                    found.append((name, statistics.median(took), max(took)))
            return found
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(
        f"command: python benchmarks/web_bench.py --cases {' '.join(map(str, args.cases))}"
        f" --runs {args.runs}"
    )
    print(f"{'cases':>6}  {'page':<22} {'median ms':>10} {'max ms':>8}")
    for cases in args.cases:
        for name, median, slowest in asyncio.run(measure(cases, args.runs)):
            print(f"{cases:>6}  {name:<22} {median:>10.1f} {slowest:>8.1f}")


if __name__ == "__main__":
    main()
