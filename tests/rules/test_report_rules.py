"""Progress reports and the annual work summary (三(二), 三(三)): due days, the months a summary
covers, late and overdue. Value in, value out."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.months import Month
from app.rules.reports import (
    annual_due_on,
    report_due_on,
    report_overdue,
    report_period_starts,
    submitted_late,
    summary_months,
)


def test_due_days_of_the_text() -> None:
    assert [report_due_on(2026, q) for q in (1, 2, 3, 4)] == [
        date(2026, 3, 25),
        date(2026, 6, 25),
        date(2026, 9, 25),
        date(2026, 12, 25),
    ]
    assert annual_due_on(2026) == date(2026, 12, 10)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param(Month(2026, 12), [Month(2026, m) for m in range(1, 13)], id="december-so-far"),
        pytest.param(Month(2026, 4), [Month(2026, m) for m in range(1, 5)], id="april"),
        pytest.param(Month(2027, 3), [Month(2026, m) for m in range(1, 13)], id="after-the-year"),
        pytest.param(Month(2025, 12), [], id="before-the-programme"),
    ],
)
def test_summary_months_are_the_programmes_months_begun(current, expected) -> None:
    assert summary_months(2026, Month(2026, 1), Month(2026, 12), current) == expected


def test_the_due_day_itself_is_in_time() -> None:
    due = date(2026, 12, 10)
    assert submitted_late(date(2026, 12, 10), due) is False
    assert submitted_late(date(2026, 12, 11), due) is True
    assert report_overdue(date(2026, 12, 10), due, submitted=False) is False
    assert report_overdue(date(2026, 12, 11), due, submitted=False) is True
    assert report_overdue(date(2026, 12, 11), due, submitted=True) is False


def test_period_starts() -> None:
    assert report_period_starts(2026, 0) == date(2026, 1, 1)
    assert [report_period_starts(2026, q) for q in (1, 2, 3, 4)] == [
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 10, 1),
    ]
