"""The official working-day calendar (二(五) deadlines, 一(四) list publication).

Statutory holidays and weekend make-up working days (调休) come from the ``holidays`` package
(``holidays.China``), which is maintained, follows the State Council's yearly notice and knows
the make-up days (``weekend_workdays``). Where the package does not know a year's notice yet
(December's settlement runs in January), a city admin enters overrides; an override always
wins. Pure: the calendar is a value built once and passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays

from app.rules.months import Month


@dataclass(frozen=True)
class WorkingCalendar:
    public_holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    overrides: dict[date, bool] = field(default_factory=dict)  # day -> is a working day

    @classmethod
    def china(cls, years: range, overrides: dict[date, bool] | None = None) -> WorkingCalendar:
        official = holidays.China(years=list(years))
        return cls(
            public_holidays=frozenset(official.keys()),
            makeup_workdays=frozenset(official.weekend_workdays),
            overrides=dict(overrides or {}),
        )


def is_working_day(day: date, calendar: WorkingCalendar) -> bool:
    if day in calendar.overrides:
        return calendar.overrides[day]
    if day in calendar.makeup_workdays:
        return True
    if day in calendar.public_holidays:
        return False
    return day.weekday() < 5


def nth_working_day_of_month(month: Month, n: int, calendar: WorkingCalendar) -> date:
    """The n-th working day of a month (n >= 1), e.g. the 10th for civil review."""
    if n < 1:
        raise ValueError("n starts at 1")
    return add_working_days(month.first_day - timedelta(days=1), n, calendar)


def add_working_days(day: date, n: int, calendar: WorkingCalendar) -> date:
    """The n-th working day after ``day`` (``day`` itself does not count), e.g. finance review
    is due on the 5th working day after the day civil review was submitted."""
    if n < 0:
        raise ValueError("n must not be negative")
    current = day
    remaining = n
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current, calendar):
            remaining -= 1
    return current


def working_days_between(start: date, end: date, calendar: WorkingCalendar) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is
    earlier): "working days left" until a deadline."""
    if end < start:
        return -working_days_between(end, start, calendar)
    return sum(is_working_day(start + timedelta(days=i), calendar) for i in range(1, (end - start).days + 1))
