"""Settlement rules (二(五), 一(六)): deadlines, the review transition table, the funding split.

Pure: the calendar, dates, shares and amounts are arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.rules.calendar import WorkingCalendar, add_working_days, nth_working_day_of_month
from app.rules.money import round_half_up
from app.rules.months import Month

CIVIL_REVIEW_WORKING_DAYS = 10  # 区民政部门次月10个工作日内审核
FINANCE_REVIEW_WORKING_DAYS = 5  # 区财政部门5个工作日内复审
PAYMENT_WORKING_DAYS = 3  # 收到复审结果后3个工作日内结算


@dataclass(frozen=True)
class Transition:
    next_status: str
    role: str | None  # who may take it; None: taken by the service itself when its condition holds
    action_title: str


# (status, action) -> transition. "pay" stays in payment until the last line is paid.
TRANSITIONS: dict[tuple[str, str], Transition] = {
    ("civil_review", "submit_civil_review"): Transition("finance_review", "district_civil", "民政审核提交"),
    ("finance_review", "approve"): Transition("payment", "district_finance", "财政复审通过"),
    ("finance_review", "return"): Transition("civil_review", "district_finance", "财政复审退回"),
    ("payment", "pay"): Transition("payment", "district_civil", "支付"),
    ("payment", "settle"): Transition("settled", None, "结算完成"),  # when no line is left unpaid
}


def transition(status: str, action: str) -> Transition | None:
    return TRANSITIONS.get((status, action))


@dataclass(frozen=True)
class Deadlines:
    civil_review: date
    finance_review: date | None
    payment: date | None


def deadlines(
    month: Month,
    calendar: WorkingCalendar,
    *,
    civil_submitted_on: date | None,
    finance_approved_on: date | None,
) -> Deadlines:
    """civil review: the 10th working day of the next month; finance review: the 5th working
    day after the day civil review was submitted; payment: the 3rd after finance approved."""
    return Deadlines(
        civil_review=nth_working_day_of_month(month.next(), CIVIL_REVIEW_WORKING_DAYS, calendar),
        finance_review=(
            add_working_days(civil_submitted_on, FINANCE_REVIEW_WORKING_DAYS, calendar)
            if civil_submitted_on
            else None
        ),
        payment=(
            add_working_days(finance_approved_on, PAYMENT_WORKING_DAYS, calendar)
            if finance_approved_on
            else None
        ),
    )


def current_deadline(status: str, due: Deadlines) -> date | None:
    return {
        "civil_review": due.civil_review,
        "finance_review": due.finance_review,
        "payment": due.payment,
    }.get(status)


def is_overdue(status: str, due: Deadlines, today: date) -> bool:
    """Overdue when today is past the current stage's deadline (the deadline day itself is in time)."""
    deadline = current_deadline(status, due)
    return deadline is not None and today > deadline


@dataclass(frozen=True)
class Funding:
    central_fen: int
    city_fen: int
    district_fen: int


def split_funding(
    payable_fen: int, *, central_share: Decimal, city_share: Decimal, district_share: Decimal
) -> Funding:
    """central = round_half_up(payable x central share); city = round_half_up(the rest x its
    part of the local share) (1:1, so half); district = what remains. Sums to payable exactly."""
    central = round_half_up(Decimal(payable_fen) * central_share)
    local = payable_fen - central
    city = round_half_up(Decimal(local) * city_share / (city_share + district_share))
    return Funding(central_fen=central, city_fen=city, district_fen=local - city)
