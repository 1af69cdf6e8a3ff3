"""Business hours: when people are at the desk, so the bot can say truthfully
when a person will be back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from bot.i18n import _, current

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*$")


def parse_ranges(spec: str) -> tuple[tuple[time, time], ...]:
    """ "09:00-12:00, 13:00-17:00" → ranges; "" → closed. Raises ValueError."""
    ranges = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a range like 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start = time(h1, m1)
        end = time.max if (h2, m2) == (24, 0) else time(h2 % 24, m2)
        if (h2, m2) != (24, 0) and end <= start:
            raise ValueError(f"{part!r} ends before it starts")
        ranges.append((start, end))
    return tuple(sorted(ranges))


@dataclass(frozen=True, slots=True)
class BusinessHours:
    timezone: str
    week: Mapping[str, tuple[tuple[time, time], ...]]  # "mon" … "sun"

    @classmethod
    def always(cls) -> BusinessHours:
        return cls("UTC", {day: ((time(0, 0), time.max),) for day in DAYS})

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        now = local.time()
        return any(start <= now < end for start, end in self.week[DAYS[local.weekday()]])

    def next_open(self, moment: datetime) -> datetime | None:
        """When people are next at the desk (now if open); None if never."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            for start, _end in self.week[DAYS[day.weekday()]]:
                opening = datetime.combine(day, start, self.zone)
                if opening > local:
                    return opening
        return None

    def describe_next_open(self, moment: datetime) -> str:
        """ "Monday 09:00 (Europe/Berlin)", "today at 13:00 (UTC)"."""
        opening = self.next_open(moment)
        if opening is None:
            return _("when the team is next available")
        local = moment.astimezone(self.zone)
        locale = current()
        at = format_time(opening, "HH:mm", locale=locale)
        if opening.date() == local.date():
            said = _("today at {time}").format(time=at)
        elif opening.date() == local.date() + timedelta(days=1):
            said = _("tomorrow at {time}").format(time=at)
        else:
            day = format_date(opening, "EEEE", locale=locale)
            said = _("{day} {time}").format(day=day, time=at)  # "Monday 09:00", "am Montag …"
        return f"{said} ({self.timezone})"
