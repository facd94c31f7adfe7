"""Table tests for app.rules.settlement (二(五), CONTRACT.md "Settlement"): deadlines on the
working-day calendar for every month of 2026, overdue, the review transition table and the
funding split.

Deadlines (CONTRACT.md): civil review is the 10th working day of the next month; finance review
the 5th working day after the day civil review was submitted; payment the 3rd working day after
the day finance approved. The table below assumes each stage finishes on its due date. Every
row was reasoned by hand on the 2026 State Council schedule (see tests/rules/test_calendar.py);
the working days counted are in the comment. December's batch runs in January 2027, whose
schedule the State Council had not published; the package's 2027 calendar (1-1 off, no make-up
day in January) gives the row.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from app.rules.calendar import WorkingCalendar
from app.rules.money import round_half_up
from app.rules.months import Month
from app.rules.settlement import (
    CIVIL_REVIEW_WORKING_DAYS,
    FINANCE_REVIEW_WORKING_DAYS,
    PAYMENT_WORKING_DAYS,
    TRANSITIONS,
    Deadlines,
    Funding,
    current_deadline,
    deadlines,
    is_overdue,
    split_funding,
    transition,
)

CALENDAR = WorkingCalendar.china(range(2024, 2031))
D = date.fromisoformat

# month -> (civil review due, finance due when civil submits on its due date, payment due when
# finance approves on its due date)
DEADLINES_2026 = {
    # Feb: 2-6, 9-13 -> 2-13 | 2-14 (make-up Sat), [2-15..2-23 off], 24, 25, 26, 27 -> 2-27
    #   | 2-28 (make-up Sat), 3-2, 3-3 -> 3-3
    "2026-01": ("2026-02-13", "2026-02-27", "2026-03-03"),
    # Mar: 2-6, 9-13 -> 3-13 | 16-20 -> 3-20 | 23, 24, 25 -> 3-25
    "2026-02": ("2026-03-13", "2026-03-20", "2026-03-25"),
    # Apr: 1, 2, 3, [4-6 Qingming], 7-10, 13, 14, 15 -> 4-15 | 16, 17, 20, 21, 22 -> 4-22
    #   | 23, 24, 27 -> 4-27
    "2026-03": ("2026-04-15", "2026-04-22", "2026-04-27"),
    # May: [1-5 off], 6, 7, 8, 9 (make-up Sat), 11-15, 18 -> 5-18 | 19-22, 25 -> 5-25
    #   | 26, 27, 28 -> 5-28
    "2026-04": ("2026-05-18", "2026-05-25", "2026-05-28"),
    # Jun: 1-5, 8-12 -> 6-12 | 15-18, [19 Dragon Boat], 22 -> 6-22 | 23, 24, 25 -> 6-25
    "2026-05": ("2026-06-12", "2026-06-22", "2026-06-25"),
    # Jul: 1, 2, 3, 6-10, 13, 14 -> 7-14 | 15, 16, 17, 20, 21 -> 7-21 | 22, 23, 24 -> 7-24
    "2026-06": ("2026-07-14", "2026-07-21", "2026-07-24"),
    # Aug (8-1 Sat): 3-7, 10-14 -> 8-14 | 17-21 -> 8-21 | 24, 25, 26 -> 8-26
    "2026-07": ("2026-08-14", "2026-08-21", "2026-08-26"),
    # Sep: 1-4, 7-11, 14 -> 9-14 | 15, 16, 17, 18, 20 (make-up Sun) -> 9-20 | 21, 22, 23 -> 9-23
    "2026-08": ("2026-09-14", "2026-09-20", "2026-09-23"),
    # Oct: [1-7 off], 8, 9, 10 (make-up Sat), 12-16, 19, 20 -> 10-20 | 21, 22, 23, 26, 27
    #   -> 10-27 | 28, 29, 30 -> 10-30
    "2026-09": ("2026-10-20", "2026-10-27", "2026-10-30"),
    # Nov: 2-6, 9-13 -> 11-13 | 16-20 -> 11-20 | 23, 24, 25 -> 11-25
    "2026-10": ("2026-11-13", "2026-11-20", "2026-11-25"),
    # Dec: 1-4, 7-11, 14 -> 12-14 | 15-18, 21 -> 12-21 | 22, 23, 24 -> 12-24
    "2026-11": ("2026-12-14", "2026-12-21", "2026-12-24"),
    # Jan 2027: [1-1 off], 4-8, 11-15 -> 1-15 | 18-22 -> 1-22 | 25, 26, 27 -> 1-27
    "2026-12": ("2027-01-15", "2027-01-22", "2027-01-27"),
}


def test_the_policy_numbers() -> None:
    assert (CIVIL_REVIEW_WORKING_DAYS, FINANCE_REVIEW_WORKING_DAYS, PAYMENT_WORKING_DAYS) == (10, 5, 3)


def test_the_table_covers_every_month_of_2026() -> None:
    assert sorted(DEADLINES_2026) == [f"2026-{m:02d}" for m in range(1, 13)]


@pytest.mark.parametrize(("month", "due"), DEADLINES_2026.items(), ids=list(DEADLINES_2026))
def test_deadlines_of_every_month_of_2026(month: str, due: tuple[str, str, str]) -> None:
    civil, finance, payment = (D(d) for d in due)
    m = Month.parse(month)
    # At build: only civil review is known.
    assert deadlines(m, CALENDAR, civil_submitted_on=None, finance_approved_on=None) == Deadlines(
        civil, None, None
    )
    # Civil submitted on its due date: the finance deadline appears.
    assert deadlines(m, CALENDAR, civil_submitted_on=civil, finance_approved_on=None) == Deadlines(
        civil, finance, None
    )
    # Finance approved on its due date: the payment deadline appears.
    assert deadlines(m, CALENDAR, civil_submitted_on=civil, finance_approved_on=finance) == Deadlines(
        civil, finance, payment
    )


def test_january_civil_review_is_due_2026_02_13() -> None:
    due = deadlines(Month(2026, 1), CALENDAR, civil_submitted_on=None, finance_approved_on=None)
    assert due.civil_review == date(2026, 2, 13)


def test_august_finance_review_is_due_on_a_sunday_makeup_day() -> None:
    due = deadlines(Month(2026, 8), CALENDAR, civil_submitted_on=date(2026, 9, 14), finance_approved_on=None)
    assert due.finance_review == date(2026, 9, 20)
    assert due.finance_review.weekday() == 6  # Sunday


@pytest.mark.parametrize(
    ("civil_submitted_on", "finance_review", "finance_approved_on", "payment"),
    [
        # early: January's civil review submitted on 2-5, well before 2-13
        ("2026-02-05", "2026-02-12", "2026-02-06", "2026-02-11"),
        # early, with the Spring Festival inside the window: 2-14 (make-up), [off], 24, 25, 26
        ("2026-02-13", "2026-02-27", "2026-02-14", "2026-02-26"),
        # submitted on a make-up Saturday: 2-24, 25, 26, 27, 28
        ("2026-02-14", "2026-02-28", "2026-02-28", "2026-03-04"),
        # late: after 2-13 (inside the holiday, as an officer working through it would)
        ("2026-02-17", "2026-02-28", "2026-03-02", "2026-03-05"),
        # late: long after
        ("2026-03-16", "2026-03-23", "2026-03-30", "2026-04-02"),
        # finance approving late (after its 2-27), payment counted from the actual day
        ("2026-02-13", "2026-02-27", "2026-03-10", "2026-03-13"),
    ],
)
def test_stage_deadlines_follow_the_actual_submission_day(
    civil_submitted_on: str, finance_review: str, finance_approved_on: str, payment: str
) -> None:
    due = deadlines(
        Month(2026, 1),
        CALENDAR,
        civil_submitted_on=D(civil_submitted_on),
        finance_approved_on=D(finance_approved_on),
    )
    assert due == Deadlines(D("2026-02-13"), D(finance_review), D(payment))


def test_an_override_moves_decembers_civil_deadline() -> None:
    overridden = WorkingCalendar(
        CALENDAR.public_holidays, CALENDAR.makeup_workdays, {date(2027, 1, 11): False}
    )
    due = deadlines(Month(2026, 12), overridden, civil_submitted_on=None, finance_approved_on=None)
    assert due.civil_review == date(2027, 1, 18)


# --- overdue ---------------------------------------------------------------------------------------
JANUARY_DUE = Deadlines(D("2026-02-13"), D("2026-02-27"), D("2026-03-03"))


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        ("civil_review", "2026-02-03", False),
        ("civil_review", "2026-02-12", False),
        ("civil_review", "2026-02-13", False),  # the deadline day itself is in time
        ("civil_review", "2026-02-14", True),  # the next (make-up working) day is not
        ("civil_review", "2026-02-15", True),
        ("civil_review", "2026-12-31", True),
        ("finance_review", "2026-02-27", False),
        ("finance_review", "2026-02-28", True),
        ("finance_review", "2026-02-14", False),  # civil's deadline does not matter any more
        ("payment", "2026-03-03", False),
        ("payment", "2026-03-04", True),
        ("payment", "2026-02-28", False),
        ("settled", "2026-03-04", False),
        ("settled", "2030-01-01", False),  # settled is never overdue
    ],
)
def test_is_overdue(status: str, today: str, overdue: bool) -> None:
    assert is_overdue(status, JANUARY_DUE, D(today)) is overdue


def test_a_stage_whose_deadline_is_not_known_is_not_overdue() -> None:
    due = Deadlines(D("2026-02-13"), None, None)
    assert is_overdue("finance_review", due, D("2030-01-01")) is False
    assert is_overdue("payment", due, D("2030-01-01")) is False
    assert current_deadline("finance_review", due) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("civil_review", D("2026-02-13")),
        ("finance_review", D("2026-02-27")),
        ("payment", D("2026-03-03")),
        ("settled", None),
        ("unknown", None),
    ],
)
def test_current_deadline(status: str, expected: date | None) -> None:
    assert current_deadline(status, JANUARY_DUE) == expected


# --- the transition table --------------------------------------------------------------------------
STATUSES = ("civil_review", "finance_review", "payment", "settled")
ACTIONS = ("build", "submit_civil_review", "approve", "return", "pay", "settle", "reject", "")
ALLOWED = {
    ("civil_review", "submit_civil_review"): ("finance_review", "district_civil"),
    ("finance_review", "approve"): ("payment", "district_finance"),
    ("finance_review", "return"): ("civil_review", "district_finance"),
    ("payment", "pay"): ("payment", "district_civil"),
    ("payment", "settle"): ("settled", None),  # taken by the service when no line is left unpaid
}


@pytest.mark.parametrize(("status", "action"), list(ALLOWED), ids=lambda v: v)
def test_allowed_transitions(status: str, action: str) -> None:
    step = transition(status, action)
    assert step is not None
    assert (step.next_status, step.role) == ALLOWED[(status, action)]
    assert step.action_title


@pytest.mark.parametrize(
    ("status", "action"),
    [pair for pair in itertools.product(STATUSES, ACTIONS) if pair not in ALLOWED],
    ids=lambda v: v or "empty",
)
def test_every_other_transition_is_refused(status: str, action: str) -> None:
    assert transition(status, action) is None


def test_the_table_is_exactly_the_allowed_transitions() -> None:
    assert set(TRANSITIONS) == set(ALLOWED)
    assert {t.next_status for t in TRANSITIONS.values()} <= set(STATUSES)


def test_settled_is_final_and_every_status_is_reachable() -> None:
    assert not [key for key in TRANSITIONS if key[0] == "settled"]
    reachable, frontier = {"civil_review"}, ["civil_review"]
    while frontier:
        status = frontier.pop()
        for (source, _action), step in TRANSITIONS.items():
            if source == status and step.next_status not in reachable:
                reachable.add(step.next_status)
                frontier.append(step.next_status)
    assert reachable == set(STATUSES)


# --- funding split -----------------------------------------------------------------------------------
SHARES = {
    "central_share": Decimal("0.85"),
    "city_share": Decimal("0.075"),
    "district_share": Decimal("0.075"),
}


@pytest.mark.parametrize(
    ("payable", "central", "city", "district"),
    [
        (0, 0, 0, 0),
        (1, 1, 0, 0),  # 0.85 -> 1
        (2, 2, 0, 0),  # 1.70 -> 2
        (3, 3, 0, 0),  # 2.55 -> 3
        (4, 3, 1, 0),  # 3.40 -> 3; local 1, city 0.5 -> 1
        (7, 6, 1, 0),  # 5.95 -> 6; local 1
        (10, 9, 1, 0),  # 8.50 -> 9 (half up); local 1 -> city 1
        (11, 9, 1, 1),  # 9.35 -> 9; local 2
        (13, 11, 1, 1),  # 11.05 -> 11; local 2
        (20, 17, 2, 1),  # 17.00; local 3, city 1.5 -> 2
        (100, 85, 8, 7),  # local 15, city 7.5 -> 8
        (81006, 68855, 6076, 6075),  # 68855.1 -> 68855; local 12151, city 6075.5 -> 6076
        (60439, 51373, 4533, 4533),  # 51373.15 -> 51373; local 9066
        (80000, 68000, 6000, 6000),
        (10**12, 850_000_000_000, 75_000_000_000, 75_000_000_000),
        (999_999_999_999, 849_999_999_999, 75_000_000_000, 75_000_000_000),  # .15 down
        (999_999_999_990, 849_999_999_992, 74_999_999_999, 74_999_999_999),  # .5 up; local even
        (2**62, 3_919_933_115_663_279_718, 345_876_451_382_054_093, 345_876_451_382_054_093),
    ],
)
def test_split_funding(payable: int, central: int, city: int, district: int) -> None:
    assert split_funding(payable, **SHARES) == Funding(central, city, district)
    assert central + city + district == payable


def test_split_funding_follows_the_contract_formula_and_sums_to_payable() -> None:
    amounts = list(range(0, 3001)) + [10**k + j for k in range(4, 16) for j in (-1, 0, 1, 5, 7)]
    for payable in amounts:
        funding = split_funding(payable, **SHARES)
        central = round_half_up(Decimal(payable) * Decimal("0.85"))
        city = round_half_up(Decimal(payable - central) / 2)
        assert funding == Funding(central, city, payable - central - city), payable
        assert funding.central_fen + funding.city_fen + funding.district_fen == payable
        assert min(funding.central_fen, funding.city_fen, funding.district_fen) >= 0
        assert all(type(v) is int for v in (funding.central_fen, funding.city_fen, funding.district_fen))
