"""How wrong the wait customers are told is: a simulated week of a desk, each
customer told the old estimate (the median of the last 20 claim times, of any age,
from one claim on: Candor before issue 19) and the new one (`bot.waits.estimate`:
recent claims weighted by recency, the place in the queue, the agents on duty and
business hours), against the wait they then had.

The week (Monday 30 November to Friday 4 December 2026, UTC): the desk is open
09:00-17:00 on weekdays, closed on Wednesday 2 December (a holiday, `[hours]
closed`). Customers hand over day and night (Poisson: 3 an hour from 08:00 to 18:00,
0.3 an hour otherwise). Agents work shifts (Monday, Tuesday and Thursday: Ana
09:00-17:00, Ben 09:00-13:00, Cai 12:00-17:00; Friday: Ana alone). A free agent
claims the case waiting longest after noticing it (exponential, mean 3 minutes),
works on it one at a time (exponential, mean 20 minutes) and resolves it. "On duty"
is `bot.duty`'s definition: the desk open and the agent acted (claimed, resolved)
in the last 4 hours. Estimates are asked at each handover, with the claims so far.

Printed, per estimator and for all customers, those who wrote while the desk was
open, those who wrote while it was closed, and those 3rd or further back in the
queue: how many were given a figure, the median and the 90th percentile of the
absolute error in minutes, and for the new estimate how often the wait fell inside
the range said. "Old + opening" is the old figure counted from the opening it
named when closed (the most a careful reader could make of it).

    .venv/bin/python benchmarks/wait_sim.py [--seed 19] [--days 5]
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.hours import DAYS, BusinessHours, parse_closed, parse_ranges
from bot.waits import Claim, estimate

START = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday
HOURS = BusinessHours(
    "UTC",
    {day: parse_ranges("09:00-17:00") for day in DAYS[:5]} | {"sat": (), "sun": ()},
    parse_closed(["2026-12-02"]),
)
SHIFTS = {  # weekday → agent → (from, to)
    0: {"Ana": (9, 17), "Ben": (9, 13), "Cai": (12, 17)},
    1: {"Ana": (9, 17), "Ben": (9, 13), "Cai": (12, 17)},
    3: {"Ana": (9, 17), "Ben": (9, 13), "Cai": (12, 17)},
    4: {"Ana": (9, 17)},
}
ON_DUTY_FOR = timedelta(hours=4)
NOTICE_MINUTES, WORK_MINUTES = 3.0, 20.0


@dataclass
class Told:
    at: datetime
    position: int
    open_now: bool
    old: float | None  # minutes
    old_opening: float | None
    new: float | None
    new_range: tuple[float, float] | None
    waited: float = 0.0


@dataclass(order=True)
class Agenda:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    who: str = field(compare=False, default="")


def on_shift(agent: str, moment: datetime) -> bool:
    hours = SHIFTS.get(moment.weekday(), {}).get(agent)
    if hours is None or not HOURS.is_open(moment):
        return False
    return time(hours[0]) <= moment.time() < time(hours[1])


def arrivals(rng: random.Random, days: int) -> list[datetime]:
    found, moment, end = [], START, START + timedelta(days=days)
    while moment < end:
        rate = 3.0 if 8 <= moment.hour < 18 else 0.3  # an hour
        moment += timedelta(hours=rng.expovariate(rate))
        found.append(moment)
    return found[:-1]


def run(seed: int, days: int) -> list[Told]:
    rng = random.Random(seed)
    agenda: list[Agenda] = []
    seq = 0

    def plan(at: datetime, kind: str, who: str = "") -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(agenda, Agenda(at, seq, kind, who))

    for at in arrivals(rng, days):
        plan(at, "arrive")
    agents = sorted({a for shift in SHIFTS.values() for a in shift})
    for day in range(days):  # each agent looks at the desk at every shift start
        for agent in agents:
            hours = SHIFTS.get((START + timedelta(days=day)).weekday(), {}).get(agent)
            if hours:
                plan(START + timedelta(days=day, hours=hours[0]), "free", agent)
    queue: list[int] = []  # indexes into told, longest waiting first
    told: list[Told] = []
    claims: list[Claim] = []
    acted: dict[str, datetime] = {}
    busy: set[str] = set()
    noticing: set[str] = set()
    while agenda:
        event = heapq.heappop(agenda)
        now = event.at
        if event.kind == "arrive":
            queue.append(len(told))
            duty = (
                {a for a, at in acted.items() if now - at <= ON_DUTY_FOR}
                if HOURS.is_open(now)
                else set()
            )
            told.append(tell(claims, len(queue), len(duty), now))
            for agent in agents:  # a free agent on shift notices the new case
                if agent not in busy and agent not in noticing and on_shift(agent, now):
                    noticing.add(agent)
                    plan(
                        now + timedelta(minutes=rng.expovariate(1 / NOTICE_MINUTES)), "claim", agent
                    )
        elif event.kind == "free":
            busy.discard(event.who)
            if event.who not in noticing and queue and on_shift(event.who, now):
                noticing.add(event.who)
                wait = rng.expovariate(1 / NOTICE_MINUTES)
                plan(now + timedelta(minutes=wait), "claim", event.who)
        elif event.kind == "claim":
            noticing.discard(event.who)
            if not queue or not on_shift(event.who, now):
                continue
            case = told[queue.pop(0)]
            case.waited = (now - case.at).total_seconds() / 60
            claims.append((case.at, now, event.who))
            acted[event.who] = now
            busy.add(event.who)
            done = now + timedelta(minutes=rng.expovariate(1 / WORK_MINUTES))
            plan(done, "resolve", event.who)
        elif event.kind == "resolve":
            acted[event.who] = now
            plan(now, "free", event.who)
    return [t for t in told if t.waited > 0]  # those claimed within the simulated days


def tell(claims: list[Claim], position: int, on_duty: int, now: datetime) -> Told:
    latest = sorted(claims, key=lambda c: c[1], reverse=True)[:20]
    old = statistics.median((b - a).total_seconds() / 60 for a, b, _ in latest) if latest else None
    opening = HOURS.next_open(now) or now
    old_opening = None if old is None else old + (opening - now).total_seconds() / 60
    found = estimate(claims, position=position, on_duty=on_duty, hours=HOURS, now=now)
    new = new_range = None
    if found is not None:
        ends = [HOURS.after_open_time(found.starts, s) for s in (found.low, found.high)]
        mid = HOURS.after_open_time(found.starts, (found.low + found.high) / 2)
        if mid is not None and ends[0] is not None and ends[1] is not None:
            new = (mid - now).total_seconds() / 60
            new_range = ((ends[0] - now).total_seconds() / 60, (ends[1] - now).total_seconds() / 60)
    return Told(now, position, HOURS.is_open(now), old, old_opening, new, new_range)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]


def report(told: list[Told]) -> None:
    groups = {
        "all": told,
        "desk open": [t for t in told if t.open_now],
        "desk closed": [t for t in told if not t.open_now],
        "3rd or further": [t for t in told if t.position >= 3],
    }
    head = ("group", "estimator", "figure", "median err", "p90 err", "in range")
    print(f"{head[0]:<16}{head[1]:<16}{head[2]:>8}{head[3]:>12}{head[4]:>10}{head[5]:>10}")
    for name, group in groups.items():
        for label, pick in (
            ("old", lambda t: t.old),
            ("old + opening", lambda t: t.old_opening),
            ("new", lambda t: t.new),
        ):
            errors = [abs(pick(t) - t.waited) for t in group if pick(t) is not None]
            inside = ""
            if label == "new":
                ranged = [t for t in group if t.new_range is not None]
                hits = sum(r[0] <= t.waited <= r[1] for t in ranged if (r := t.new_range))
                inside = f"{100 * hits / max(1, len(ranged)):.0f} %"
            if errors:
                print(
                    f"{name:<16}{label:<16}{len(errors):>5}/{len(group):<3}"
                    f"{statistics.median(errors):>11.0f}{p90(errors):>10.0f}{inside:>10}"
                )
    none = sum(t.new is None for t in told)
    waited = [t.waited for t in told]
    print(
        f"no basis said (new): {none} of {len(told)}; waits: median"
        f" {statistics.median(waited):.0f} min, p90 {p90(waited):.0f} min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--days", type=int, default=5)
    args = parser.parse_args()
    told = run(args.seed, args.days)
    print(f"command: python benchmarks/wait_sim.py --seed {args.seed} --days {args.days}")
    print(f"customers claimed: {len(told)} (errors in minutes, wall-clock)")
    report(told)


if __name__ == "__main__":
    main()
