"""app.rules.sanctions: which findings count, the trigger, due days and overdue, and the
decisions on rectification orders (opening, the automatic trigger, closing, escalating)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.rules.calendar import WorkingCalendar
from app.rules.listing import ListingStatus
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal
from app.rules.sanctions import (
    AttachToOpenOrder,
    AutomaticOrder,
    Escalation,
    EscalationAction,
    OrderTerms,
    RectificationStatus,
    TriggerFacts,
    closing_refusal,
    counts_towards_trigger,
    decide_after_finding,
    decide_escalation,
    decide_manual_order,
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


# --- decisions -------------------------------------------------------------------------------
MONDAY = date(2026, 3, 16)  # 15 working days later: 2026-04-07 (清明 2026-04-06 is off)
ALREADY_OPEN = Refusal(
    "RECTIFICATION_ALREADY_OPEN", "该服务机构已有未结束的整改通知,请先结束后再发出新的通知"
)


@pytest.mark.parametrize(
    ("status", "has_open", "requested", "expected"),
    [
        (ListingStatus.LISTED, False, None, OrderTerms(15, MONDAY, date(2026, 4, 7))),
        (ListingStatus.LISTED, False, 5, OrderTerms(5, MONDAY, date(2026, 3, 23))),
        # Suspended and withdrawn providers can still be ordered to rectify.
        (ListingStatus.SUSPENDED, False, 1, OrderTerms(1, MONDAY, date(2026, 3, 17))),
        (ListingStatus.WITHDRAWN, False, None, OrderTerms(15, MONDAY, date(2026, 4, 7))),
        (ListingStatus.LISTED, True, None, ALREADY_OPEN),
        (
            ListingStatus.DISQUALIFIED,
            False,
            None,
            Refusal("PROVIDER_DISQUALIFIED", "服务机构已被取消资格,无需整改"),
        ),
        # Nothing to rectify once disqualified, open order or not.
        (
            ListingStatus.DISQUALIFIED,
            True,
            None,
            Refusal("PROVIDER_DISQUALIFIED", "服务机构已被取消资格,无需整改"),
        ),
    ],
)
def test_decide_manual_order(status, has_open, requested, expected):
    decision = decide_manual_order(
        provider_status=status,
        has_open_order=has_open,
        requested_days=requested,
        default_days=15,
        today=MONDAY,
        calendar=CALENDAR,
    )
    assert decision == expected


def trigger(*, disqualified=False, has_open=False, count=0, window=("2026-01", "2026-03")) -> TriggerFacts:
    return TriggerFacts(
        provider_disqualified=disqualified,
        has_open_order=has_open,
        window=(Month.parse(window[0]), Month.parse(window[1])),
        unanswered_in_window=count,
    )


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (trigger(count=2), None),  # N - 1
        (trigger(count=3), "2026-01 至 2026-03 服务抽查发现问题 3 条"),  # N
        (trigger(count=5), "2026-01 至 2026-03 服务抽查发现问题 5 条"),
        (
            trigger(count=3, window=("2026-02", "2026-02")),
            "2026-02 服务抽查发现问题 3 条",
        ),  # a one-month window
        (trigger(count=9, has_open=True), AttachToOpenOrder()),  # attached, never a second order
        (trigger(count=0, has_open=True), AttachToOpenOrder()),
        (trigger(count=9, disqualified=True), None),  # a disqualified provider gets none
        (trigger(count=9, disqualified=True, has_open=True), None),
    ],
)
def test_decide_after_finding(facts, expected):
    decision = decide_after_finding(facts, threshold=3, working_days=15, today=MONDAY, calendar=CALENDAR)
    if isinstance(expected, str):
        assert isinstance(decision, AutomaticOrder)
        assert decision.reason == (
            f"{expected}(服务质量差、老年人满意度低或虚假服务),达到 3 条,自动责令限期整改"
        )
        assert decision.terms == OrderTerms(15, MONDAY, date(2026, 4, 7))
    else:
        assert decision == expected


CLOSED_AT = datetime(2026, 4, 7, 17, 0, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("status", "target", "expected"),
    [
        (OPEN, RECTIFIED, None),
        (OPEN, ESCALATED, None),
        (RECTIFIED, RECTIFIED, Refusal("RECTIFICATION_CLOSED", "该整改通知已于 2026-04-07 结束(rectified)")),
        (RECTIFIED, ESCALATED, Refusal("RECTIFICATION_CLOSED", "该整改通知已于 2026-04-07 结束(rectified)")),
        (ESCALATED, RECTIFIED, Refusal("RECTIFICATION_CLOSED", "该整改通知已于 2026-04-07 结束(escalated)")),
    ],
)
def test_closing_refusal(status, target, expected):
    closed_at = None if status is OPEN else CLOSED_AT
    assert closing_refusal(status, closed_at, target) == expected


def test_closing_refusal_names_the_beijing_date():
    # Stored in UTC: 16:30 UTC on the 7th is already the 8th in Beijing.
    closed_at = datetime(2026, 4, 7, 16, 30, tzinfo=UTC)
    assert (
        closing_refusal(RECTIFIED, closed_at, RECTIFIED).detail == "该整改通知已于 2026-04-08 结束(rectified)"
    )


SUSPEND, DISQUALIFY = EscalationAction.SUSPEND, EscalationAction.DISQUALIFY
L, W, S, D = (
    ListingStatus.LISTED,
    ListingStatus.WITHDRAWN,
    ListingStatus.SUSPENDED,
    ListingStatus.DISQUALIFIED,
)


@pytest.mark.parametrize(
    ("provider_status", "action", "new_status"),
    [
        (L, SUSPEND, S),
        (L, DISQUALIFY, D),
        (S, DISQUALIFY, D),  # 四(三) "整改不力的应及时取消参与资格": a suspended provider can be
        # Already out of the list: it keeps its status when the action cannot apply.
        (S, SUSPEND, None),
        (W, SUSPEND, None),
        (W, DISQUALIFY, D),
        (D, SUSPEND, None),
        (D, DISQUALIFY, None),
    ],
)
def test_decide_escalation(provider_status, action, new_status):
    decision = decide_escalation(
        order_status=OPEN, closed_at=None, provider_status=provider_status, action=action, reason="逾期未整改"
    )
    assert decision == Escalation(new_status, "整改不力:逾期未整改")


def test_a_closed_order_is_not_escalated():
    decision = decide_escalation(
        order_status=RECTIFIED, closed_at=CLOSED_AT, provider_status=L, action=SUSPEND, reason="x"
    )
    assert decision == Refusal("RECTIFICATION_CLOSED", "该整改通知已于 2026-04-07 结束(rectified)")
