"""Business hours: when people are at the desk, so the bot can say truthfully
when a person will be back."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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


MAX_CLOSED_RANGE = 366  # days: a longer "a..b" range is a typo, not a closure


def parse_closed(specs: Iterable[str]) -> frozenset[date]:
    """ "2026-12-25", "2026-12-24..2026-12-26" → the days. Raises ValueError naming
    the entry that is not a date or a range of dates."""
    days: set[date] = set()
    for spec in specs:
        first, _sep, last = spec.strip().partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError:
            raise ValueError(
                f"{spec!r} is not a date like 2026-12-25 or a range like 2026-12-24..2026-12-26"
            ) from None
        if end < start or (end - start).days > MAX_CLOSED_RANGE:
            raise ValueError(f"{spec!r} ends before it starts or spans more than a year")
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    timezone: str
    week: Mapping[str, tuple[tuple[time, time], ...]]  # "mon" … "sun"
    closed: frozenset[date] = field(default_factory=frozenset)  # holidays, in `timezone`

    @classmethod
    def always(cls) -> BusinessHours:
        return cls("UTC", {day: ((time(0, 0), time.max),) for day in DAYS})

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def ranges_on(self, day: date) -> tuple[tuple[time, time], ...]:
        """The day's open ranges: none on a closed day."""
        return () if day in self.closed else self.week[DAYS[day.weekday()]]

    def is_closed_day(self, moment: datetime) -> bool:
        """Whether `moment` falls on one of the `closed` days (a holiday)."""
        return moment.astimezone(self.zone).date() in self.closed

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        now = local.time()
        return any(start <= now < end for start, end in self.ranges_on(local.date()))

    def _open_spans(self, moment: datetime) -> Iterable[tuple[datetime, datetime]]:
        """The open spans from `moment` on (the current one cut to start at it), in
        order, as far as the first open day past the closures (each closed day takes
        at most one open day of a week away, so `len(closed) + 1` weeks hold one); in
        UTC, so that their lengths and sums are real time across a change of daylight
        saving time (two times of one zone subtract as wall-clock times)."""
        local = moment.astimezone(self.zone)
        if not any(self.week.values()):
            return  # never open
        for offset in range(8 + 7 * len(self.closed)):
            day = local.date() + timedelta(days=offset)
            for start, end in self.ranges_on(day):
                opening = datetime.combine(day, start, self.zone)
                closing = (
                    datetime.combine(day + timedelta(days=1), time(0, 0), self.zone)
                    if end == time.max
                    else datetime.combine(day, end, self.zone)
                )
                if closing > local:
                    yield max(opening, local).astimezone(UTC), closing.astimezone(UTC)

    def next_open(self, moment: datetime) -> datetime | None:
        """When people are next at the desk (now if open); None if never."""
        if self.is_open(moment):
            return moment
        for opening, _closing in self._open_spans(moment):
            return opening
        return None

    def after_open_time(self, moment: datetime, seconds: float) -> datetime | None:
        """The moment `seconds` of open time after `moment`: the time a wait of that
        much of people's time ends, counted across closed nights and days; None if
        the desk is not open long enough in the time ahead it knows."""
        left = max(0.0, seconds)
        for opening, closing in self._open_spans(moment):
            span = (closing - opening).total_seconds()
            if left <= span:
                return opening + timedelta(seconds=left)
            left -= span
        return None

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """How much of [start, end) the desk was open: a wait in people's time."""
        total = 0.0
        local = start.astimezone(self.zone)
        day = local.date()
        while day <= end.astimezone(self.zone).date():
            for first, last in self.ranges_on(day):
                opening = datetime.combine(day, first, self.zone)
                closing = datetime.combine(day + timedelta(days=1), time(0, 0), self.zone)
                if last != time.max:
                    closing = datetime.combine(day, last, self.zone)
                spent = min(closing, end).astimezone(UTC) - max(opening, start).astimezone(UTC)
                total += max(0.0, spent.total_seconds())  # (in UTC: real time, as above)
            day += timedelta(days=1)
        return total

    def _closes_between(self, first: date, last: date) -> bool:
        return any(first <= day <= last for day in self.closed)

    def describe(self, moment: datetime, now: datetime) -> str:
        """ "Monday 09:00 (Europe/Berlin)", "today at 13:00 (UTC)": `moment` as seen
        at `now`; with its date when a week or more away or past a closed day."""
        local = now.astimezone(self.zone)
        there = moment.astimezone(self.zone)
        locale = current()
        at = format_time(there, "HH:mm", locale=locale)
        if there.date() == local.date():
            said = _("today at {time}").format(time=at)
        elif there.date() == local.date() + timedelta(days=1):
            said = _("tomorrow at {time}").format(time=at)
        elif there.date() - local.date() < timedelta(days=7) and not self._closes_between(
            local.date(), there.date()
        ):
            day = format_date(there, "EEEE", locale=locale)
            said = _("{day} {time}").format(day=day, time=at)  # "Monday 09:00", "am Montag …"
        else:
            day = format_date(there, "full", locale=locale)  # as the language writes it
            said = _("{day} {time}").format(day=day, time=at)  # "Monday, January 4, 2027 09:00"
        return f"{said} ({self.timezone})"

    def describe_next_open(self, moment: datetime) -> str:
        """ "Monday 09:00 (Europe/Berlin)", "today at 13:00 (UTC)"."""
        opening = self.next_open(moment)
        if opening is None:
            return _("when the team is next available")
        return self.describe(opening, moment)
