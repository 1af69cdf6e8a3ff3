"""Business hours and when a person will be back."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.hours import BusinessHours, parse_closed, parse_ranges

WEEKDAYS = parse_ranges("09:00-12:00, 13:00-17:00")
HOURS = BusinessHours(
    "Europe/Berlin",
    {day: WEEKDAYS for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": (), "sun": ()},
)


def test_parse_ranges() -> None:
    assert parse_ranges("") == ()
    assert parse_ranges("00:00-24:00") == ((time(0, 0), time.max),)
    with pytest.raises(ValueError, match="not a range"):
        parse_ranges("9-5")
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_ranges("17:00-09:00")


def test_open_and_closed_in_the_desk_time_zone() -> None:
    # Monday 23 Nov 2026, 08:30 UTC is 09:30 in Berlin
    assert HOURS.is_open(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    assert not HOURS.is_open(datetime(2026, 11, 23, 11, 30, tzinfo=UTC))  # lunch in Berlin
    assert not HOURS.is_open(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Saturday


def test_when_people_are_back() -> None:
    lunch = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    assert HOURS.describe_next_open(lunch) == "today at 13:00 (Europe/Berlin)"
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    assert HOURS.describe_next_open(friday_night) == "Monday 09:00 (Europe/Berlin)"
    monday_night = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    assert HOURS.describe_next_open(monday_night) == "tomorrow at 09:00 (Europe/Berlin)"
    assert BusinessHours.always().is_open(friday_night)
    closed = BusinessHours("UTC", {d: () for d in HOURS.week})
    assert closed.next_open(friday_night) is None


@pytest.mark.parametrize(
    ("language", "today", "weekday", "tomorrow"),
    [
        ("de", "heute um 13:00", "am Montag um 09:00", "morgen um 09:00"),
        ("es", "hoy a las 13:00", "el lunes a las 09:00", "mañana a las 09:00"),
        ("fr", "aujourd'hui à 13:00", "lundi à 09:00", "demain à 09:00"),
        ("pt", "hoje às 13:00", "segunda-feira às 09:00", "amanhã às 09:00"),
    ],
)
def test_when_people_are_back_in_the_customers_language(
    language: str, today: str, weekday: str, tomorrow: str
) -> None:
    from bot.i18n import speaking

    with speaking(language):
        said = [
            HOURS.describe_next_open(datetime(2026, 11, 23, 11, 30, tzinfo=UTC)),
            HOURS.describe_next_open(datetime(2026, 11, 27, 20, 0, tzinfo=UTC)),
            HOURS.describe_next_open(datetime(2026, 11, 23, 20, 0, tzinfo=UTC)),
        ]
    assert said == [f"{w} (Europe/Berlin)" for w in (today, weekday, tomorrow)]


def test_closed_days_are_skipped_and_said_with_their_date() -> None:
    closed = parse_closed(["2026-11-24", "2026-11-26..2026-11-27"])  # Tue, Thu-Fri
    hours = BusinessHours(HOURS.timezone, HOURS.week, closed)
    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert HOURS.is_open(tuesday) and not hours.is_open(tuesday)
    assert hours.is_closed_day(tuesday) and not hours.is_closed_day(tuesday.replace(day=23))
    assert hours.describe_next_open(tuesday) == "tomorrow at 09:00 (Europe/Berlin)"
    wednesday_night = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    assert (
        hours.describe_next_open(wednesday_night)
        == "Monday, November 30, 2026 09:00 (Europe/Berlin)"
    )
    with pytest.raises(ValueError, match="not a date"):
        parse_closed(["25.12.2026"])
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_closed(["2026-12-26..2026-12-24"])


def test_open_time_runs_across_lunch_and_nights() -> None:
    before_lunch = datetime(2026, 11, 23, 10, 50, tzinfo=UTC)  # 11:50 in Berlin
    # 10 minutes before lunch, 20 after it (13:00-13:20 in Berlin)
    assert HOURS.after_open_time(before_lunch, 30 * 60) == datetime(
        2026, 11, 23, 12, 20, tzinfo=UTC
    )
    assert HOURS.open_seconds(before_lunch, datetime(2026, 11, 23, 12, 20, tzinfo=UTC)) == 30 * 60
    friday_late = datetime(2026, 11, 27, 15, 50, tzinfo=UTC)  # 16:50 in Berlin
    monday = HOURS.after_open_time(friday_late, 20 * 60)
    assert monday == datetime(2026, 11, 30, 8, 10, tzinfo=UTC)  # Monday 09:10 in Berlin
    assert HOURS.open_seconds(friday_late, monday) == 20 * 60
