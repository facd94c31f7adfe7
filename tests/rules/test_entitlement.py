"""Who holds a monthly voucher and from when (app/rules/entitlement.py; issue 12 items 1, 3-6):
value in, value out, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from app.rules.eligibility import assessment_valid_until
from app.rules.entitlement import (
    ASSESSMENT_EXPIRED,
    ELDER_DECEASED,
    ELDER_NOT_APPROVED,
    ELDER_SUSPENDED,
    REFUSAL_TITLES,
    EntitlementFacts,
    due_at_month_start,
    earliest_assessment_valid_on,
    earliest_valid_assessment_day,
    entitlement_refusal,
    first_voucher_month,
    service_in_window,
)
from app.rules.months import BEIJING, Month

MARCH = Month(2026, 3)
APPROVED = EntitlementFacts(
    status="approved",
    suspension_reason=None,
    last_voucher_month=None,
    assessed_on=date(2026, 1, 10),
    disability_allowance_tier=None,
    approved_at=datetime(2026, 2, 3, 10, tzinfo=BEIJING),
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("facts", "month", "expected"),
    [
        pytest.param(APPROVED, MARCH, None, id="approved"),
        pytest.param(
            replace(APPROVED, status="pending", approved_at=None), MARCH, ELDER_NOT_APPROVED, id="pending"
        ),
        pytest.param(
            replace(
                APPROVED,
                status="suspended",
                suspension_reason="moved_out",
                last_voucher_month=date(2026, 3, 1),
            ),
            MARCH,
            None,
            id="suspended-this-month-keeps-it",
        ),
        pytest.param(
            replace(
                APPROVED,
                status="suspended",
                suspension_reason="moved_out",
                last_voucher_month=date(2026, 2, 1),
            ),
            MARCH,
            ELDER_SUSPENDED,
            id="suspended-last-month-stops",
        ),
        pytest.param(
            replace(
                APPROVED,
                status="suspended",
                suspension_reason="deceased",
                last_voucher_month=date(2026, 3, 1),
            ),
            MARCH,
            ELDER_DECEASED,
            id="death-is-final-whatever-the-last-month",
        ),
        pytest.param(
            replace(
                APPROVED,
                status="suspended",
                suspension_reason="other",
                last_voucher_month=date(2026, 3, 1),
                approved_at=None,
            ),
            MARCH,
            ELDER_NOT_APPROVED,
            id="a-pending-elder-suspended-was-never-approved",
        ),
        pytest.param(replace(APPROVED, assessed_on=date(2025, 3, 2)), MARCH, None, id="valid-on-the-1st"),
        pytest.param(
            replace(APPROVED, assessed_on=date(2025, 3, 1)),
            MARCH,
            ASSESSMENT_EXPIRED,
            id="ended-the-day-before",
        ),
        pytest.param(
            replace(APPROVED, assessed_on=date(2024, 5, 1), disability_allowance_tier=600),
            MARCH,
            None,
            id="600-tier-stands-in",
        ),
        pytest.param(
            replace(APPROVED, assessed_on=date(2024, 5, 1), disability_allowance_tier=200),
            MARCH,
            ASSESSMENT_EXPIRED,
            id="200-tier-does-not",
        ),
        pytest.param(
            replace(APPROVED, assessed_on=date(2026, 3, 20)), MARCH, None, id="new-result-during-the-month"
        ),
    ],
)
def test_entitlement_refusal(facts, month, expected) -> None:
    assert entitlement_refusal(facts, month, valid_months=12) == expected


def test_every_refusal_has_a_chinese_title() -> None:
    for code in (ASSESSMENT_EXPIRED, ELDER_DECEASED, ELDER_NOT_APPROVED, ELDER_SUSPENDED):
        assert REFUSAL_TITLES[code] and not REFUSAL_TITLES[code].isascii()


@pytest.mark.parametrize(
    ("approved_at", "due"),
    [
        pytest.param("2026-02-28T23:59:59", True, id="approved-before-the-month"),
        pytest.param("2026-03-01T00:00:00", False, id="approved-at-its-first-instant-issues-itself"),
        pytest.param("2026-03-16T10:00:00", False, id="approved-during-the-month"),
    ],
)
def test_due_at_month_start_only_for_elders_approved_before_it(approved_at, due) -> None:
    facts = replace(APPROVED, approved_at=at(approved_at))
    assert due_at_month_start(facts, MARCH, valid_months=12) is due


def test_a_refused_elder_is_never_due() -> None:
    dead = replace(
        APPROVED, status="suspended", suspension_reason="deceased", last_voucher_month=date(2026, 3, 1)
    )
    assert due_at_month_start(dead, MARCH, valid_months=12) is False


@pytest.mark.parametrize("valid_months", [1, 6, 12, 24])
def test_earliest_valid_assessment_day_is_the_exact_boundary(valid_months) -> None:
    """Checked against assessment_valid_until itself, every day of three years."""
    day = date(2025, 1, 1)
    while day < date(2028, 1, 1):
        boundary = earliest_assessment_valid_on(day, valid_months)
        assert assessment_valid_until(boundary, valid_months) >= day
        assert assessment_valid_until(boundary - timedelta(days=1), valid_months) < day
        day += timedelta(days=1)
    assert earliest_valid_assessment_day(MARCH, 12) == date(2025, 3, 2)


@pytest.mark.parametrize(
    ("approved_at", "min_days", "expected"),
    [
        pytest.param("2026-03-29T00:00:00", 3, Month(2026, 3), id="exactly-three-days-left"),
        pytest.param("2026-03-29T00:00:01", 3, Month(2026, 4), id="a-second-less"),
        pytest.param("2026-03-31T23:59:00", 3, Month(2026, 4), id="the-last-minute"),
        pytest.param("2026-03-31T23:59:00", 0, Month(2026, 3), id="setting-zero-always-this-month"),
        pytest.param("2026-02-26T00:00:00", 3, Month(2026, 2), id="short-february"),
        pytest.param("2026-12-31T12:00:00", 3, Month(2027, 1), id="year-end"),
        pytest.param("2026-03-16T10:00:00", 5, Month(2026, 3), id="mid-month"),
    ],
)
def test_first_voucher_month(approved_at, min_days, expected) -> None:
    assert first_voucher_month(at(approved_at), min_days=min_days) == expected


@pytest.mark.parametrize(
    ("served_at", "ok"),
    [
        pytest.param("2026-03-16T09:59:59", False, id="before-approval"),
        pytest.param("2026-03-16T10:00:00", True, id="at-approval"),
        pytest.param("2026-03-20T12:00:00", True, id="now"),
        pytest.param("2026-03-20T12:00:01", False, id="future"),
        pytest.param("2026-04-01T00:00:00", False, id="next-month"),
    ],
)
def test_service_in_window(served_at, ok) -> None:
    window = dict(valid_from=at("2026-03-16T10:00:00"), valid_until=at("2026-04-01T00:00:00"))
    assert service_in_window(at(served_at), now=at("2026-03-20T12:00:00"), **window) is ok
