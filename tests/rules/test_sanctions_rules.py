"""app.rules.sanctions: which findings count, the trigger, due days and overdue."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.calendar import WorkingCalendar
from app.rules.months import Month
from app.rules.sanctions import (
    RectificationStatus,
    counts_towards_trigger,
    is_overdue,
    may_close,
    rectification_due,
    should_open_rectification,
    trigger_window,
)

CALENDAR = WorkingCalendar.china(range(2026, 2027))
OPEN, RECTIFIED, ESCALATED = (
    RectificationStatus.OPEN,
    RectificationStatus.RECTIFIED,
    RectificationStatus.ESCALATED,
)


@pytest.mark.parametrize(
    ("outcome", "counts"),
    [
        ("poor_quality", True),
        ("low_satisfaction", True),
        ("fake_service", True),
        ("genuine", False),
        ("", False),
    ],
)
def test_serious_outcomes(outcome, counts):
    assert counts_towards_trigger(outcome) is counts


@pytest.mark.parametrize(
    ("count", "threshold", "has_open", "expected"),
    [
        (2, 3, False, False),  # N - 1
        (3, 3, False, True),  # N
        (4, 3, False, True),
        (3, 3, True, False),  # not again while one is open
        (9, 3, True, False),
        (1, 1, False, True),
        (0, 1, False, False),
    ],
)
def test_should_open_rectification(count, threshold, has_open, expected):
    assert (
        should_open_rectification(serious_findings=count, threshold=threshold, has_open_order=has_open)
        is expected
    )


@pytest.mark.parametrize(
    ("month", "window", "expected"),
    [
        ("2026-03", 3, ("2026-01", "2026-03")),
        ("2026-02", 3, ("2025-12", "2026-02")),  # across the year
        ("2026-05", 1, ("2026-05", "2026-05")),
        ("2026-01", 12, ("2025-02", "2026-01")),
    ],
)
def test_trigger_window(month, window, expected):
    first, last = trigger_window(Month.parse(month), window)
    assert (str(first), str(last)) == expected


def test_trigger_window_needs_a_month():
    with pytest.raises(ValueError):
        trigger_window(Month(2026, 3), 0)


@pytest.mark.parametrize(
    ("opened_on", "days", "due_on"),
    [
        # Thursday before 清明 (4-05 Sun, 4-06 Mon off): 4-03, 4-07, 4-08; weekdays alone give 4-07.
        (date(2026, 4, 2), 3, date(2026, 4, 8)),
        # 15 working days from Monday 2026-03-16 skip the 4-06 holiday.
        (date(2026, 3, 16), 15, date(2026, 4, 7)),
        # Labour day (5-01 … 5-05 off): the next working day after 4-30 is 5-06.
        (date(2026, 4, 30), 1, date(2026, 5, 6)),
        # 5-09 is a Saturday make-up working day.
        (date(2026, 5, 8), 1, date(2026, 5, 9)),
        # Opened on a Saturday: the day itself never counts.
        (date(2026, 3, 21), 1, date(2026, 3, 23)),
    ],
)
def test_rectification_due_on_the_official_calendar(opened_on, days, due_on):
    assert rectification_due(opened_on, days, CALENDAR) == due_on


def test_rectification_due_with_an_override():
    closed = WorkingCalendar(CALENDAR.public_holidays, CALENDAR.makeup_workdays, {date(2026, 4, 8): False})
    assert rectification_due(date(2026, 4, 2), 3, closed) == date(2026, 4, 9)


def test_rectification_due_needs_a_working_day():
    with pytest.raises(ValueError):
        rectification_due(date(2026, 4, 2), 0, CALENDAR)


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        (OPEN, date(2026, 4, 7), False),
        (OPEN, date(2026, 4, 8), False),  # the due day is still in time
        (OPEN, date(2026, 4, 9), True),
        (RECTIFIED, date(2026, 5, 1), False),
        (ESCALATED, date(2026, 5, 1), False),
    ],
)
def test_is_overdue(status, today, overdue):
    assert is_overdue(status, date(2026, 4, 8), today) is overdue


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (OPEN, RECTIFIED, True),
        (OPEN, ESCALATED, True),
        (OPEN, OPEN, False),
        (RECTIFIED, ESCALATED, False),
        (RECTIFIED, RECTIFIED, False),
        (ESCALATED, RECTIFIED, False),
    ],
)
def test_may_close(current, target, allowed):
    assert may_close(current, target) is allowed
