"""How long `candor report`'s figures take (bot/report.py `figures`, with the splits
per agent, channel, language and ISO week) on a synthetic history: cases spread over
a period, 40 % handed over, 80 % resolved, four agents, three channels, six
languages. The splits group the events by case once: the time grows with the
events, not with events times parts.

    .venv/bin/python benchmarks/report_bench.py

A few seconds on a busy 2-core machine.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from bot.model import CaseState, Event, EventKind
from bot.report import ReportData, default_sections, figures
from bot.store.protocols import CaseTimes

START = datetime(2026, 1, 5, tzinfo=UTC)


def history(n_cases: int, days: int, seed: int = 7) -> ReportData:
    rnd = random.Random(seed)
    cases: list[CaseTimes] = []
    events: list[Event] = []
    for case in range(1, n_cases + 1):
        opened = START + timedelta(seconds=rnd.uniform(0, days * 86400))
        at = opened
        kinds = [(EventKind.CUSTOMER, "customer"), (EventKind.ANSWER, "bot")]
        if rnd.random() < 0.2:
            kinds.append((EventKind.UNKNOWN, "bot"))
        if rnd.random() < 0.4:
            agent = rnd.choice(["Maria", "Jonas", "Ana", "Li"])
            kinds += [(EventKind.HANDOVER, "bot"), (EventKind.CLAIM, agent)]
            kinds += [(EventKind.AGENT, agent), (EventKind.AGENT, agent)]
        resolved = rnd.random() < 0.8
        if resolved:
            kinds += [(EventKind.STATE, "Maria"), (EventKind.RATING, "customer")]
        for kind, actor in kinds:
            at += timedelta(minutes=rnd.uniform(0.1, 20))
            data = {"score": rnd.randint(1, 5)} if kind is EventKind.RATING else {}
            events.append(Event(len(events) + 1, case, at, kind, actor, "words", data))
        state = CaseState.RESOLVED if resolved else CaseState.BOT
        channel = rnd.choice(["telegram", "slack", "console"])
        language = rnd.choice(["en", "de", "es", "fr", "pt", ""])
        cases.append(CaseTimes(case, state, opened, at if resolved else None, channel, language))
    return ReportData(None, START + timedelta(days=days), cases, events, 0, ())


def main() -> None:
    default_sections()  # the features imported once, outside the timing
    for n_cases, days in ((2_000, 90), (20_000, 365), (50_000, 365)):
        data = history(n_cases, days)
        began = time.perf_counter()
        figures(data)
        took = time.perf_counter() - began
        print(f"{n_cases:>6} cases, {len(data.events):>7} events, {days} days: {took:.2f} s")


if __name__ == "__main__":
    main()
