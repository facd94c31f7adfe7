"""Provider sanctions (四(三)): rectification orders (限期整改) and when one opens by itself.

四(三): "对差评较多的养老服务机构要限期整改,整改不力的应及时取消参与资格" and the spot checks
"对发现的虚假服务、服务质量差、老年人满意度低等问题,及时依法依规处理". An order is open until the
district closes it as rectified or escalates it; it is overdue while open after its due day.
Pure: thresholds, the calendar and ``today`` are arguments.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from app.rules.calendar import WorkingCalendar, add_working_days
from app.rules.months import Month

# Audit finding outcomes that count towards the automatic rectification order. fake_service is
# the most serious of them: it counts too (it is also the district's ground for 取消资格 and the
# blacklist, which need the district's own verification and are never automatic).
SERIOUS_OUTCOMES = frozenset({"poor_quality", "low_satisfaction", "fake_service"})


class RectificationStatus(StrEnum):
    OPEN = "open"
    RECTIFIED = "rectified"  # closed: the provider put things right
    ESCALATED = "escalated"  # closed: 整改不力, the provider was suspended or disqualified


class EscalationAction(StrEnum):
    SUSPEND = "suspend"
    DISQUALIFY = "disqualify"


CLOSING_STATUSES = frozenset({RectificationStatus.RECTIFIED, RectificationStatus.ESCALATED})


def may_close(current: RectificationStatus, target: RectificationStatus) -> bool:
    """Only an open order closes, once, as rectified or escalated."""
    return current is RectificationStatus.OPEN and target in CLOSING_STATUSES


def rectification_due(opened_on: date, working_days: int, calendar: WorkingCalendar) -> date:
    """The due day: the ``working_days``-th working day after the day the order was opened
    (that day itself does not count), on the official calendar with its overrides."""
    if working_days < 1:
        raise ValueError("a rectification needs at least one working day")
    return add_working_days(opened_on, working_days, calendar)


def is_overdue(status: RectificationStatus, due_on: date, today: date) -> bool:
    """Overdue: still open after the due day (the due day itself is still in time)."""
    return status is RectificationStatus.OPEN and today > due_on


def trigger_window(finding_month: Month, window_months: int) -> tuple[Month, Month]:
    """The service months whose findings count: the ``window_months`` months ending with the
    month of the finding just recorded (e.g. 3 → 2026-01 … 2026-03 for a finding on 2026-03)."""
    if window_months < 1:
        raise ValueError("the window holds at least one month")
    return finding_month.plus(-(window_months - 1)), finding_month


def counts_towards_trigger(outcome: str) -> bool:
    return outcome in SERIOUS_OUTCOMES


def should_open_rectification(*, serious_findings: int, threshold: int, has_open_order: bool) -> bool:
    """Open an order automatically when the count reaches the threshold and none is open."""
    return not has_open_order and serious_findings >= threshold
