"""Honest waits: what a customer in the queue is told, through the real engine and a
fake clock (no basis, a normal wait, place 5 against place 1, more agents on duty,
closed now, a holiday, stale claims), the estimator's rules, and who is on duty."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Candor
from bot.config import ConfigError, load
from bot.duty import on_duty
from bot.hours import DAYS, BusinessHours, parse_ranges
from bot.model import InboundKind
from bot.waits import MIN_CLAIMS, estimate, rounded
from tests.conftest import Agent, Clock, Customer, RecordingDesk, handed_over, write_config

Factory = Callable[[str], Customer]
HOLIDAY = "2026-11-24"  # the Tuesday after the clock's Monday 23 November 2026
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WEEKDAYS = {day: parse_ranges("09:00-17:00") for day in DAYS[:5]} | {"sat": (), "sun": ()}


@pytest.fixture
def config_path(tmp_path: Path, knowledge_dir: Path) -> Path:
    """The test config, with a holiday and German besides English."""
    path = write_config(tmp_path, knowledge_dir, f'[hours]\nclosed = ["{HOLIDAY}"]\n')
    text = path.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"', 'company = "Northwind Cloud"\nlanguages = ["en", "de"]'
    )
    path.write_text(text, encoding="utf-8")
    return path


async def claimed_one_by_one(
    people: Factory, maria: Agent, clock: Clock, waits: list[int], prefix: str = "h"
) -> None:
    """Each customer hands over and Maria claims them `wait` minutes later, the next
    one coming after: no queue, each wait is the desk's pickup time."""
    for n, wait in enumerate(waits):
        who = people(f"{prefix}{n}")
        await handed_over(who)
        clock.advance(minutes=wait)
        await maria.say(f"/claim {(await case_id(who))}")
        clock.advance(minutes=1)


async def case_id(who: Customer) -> int:
    customer = await who.app.store.customer_by_identity(who.identity)
    assert customer is not None
    return (await who.app.store.cases_of(customer.id))[-1].id


def figures(told: str) -> list[int]:
    """The numbers of "in about 20–30 minutes" (or "about 20 minutes")."""
    found = re.search(r"in about (\d+)(?:–(\d+))? minutes", told)
    assert found is not None, told
    return [int(g) for g in found.groups() if g]


async def test_too_few_recent_claims_is_no_basis_for_an_estimate(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await claimed_one_by_one(customer_factory, maria, clock, [20] * (MIN_CLAIMS - 1))
    told = (await handed_over(customer_factory("ann")))[-1]
    assert "You're number 1 in the queue." in told
    assert "There's no basis for an estimate of the wait yet" in told
    assert "minutes" not in told  # no figure invented


async def test_a_normal_wait_is_a_rounded_range_from_recent_claims(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await claimed_one_by_one(customer_factory, maria, clock, [12, 18, 20, 22, 28])
    told = (await handed_over(customer_factory("ann")))[-1]
    assert "You're number 1 in the queue." in told
    said = figures(told)
    assert 15 <= min(said) <= max(said) <= 25 and all(n % 5 == 0 for n in said)  # not "19.4"
    assert "A person usually picks up in about" in told


async def test_further_back_in_the_queue_is_a_longer_wait_and_more_agents_a_shorter_one(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    clock: Clock,
    desk: RecordingDesk,
) -> None:
    maria, sam = agent_factory("maria"), agent_factory("sam")
    # six customers queue at once; Maria takes one every 10 minutes: her cycle
    queued = [customer_factory(f"q{n}") for n in range(6)]
    for who in queued:
        await handed_over(who)
    for who in queued:
        clock.advance(minutes=10)
        await maria.say(f"/claim {await case_id(who)}")
    told = [(await handed_over(customer_factory(f"new{n}")))[-1] for n in range(5)]
    assert "You're number 1 in the queue." in told[0]
    assert "You're number 5 in the queue." in told[4]
    first, fifth = figures(told[0]), figures(told[4])
    assert max(first) < min(fifth)
    assert 40 <= sum(fifth) / len(fifth) <= 60  # five claims of Maria's 10-minute cycle
    # Sam comes on duty (he acts on the desk): two agents, the fifth waits about half
    await sam.say("/note covering the queue", case=await case_id(customer_factory("new0")))
    assert desk.sent[-1].text.startswith("📝 Note saved")
    [status] = await customer_factory("new4").send("/status")
    halved = figures(status)
    assert sum(halved) / len(halved) < 0.7 * sum(fifth) / len(fifth)


async def test_when_the_desk_is_closed_the_wait_starts_at_the_opening(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await claimed_one_by_one(customer_factory, maria, clock, [20] * 5)
    clock.now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # Saturday evening
    told = (await handed_over(customer_factory("ann")))[-1]
    assert "Nobody is at the desk right now; people are back Monday 09:00 (UTC)." in told
    assert "Once the desk opens, a person usually picks up in about 20 minutes." in told


async def test_a_holiday_is_said_and_the_wait_runs_past_it(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await claimed_one_by_one(customer_factory, maria, clock, [20] * 5)
    clock.now = datetime(2026, 11, 23, 16, 50, tzinfo=UTC)  # Monday: closes at 17:00
    told = (await handed_over(customer_factory("ann")))[-1]
    # 10 minutes today, 10 more on Wednesday, the Tuesday being a holiday
    assert (
        "With the usual wait of 20 minutes and the desk closed in between, a person will"
        " likely pick up by Wednesday, November 25, 2026 09:10 (UTC)." in told
    )
    clock.now = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # the holiday itself
    told = (await handed_over(customer_factory("bob")))[-1]
    assert "The desk is closed today (holiday); people are back tomorrow at 09:00 (UTC)." in told


async def test_a_german_customer_is_told_the_wait_in_german(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await claimed_one_by_one(customer_factory, maria, clock, [20, 25, 30, 25, 20])
    clock.now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # Saturday evening
    karl = customer_factory("karl")
    await karl.send("/human", language_hint="de")
    [*_, told] = await karl.send(
        "", InboundKind.BUTTON, payload=karl.shown("handover:send"), language_hint="de"
    )
    assert "Gerade ist niemand im Team erreichbar; wir sind am Montag um 09:00 (UTC)" in told
    assert "Sobald das Team wieder da ist, meldet sich üblicherweise eine Person in etwa" in told
    assert re.search(r"in etwa \d+–\d+ Minuten\.", told), told


async def test_claims_older_than_the_horizon_are_no_basis(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await claimed_one_by_one(customer_factory, maria, clock, [20] * 6)
    clock.now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # nine days later
    told = (await handed_over(customer_factory("ann")))[-1]
    assert "There's no basis for an estimate of the wait yet" in told
    # and the same customers' claims make a figure once they are recent again
    await claimed_one_by_one(customer_factory, maria, clock, [30] * 5, prefix="r")
    [status] = await customer_factory("ann").send("/status")
    assert "in about 30 minutes" in status


async def test_on_duty_is_open_hours_and_a_recent_action_of_a_configured_agent(
    customer_factory: Factory, agent_factory: Callable[[str], Agent], clock: Clock, app: Candor
) -> None:
    maria = agent_factory("maria")
    ann = customer_factory("ann")
    await handed_over(ann)
    async with app.store.transaction() as tx:
        assert await on_duty(tx, app.desk, clock.now) == frozenset()  # nobody acted yet
    await maria.say(f"/claim {await case_id(ann)}")
    async with app.store.transaction() as tx:
        assert await on_duty(tx, app.desk, clock.now) == {"Maria"}
        later = clock.now + timedelta(hours=4, minutes=1)
        assert await on_duty(tx, app.desk, later) == frozenset()  # past on_duty_hours
        evening = clock.now.replace(hour=18)
        assert await on_duty(tx, app.desk, evening) == frozenset()  # the desk is closed


def test_the_estimator_says_none_below_the_minimum_and_ignores_stale_claims() -> None:
    hours = BusinessHours("UTC", WEEKDAYS)
    fresh = [
        (MONDAY - timedelta(minutes=30 + n), MONDAY - timedelta(minutes=n), f"a{n}")
        for n in range(5)
    ]
    assert estimate(fresh[:4], position=1, on_duty=1, hours=hours, now=MONDAY) is None
    found = estimate(fresh, position=1, on_duty=1, hours=hours, now=MONDAY)
    assert found is not None and found.low == found.high == 30 * 60
    stale = [(a - timedelta(days=8), b - timedelta(days=8), m) for a, b, m in fresh]
    assert estimate(stale, position=1, on_duty=1, hours=hours, now=MONDAY) is None


def test_waits_count_open_time_and_figures_round_as_people_say_them() -> None:
    hours = BusinessHours("UTC", WEEKDAYS)
    friday_night, monday = (
        datetime(2026, 11, 20, 20, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 5, tzinfo=UTC),
    )
    assert hours.open_seconds(friday_night, monday) == 5 * 60
    weekend = [(friday_night, monday, f"a{n}") for n in range(5)]  # nobody claimed twice
    found = estimate(weekend, position=1, on_duty=1, hours=hours, now=monday)
    assert found is not None and found.high == 5 * 60  # not 61 hours
    assert [rounded(s * 60) for s in (0.2, 7.4, 23, 52, 100, 200)] == [1, 7, 25, 50, 105, 180]


def test_a_bad_closed_day_is_refused_naming_it(tmp_path: Path, knowledge_dir: Path) -> None:
    path = write_config(tmp_path, knowledge_dir, '[hours]\nclosed = ["2026-12-32"]\n')
    with pytest.raises(ConfigError, match=r"hours\.closed.*'2026-12-32' is not a date"):
        load(path)
    ranged = write_config(tmp_path, knowledge_dir, '[hours]\nclosed = ["2026-12-24..2026-12-26"]\n')
    hours = load(ranged).hours.business_hours()
    unquoted = write_config(tmp_path, knowledge_dir, "[hours]\nclosed = [2026-12-24]\n")
    assert load(unquoted).hours.business_hours().closed == {date(2026, 12, 24)}
    christmas_eve = datetime(2026, 12, 24, 10, tzinfo=UTC)
    assert not hours.is_open(christmas_eve)
    assert hours.describe_next_open(christmas_eve) == "Monday, December 28, 2026 09:00 (UTC)"
