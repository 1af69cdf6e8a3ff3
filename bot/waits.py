"""How long a customer in the queue will likely wait for a person: an estimate made
from recent claims, the customer's place in the queue, the agents on duty and the
desk's business hours, or none when there is no basis for one. Pure: the desk
(`Desk.waiting_words`) reads the claims and says the result in words.

The model. Each agent takes one case after another; while cases wait, an agent's
claims follow each other every `cycle` (of open time): the weighted mean of the
gaps between one agent's consecutive claims when the later case was already
waiting at the earlier claim (the mean, as the p-th claim comes after a sum of p
gaps; a gap across a closing is left out). With `k` agents on duty the customer at
place `p` is picked up after about `p` of the desk's claims, `p · cycle / k`, and
not sooner than the desk picks up a case with none ahead (the weighted median wait
of the claims no other claim came between); said as that ± 50 %: what lies ahead
depends on who turns up more than on the count of cases (benchmarks/wait_sim.py).
With nobody on duty yet (closed, or open with nobody having acted today) `k` is
the desk's usual number of agents at once (`usual_agents`). A desk that had no
queue lately has no cycle: then the estimate is the weighted 25th to 75th
percentile of recent waits. Waits are counted in open time (a case handed over on
Friday evening and claimed on Monday at 09:05 waited five minutes of people's
time), and the estimate runs in open time from now: from the next opening if the
desk is closed, and on past a closing (a night, a holiday) if it closes first.

Weights: a claim counts half as much every `HALF_LIFE` of open time since it (the
desk's Friday afternoon is what its Monday morning starts from), and not at all
past `HORIZON` of calendar time. At least `MIN_CLAIMS` claims within the horizon
are needed, else there is no basis: with five waits, the chance that the median
wait lies between the smallest and the largest of them is 1 - 2 · 2⁻⁵ ≈ 94 %
(with four 88 %, with three 75 %): the fewest that pin a typical wait down.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.hours import BusinessHours

HALF_LIFE = timedelta(hours=3)
HORIZON = timedelta(days=7)
MIN_CLAIMS = 5
# the latest this many only: plenty to estimate from, and on a desk busy enough to
# have more in a week the older ones count next to nothing (a claim 30 open hours
# old counts 1/1000 as much as a fresh one); weighing 2,000 would take 0.2 s a turn
MAX_CLAIMS = 200
SPREAD = 0.5  # the range said around a queue's estimate: ± 50 %
USUAL_DAY = timedelta(hours=8)  # of open time: the agents of the last working day

Claim = tuple[datetime, datetime, str]  # handed over at, claimed at, agent


@dataclass(frozen=True, slots=True)
class Estimate:
    """The wait as a range of open time, and when it starts and likely ends."""

    low: float  # seconds of open time
    high: float
    starts: datetime  # now, or the desk's next opening
    ends: datetime | None  # when the upper end falls, counted in open time (None: unknown)
    closes_first: bool  # the desk closes between now and `ends`: the wait runs past it


def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float) -> float:
    """The value below which a share `q` of the weight lies (values need no order)."""
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(weight for _value, weight in pairs)
    reached = 0.0
    for value, weight in pairs:
        reached += weight
        if reached >= q * total:
            return value
    return pairs[-1][0]


def _weight(claimed: datetime, now: datetime, hours: BusinessHours) -> float:
    """Half as much every `HALF_LIFE` of open time since the claim: the desk's state
    on Friday afternoon is what Monday morning starts from."""
    age = hours.open_seconds(claimed, now) if claimed < now else 0.0
    return float(0.5 ** (age / HALF_LIFE.total_seconds()))


def cycle(claims: Sequence[Claim], hours: BusinessHours, now: datetime) -> float | None:
    """The weighted mean open time between one agent's consecutive claims while
    cases waited, within one opening (a gap across a closing is the end of a day's
    work and a start of the next, not a cycle); None if there is none."""
    gaps: list[float] = []
    weights: list[float] = []
    last: dict[str, datetime] = {}
    for handed, claimed, agent in sorted(claims, key=lambda claim: claim[1]):
        before = last.get(agent)
        if before is not None and handed <= before:  # it waited while the agent worked
            gap = hours.open_seconds(before, claimed)
            if gap >= (claimed - before).total_seconds() - 60:  # not across a closing
                gaps.append(gap)
                weights.append(_weight(claimed, now, hours))
        last[agent] = claimed
    if not gaps:
        return None
    # the mean, not the median: the p-th claim comes after a sum of p gaps
    return sum(g * w for g, w in zip(gaps, weights, strict=True)) / sum(weights)


def usual_agents(claims: Sequence[Claim], hours: BusinessHours, now: datetime) -> float:
    """How many agents the desk usually has at once: over the last `USUAL_DAY` of
    open time, hour by hour, the mean number of agents who claimed a case in that
    hour (hours without claims left out; at least 1). Counted on when nobody is on
    duty (yet): the desk closed, or open with nobody having acted on it today."""
    by_hour: dict[int, set[str]] = {}
    for _handed, claimed, agent in claims:
        age = hours.open_seconds(claimed, now)
        if age < USUAL_DAY.total_seconds():
            by_hour.setdefault(int(age // 3600), set()).add(agent)
    if not by_hour:
        return 1.0
    return max(1.0, sum(len(agents) for agents in by_hour.values()) / len(by_hour))


def _alone(claims: Sequence[Claim]) -> list[int]:
    """The indexes of the claims no other claim came between the handover and the
    claim of: their waits were the desk's time to pick up a case, not a queue's."""
    times = sorted(claimed for _handed, claimed, _agent in claims)
    return [
        n
        for n, (handed, claimed, _agent) in enumerate(claims)
        if bisect.bisect_left(times, claimed) - bisect.bisect_right(times, handed) == 0
    ]


def estimate(
    claims: Sequence[Claim],
    *,
    position: int,
    on_duty: int,
    hours: BusinessHours,
    now: datetime,
) -> Estimate | None:
    """The wait of the customer at `position` in the queue, or None when there is no
    basis for one (fewer than `MIN_CLAIMS` claims within `HORIZON`). With nobody on
    duty (`on_duty` 0) it counts on the desk's usual agents (`usual_agents`)."""
    latest = sorted(claims, key=lambda claim: claim[1], reverse=True)[:MAX_CLAIMS]
    recent = [claim for claim in latest if now - claim[1] <= HORIZON]
    if len(recent) < MIN_CLAIMS:
        return None
    waits = [hours.open_seconds(handed, claimed) for handed, claimed, _agent in recent]
    weights = [_weight(claimed, now, hours) for _handed, claimed, _agent in recent]
    per_agent = cycle(recent, hours, now)
    place = max(1, position)
    if per_agent is None:  # no queue lately: every wait was the desk's pickup time
        low, high = (weighted_quantile(waits, weights, q) for q in (0.25, 0.75))
    else:
        alone = _alone(recent)
        pickup = (
            weighted_quantile([waits[n] for n in alone], [weights[n] for n in alone], 0.5)
            if alone
            else 0.0
        )
        agents = on_duty or usual_agents(recent, hours, now)
        point = max(pickup, place * per_agent / agents)
        low, high = point * (1 - SPREAD), point * (1 + SPREAD)
    starts = hours.next_open(now) or now
    ends = hours.after_open_time(starts, high)
    closes_first = (
        ends is not None and hours.open_seconds(starts, ends) < (ends - starts).total_seconds() - 60
    )
    return Estimate(low, high, starts, ends, closes_first)


def rounded(seconds: float) -> int:
    """Minutes as people say them: to the minute under 10, to 5 under an hour, to 15
    under 3 hours, then to the hour."""
    value = max(1.0, seconds / 60)
    step = 1 if value < 10 else 5 if value < 60 else 15 if value < 180 else 60
    return max(1, round(value / step) * step)
