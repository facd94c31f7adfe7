"""Progress reports and the annual work summary (三(二), 三(三)): due days, the months a summary
covers, late and overdue, and the decision to record a submission. Value in, value out."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal
from app.rules.reports import (
    Submission,
    annual_due_on,
    decide_submission,
    report_due,
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


def test_report_due_by_kind() -> None:
    assert report_due("quarterly", 2026, 2) == date(2026, 6, 25)
    assert report_due("annual", 2026, 0) == date(2026, 12, 10)


def at(day: str, hhmm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=BEIJING)


NOT_DUE = Refusal("REPORT_NOT_DUE", "报告期尚未开始,不能报送")


@pytest.mark.parametrize(
    ("kind", "quarter", "now", "outcome"),
    [
        ("quarterly", 1, at("2026-01-01", "00:00"), Submission(1, date(2026, 3, 25), late=False)),
        ("quarterly", 1, at("2026-03-25", "23:59"), Submission(1, date(2026, 3, 25), late=False)),
        ("quarterly", 1, at("2026-03-26", "00:00"), Submission(1, date(2026, 3, 25), late=True)),
        ("quarterly", 3, at("2026-06-30", "23:59"), NOT_DUE),  # the quarter has not begun
        ("quarterly", 3, at("2026-07-01", "00:00"), Submission(3, date(2026, 9, 25), late=False)),
        ("annual", None, at("2026-12-10"), Submission(0, date(2026, 12, 10), late=False)),
        ("annual", None, at("2027-01-05"), Submission(0, date(2026, 12, 10), late=True)),
        ("annual", 2, at("2026-04-01"), Submission(0, date(2026, 12, 10), late=False)),  # no quarter
        ("annual", None, at("2025-12-31", "23:59"), NOT_DUE),
    ],
)
def test_deciding_a_submission(kind, quarter, now, outcome) -> None:
    assert decide_submission(kind, 2026, quarter, now) == outcome
