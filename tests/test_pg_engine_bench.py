"""The PostgreSQL benchmark (benchmarks/pg_engine_bench.py) in its smallest
configuration, as a functional check: it completes, every message is committed on
both backends with the same rows, one open case per customer, and the outbox sends
each reply once. Figures are only checked to be there, never against a speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "pg_engine_bench.py"


def test_the_smallest_benchmark_commits_every_message_on_both_backends() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)["results"]
    assert [(r["backend"], r["processes"], r["same_customers"]) for r in results] == [
        ("sqlite", 1, False),
        ("postgresql", 1, False),
        ("postgresql", 2, True),
    ]
    sqlite = results[0]
    for r in results:
        assert r["committed"] == r["messages"] == 200, r["name"]
        assert r["counts"]["inbound_seen"] == 200, r["name"]
        assert r["counts"]["customers"] == r["counts"]["cases"] == 50, r["name"]
        assert r["most_open_cases_of_a_customer"] == 1, r["name"]
        assert r["per_second"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"], r["name"]
        outbox = r["outbox"]
        assert outbox["rows"] > 0 and outbox["left_pending"] == 0, r["name"]
        assert outbox["sent"] == outbox["rows"] and outbox["sent_twice"] == 0, r["name"]
    # customers split between processes do the same work as on SQLite
    assert results[1]["counts"] == sqlite["counts"]
    assert results[1]["trips_per_message"] > 0
    assert sum(results[2]["outbox"]["by_process"]) == results[2]["outbox"]["rows"]
