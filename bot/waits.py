"""How long a customer in the queue will likely wait for a person: an estimate made
from recent claims, the customer's place in the queue, the agents on duty and the
desk's business hours, or none when there is no basis for one. Pure: the desk
(`Desk.waiting_words`) reads the claims and says the result in words.

The model. Each agent takes one case after another; while cases wait, an agent's
claims follow each other every `cycle` (of open time): the weighted median of the
gaps between one agent's consecutive claims when the later case was already
waiting at the earlier claim. With `k` agents on duty the customer at place `p` is
picked up after about `p` of the desk's claims, `p · cycle / k`, and not sooner
than the desk picks up a case with none ahead (the weighted median wait of the
claims no other claim came between): that, ± 50 % / √p. A desk that never had a
queue lately has no cycle: then it is the weighted 25th to 75th percentile of
recent waits. Waits are counted in open
time (a case handed over on Friday evening and claimed on Monday at 09:05 waited
five minutes of people's time), and the estimate runs in open time from now: if
the desk is closed, from its next opening; if it closes first, on at the opening
after that.

Weights: a claim counts half as much every `HALF_LIFE` of age, and not at all past
`HORIZON`. At least `MIN_CLAIMS` claims within the horizon are needed: with five
waits, the chance that the true median lies between the smallest and the largest of
them is 1 - 2 · 2⁻⁵ ≈ 94 % (with four, 88 %; with three, 75 %), the least for which a
range said to a customer is more likely right than wrong by a wide margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.hours import BusinessHours

HALF_LIFE = timedelta(hours=3)
HORIZON = timedelta(days=7)
MIN_CLAIMS = 5

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


def _weight(claimed: datetime, now: datetime) -> float:
    age = max(0.0, (now - claimed).total_seconds())
    return float(0.5 ** (age / HALF_LIFE.total_seconds()))


def cycle(claims: Sequence[Claim], hours: BusinessHours, now: datetime) -> float | None:
    """The weighted median open time between one agent's consecutive claims while
    cases waited; None if no agent claimed twice with a case waiting."""
    gaps: list[float] = []
    weights: list[float] = []
    last: dict[str, datetime] = {}
    for handed, claimed, agent in sorted(claims, key=lambda claim: claim[1]):
        before = last.get(agent)
        if before is not None and handed <= before:  # it waited while the agent worked
            gaps.append(hours.open_seconds(before, claimed))
            weights.append(_weight(claimed, now))
        last[agent] = claimed
    return weighted_quantile(gaps, weights, 0.5) if gaps else None


def _behind_others(claim: Claim, claims: Sequence[Claim]) -> bool:
    """Whether another case was claimed while `claim`'s case waited: its wait was a
    queue's, not the desk's time to pick up a case."""
    handed, claimed, _agent = claim
    return any(handed < other[1] < claimed for other in claims)


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
    duty the estimate assumes one agent: the desk is open or about to be."""
    recent = [claim for claim in claims if now - claim[1] <= HORIZON]
    if len(recent) < MIN_CLAIMS:
        return None
    waits = [hours.open_seconds(handed, claimed) for handed, claimed, _agent in recent]
    weights = [_weight(claimed, now) for _handed, claimed, _agent in recent]
    per_agent = cycle(recent, hours, now)
    place = max(1, position)
    if per_agent is None:  # no queue lately: every wait was the desk's pickup time
        low, high = (weighted_quantile(waits, weights, q) for q in (0.25, 0.75))
    else:
        alone = [n for n, claim in enumerate(recent) if not _behind_others(claim, recent)]
        pickup = (
            weighted_quantile([waits[n] for n in alone], [weights[n] for n in alone], 0.5)
            if alone
            else 0.0
        )
        point = max(pickup, place * per_agent / max(1, on_duty))
        # the p-th of the desk's claims varies less the further back in the queue: the
        # spread of a sum of p similar intervals grows as √p, its mean as p
        spread = 0.5 / math.sqrt(place)
        low, high = point * (1 - spread), point * (1 + spread)
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
