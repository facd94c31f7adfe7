"""Table tests for app.rules.calendar: the official working-day calendar of 2026.

The 2026 schedule is the State Council's notice on the 2026 holidays (国务院办公厅关于2026年部分
节假日安排的通知), written out here by hand, day by day, independently of the ``holidays``
package the calendar is built from:

- 元旦: 1月1日(周四)至3日(周六)放假调休, 1月4日(周日)上班.
- 春节: 2月15日(周日)至23日(周一)放假调休, 2月14日(周六)、2月28日(周六)上班.
- 清明节: 4月4日(周六)至6日(周一)放假.
- 劳动节: 5月1日(周五)至5日(周二)放假调休, 5月9日(周六)上班.
- 端午节: 6月19日(周五)至21日(周日)放假.
- 中秋节: 9月25日(周五)至27日(周日)放假.
- 国庆节: 10月1日(周四)至7日(周三)放假调休, 9月20日(周日)、10月10日(周六)上班.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.rules.calendar import (
    WorkingCalendar,
    add_working_days,
    is_working_day,
    nth_working_day_of_month,
    working_days_between,
)
from app.rules.months import Month

CALENDAR = WorkingCalendar.china(range(2024, 2031))


def with_overrides(overrides: dict[date, bool]) -> WorkingCalendar:
    return WorkingCalendar(CALENDAR.public_holidays, CALENDAR.makeup_workdays, overrides)


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


HOLIDAY_PERIODS_2026 = {
    "元旦": ("2026-01-01", "2026-01-03"),
    "春节": ("2026-02-15", "2026-02-23"),
    "清明节": ("2026-04-04", "2026-04-06"),
    "劳动节": ("2026-05-01", "2026-05-05"),
    "端午节": ("2026-06-19", "2026-06-21"),
    "中秋节": ("2026-09-25", "2026-09-27"),
    "国庆节": ("2026-10-01", "2026-10-07"),
}
DAYS_OFF_2026 = [
    pytest.param(day, id=f"{name}-{day.isoformat()}-{day.strftime('%a')}")
    for name, (first, last) in HOLIDAY_PERIODS_2026.items()
    for day in days(first, last)
]
MAKEUP_WORKDAYS_2026 = [
    pytest.param(date(2026, 1, 4), id="2026-01-04-Sun-元旦"),
    pytest.param(date(2026, 2, 14), id="2026-02-14-Sat-春节"),
    pytest.param(date(2026, 2, 28), id="2026-02-28-Sat-春节"),
    pytest.param(date(2026, 5, 9), id="2026-05-09-Sat-劳动节"),
    pytest.param(date(2026, 9, 20), id="2026-09-20-Sun-国庆节"),
    pytest.param(date(2026, 10, 10), id="2026-10-10-Sat-国庆节"),
]


# --- is_working_day ----------------------------------------------------------------------------
@pytest.mark.parametrize("day", DAYS_OFF_2026)
def test_every_day_of_the_2026_holiday_periods_is_off(day: date) -> None:
    assert is_working_day(day, CALENDAR) is False


@pytest.mark.parametrize("day", MAKEUP_WORKDAYS_2026)
def test_every_2026_makeup_day_is_a_working_day(day: date) -> None:
    assert day.weekday() >= 5, "a make-up working day is a Saturday or Sunday"
    assert is_working_day(day, CALENDAR) is True


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 10),  # Sat
        date(2026, 1, 11),  # Sun
        date(2026, 2, 7),  # Sat before the Spring Festival (2-14 is the make-up one)
        date(2026, 3, 7),
        date(2026, 3, 8),
        date(2026, 5, 10),  # the Sunday after the make-up Saturday 5-9
        date(2026, 9, 19),  # the Saturday before the make-up Sunday 9-20
        date(2026, 10, 11),  # the Sunday after the make-up Saturday 10-10
        date(2026, 12, 26),
        date(2026, 12, 27),
    ],
    ids=str,
)
def test_plain_weekends_are_off(day: date) -> None:
    assert day.weekday() >= 5
    assert is_working_day(day, CALENDAR) is False


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 5),  # Mon after New Year
        date(2026, 2, 13),  # Fri before the Spring Festival
        date(2026, 2, 24),  # Tue after it
        date(2026, 4, 3),  # Fri before Qingming
        date(2026, 4, 7),  # Tue after it
        date(2026, 5, 6),
        date(2026, 6, 18),
        date(2026, 6, 22),
        date(2026, 9, 24),
        date(2026, 9, 28),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 12, 31),
    ],
    ids=str,
)
def test_plain_weekdays_are_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert is_working_day(day, CALENDAR) is True


def test_2026_has_248_working_days() -> None:
    # 261 weekdays - 19 weekday holidays (1-1, 1-2; 2-16..2-20, 2-23; 4-6; 5-1, 5-4, 5-5; 6-19;
    # 9-25; 10-1, 10-2, 10-5, 10-6, 10-7) + 6 make-up weekend days.
    year = days("2026-01-01", "2026-12-31")
    assert sum(is_working_day(d, CALENDAR) for d in year) == 248
    assert working_days_between(date(2025, 12, 31), date(2026, 12, 31), CALENDAR) == 248


def test_the_package_knows_exactly_the_2026_schedule() -> None:
    """Cross-check: the hand-written schedule and the calendar agree on every day of 2026."""
    off = {d for first, last in HOLIDAY_PERIODS_2026.values() for d in days(first, last)}
    makeup = {p.values[0] for p in MAKEUP_WORKDAYS_2026}
    for day in days("2026-01-01", "2026-12-31"):
        expected = day in makeup or (day not in off and day.weekday() < 5)
        assert is_working_day(day, CALENDAR) is expected, day


# --- overrides win, both ways --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "official", "override"),
    [
        pytest.param(date(2027, 1, 11), True, False, id="plain-weekday-declared-a-holiday"),
        pytest.param(date(2027, 1, 9), False, True, id="plain-saturday-declared-a-makeup-day"),
        pytest.param(date(2026, 2, 14), True, False, id="makeup-saturday-cancelled"),
        pytest.param(date(2026, 10, 5), False, True, id="holiday-made-a-working-day"),
        pytest.param(date(2026, 3, 2), True, True, id="override-agreeing-with-the-package"),
        pytest.param(date(2026, 3, 7), False, False, id="weekend-override-agreeing"),
    ],
)
def test_an_override_wins_both_ways(day: date, official: bool, override: bool) -> None:
    assert is_working_day(day, CALENDAR) is official
    overridden = with_overrides({day: override})
    assert is_working_day(day, overridden) is override
    # Only that day changes.
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        assert is_working_day(other, overridden) is is_working_day(other, CALENDAR)


def test_an_override_moves_the_nth_working_day() -> None:
    january_2027 = Month(2027, 1)
    assert nth_working_day_of_month(january_2027, 10, CALENDAR) == date(2027, 1, 15)
    holiday = with_overrides({date(2027, 1, 11): False})
    assert nth_working_day_of_month(january_2027, 10, holiday) == date(2027, 1, 18)
    makeup = with_overrides({date(2027, 1, 9): True})
    assert nth_working_day_of_month(january_2027, 10, makeup) == date(2027, 1, 14)


# --- nth_working_day_of_month ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("month", "n", "expected"),
    [
        ("2026-01", 1, date(2026, 1, 4)),  # 1-1..1-3 off; the make-up Sunday is the first
        ("2026-01", 2, date(2026, 1, 5)),
        ("2026-01", 10, date(2026, 1, 15)),
        ("2026-02", 1, date(2026, 2, 2)),
        ("2026-02", 10, date(2026, 2, 13)),
        ("2026-02", 11, date(2026, 2, 14)),  # make-up Saturday
        ("2026-02", 12, date(2026, 2, 24)),  # over the whole Spring Festival
        ("2026-02", 16, date(2026, 2, 28)),  # make-up Saturday, the month's last working day
        ("2026-03", 10, date(2026, 3, 13)),
        ("2026-04", 10, date(2026, 4, 15)),  # over Qingming (4-6)
        ("2026-05", 1, date(2026, 5, 6)),
        ("2026-05", 4, date(2026, 5, 9)),  # make-up Saturday
        ("2026-05", 10, date(2026, 5, 18)),
        ("2026-06", 10, date(2026, 6, 12)),
        ("2026-07", 10, date(2026, 7, 14)),
        ("2026-08", 1, date(2026, 8, 3)),  # 8-1 is a Saturday
        ("2026-09", 10, date(2026, 9, 14)),
        ("2026-09", 14, date(2026, 9, 18)),
        ("2026-09", 15, date(2026, 9, 20)),  # make-up Sunday
        ("2026-10", 1, date(2026, 10, 8)),
        ("2026-10", 3, date(2026, 10, 10)),  # make-up Saturday
        ("2026-10", 10, date(2026, 10, 20)),
        ("2026-11", 10, date(2026, 11, 13)),
        ("2026-12", 10, date(2026, 12, 14)),
        ("2026-12", 5, date(2026, 12, 7)),  # provider list publication (一(四))
        ("2027-01", 10, date(2027, 1, 15)),  # December's civil review
    ],
    ids=lambda v: str(v),
)
def test_nth_working_day_of_month(month: str, n: int, expected: date) -> None:
    assert nth_working_day_of_month(Month.parse(month), n, CALENDAR) == expected


def test_nth_working_day_of_month_counts_from_one() -> None:
    with pytest.raises(ValueError):
        nth_working_day_of_month(Month(2026, 2), 0, CALENDAR)


def test_nth_working_day_of_month_is_always_in_the_month_and_a_working_day() -> None:
    for m in range(1, 13):
        month = Month(2026, m)
        working = [d for d in days(str(month.first_day), str(month.last_day)) if is_working_day(d, CALENDAR)]
        for n, day in enumerate(working, start=1):
            assert nth_working_day_of_month(month, n, CALENDAR) == day


# --- add_working_days ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # the day itself is not counted
        (date(2026, 3, 2), 1, date(2026, 3, 3)),
        (date(2026, 3, 2), 5, date(2026, 3, 9)),
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Fri -> Mon
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # from a weekend day
        (date(2026, 3, 2), 0, date(2026, 3, 2)),
        (date(2026, 3, 7), 0, date(2026, 3, 7)),  # zero days: the day itself, whatever it is
        # New Year: 1-1..1-3 off, make-up Sunday 1-4
        (date(2025, 12, 31), 1, date(2026, 1, 4)),
        (date(2026, 1, 3), 1, date(2026, 1, 4)),
        (date(2026, 1, 4), 1, date(2026, 1, 5)),
        # Spring Festival: make-up Saturdays 2-14 and 2-28, 2-15..2-23 off
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 2, date(2026, 2, 24)),
        (date(2026, 2, 13), 5, date(2026, 2, 27)),
        (date(2026, 2, 14), 1, date(2026, 2, 24)),
        (date(2026, 2, 15), 1, date(2026, 2, 24)),  # from inside the holiday
        (date(2026, 2, 27), 1, date(2026, 2, 28)),
        (date(2026, 2, 27), 3, date(2026, 3, 3)),
        # Qingming, Labour Day, Dragon Boat
        (date(2026, 4, 3), 1, date(2026, 4, 7)),
        (date(2026, 4, 30), 1, date(2026, 5, 6)),
        (date(2026, 5, 8), 1, date(2026, 5, 9)),  # make-up Saturday
        (date(2026, 5, 9), 1, date(2026, 5, 11)),
        (date(2026, 6, 18), 1, date(2026, 6, 22)),
        # make-up Sunday 9-20, Mid-Autumn 9-25..27, National Day 10-1..7, make-up Saturday 10-10
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        (date(2026, 9, 14), 5, date(2026, 9, 20)),
        (date(2026, 9, 24), 1, date(2026, 9, 28)),
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        (date(2026, 10, 9), 1, date(2026, 10, 10)),
        (date(2026, 10, 10), 1, date(2026, 10, 12)),
        # across a year end
        (date(2026, 12, 31), 1, date(2027, 1, 4)),
        (date(2026, 12, 25), 5, date(2027, 1, 4)),
    ],
    ids=lambda v: str(v),
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n, CALENDAR) == expected


def test_add_working_days_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 3, 2), -1, CALENDAR)


def test_add_working_days_with_an_override() -> None:
    assert add_working_days(date(2026, 3, 6), 1, with_overrides({date(2026, 3, 7): True})) == date(2026, 3, 7)
    assert add_working_days(date(2026, 3, 6), 1, with_overrides({date(2026, 3, 9): False})) == date(
        2026, 3, 10
    )


# --- working_days_between ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 2, 13), date(2026, 2, 13), 0),
        (date(2026, 2, 12), date(2026, 2, 13), 1),
        (date(2026, 2, 3), date(2026, 2, 13), 8),
        (date(2026, 2, 13), date(2026, 2, 14), 1),  # make-up Saturday counts
        (date(2026, 2, 13), date(2026, 2, 24), 2),
        (date(2026, 2, 14), date(2026, 2, 23), 0),  # the whole holiday
        (date(2026, 2, 14), date(2026, 2, 13), -1),
        (date(2026, 2, 15), date(2026, 2, 13), -1),
        (date(2026, 2, 24), date(2026, 2, 13), -2),
        (date(2026, 9, 30), date(2026, 10, 10), 3),
        (date(2026, 3, 6), date(2026, 3, 8), 0),  # a plain weekend
    ],
    ids=lambda v: str(v),
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end, CALENDAR) == expected


def test_working_days_between_inverts_add_working_days() -> None:
    for start in days("2026-01-01", "2026-12-31"):
        for n in (1, 3, 5, 10):
            assert working_days_between(start, add_working_days(start, n, CALENDAR), CALENDAR) == n
