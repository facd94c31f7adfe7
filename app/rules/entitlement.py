"""Whether an elder holds a monthly voucher for a month, and from when (二(二), 二(三), 一(三)).

Pure: the elder's facts, the month, instants and thresholds are arguments. The same rule decides
the month-start job (as the SQL predicate :func:`earliest_valid_assessment_day` feeds), the
voucher issued on demand at the point of service, POS lookup and the elder's API view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.rules.eligibility import assessment_valid_until, exempt_by_allowance_tier
from app.rules.months import Month

DECEASED = "deceased"

# Why an elder holds no voucher for a month; stable codes shown by POS lookup and the API.
ELDER_DECEASED = "ELDER_DECEASED"
ELDER_NOT_APPROVED = "ELDER_NOT_APPROVED"
ELDER_SUSPENDED = "ELDER_SUSPENDED"
ASSESSMENT_EXPIRED = "ASSESSMENT_EXPIRED"

REFUSAL_TITLES = {
    ELDER_DECEASED: "老年人已登记身故",
    ELDER_NOT_APPROVED: "老年人尚未审核通过",
    ELDER_SUSPENDED: "老年人已停发",
    ASSESSMENT_EXPIRED: "能力评估结论已超过有效期",
}


@dataclass(frozen=True)
class EntitlementFacts:
    status: str  # pending | approved | suspended
    suspension_reason: str | None
    # The last month a suspended elder still gets a voucher (二(三) 次月停发); None otherwise.
    last_voucher_month: date | None
    assessed_on: date
    disability_allowance_tier: int | None
    # The latest approval; None for an elder never approved (a pending one suspended, say).
    approved_at: datetime | None


def assessment_valid_for(
    month: Month, *, assessed_on: date, allowance_tier: int | None, valid_months: int
) -> bool:
    """An assessment counts for ``month`` when it is still valid on the month's first day, or was
    made later (a new result approved during the month restores the voucher at once); the
    400/600 allowance tier stands in for an assessment before 2026 (二(二))."""
    if exempt_by_allowance_tier(allowance_tier, assessed_on):
        return True
    return assessment_valid_until(assessed_on, valid_months) >= month.first_day


def earliest_assessment_valid_on(day: date, valid_months: int) -> date:
    """The earliest assessment date still valid on ``day``: set-based SQL selects
    ``assessed_on >= this``. Validity ends grow with the assessment date (never shrink), so the
    first date whose validity reaches ``day`` is the boundary; it lies within a few days after
    the same day ``valid_months`` earlier."""
    candidate = Month.of(day).plus(-valid_months).first_day - timedelta(days=1)
    while assessment_valid_until(candidate, valid_months) < day:
        candidate += timedelta(days=1)
    return candidate


def earliest_valid_assessment_day(month: Month, valid_months: int) -> date:
    """The earliest assessment date that counts for ``month`` (valid on its first day)."""
    return earliest_assessment_valid_on(month.first_day, valid_months)


def entitlement_refusal(facts: EntitlementFacts, month: Month, *, valid_months: int) -> str | None:
    """None when the elder holds a voucher for ``month``; else why not (first reason only: the
    elder's own API view lists every eligibility reason)."""
    if facts.status == "suspended" and facts.suspension_reason == DECEASED:
        return ELDER_DECEASED  # death is final: no month, whatever last_voucher_month says
    if facts.status == "pending" or facts.approved_at is None:
        return ELDER_NOT_APPROVED
    if facts.status == "suspended" and (
        facts.last_voucher_month is None or month.first_day > facts.last_voucher_month
    ):
        return ELDER_SUSPENDED
    if not assessment_valid_for(
        month,
        assessed_on=facts.assessed_on,
        allowance_tier=facts.disability_allowance_tier,
        valid_months=valid_months,
    ):
        return ASSESSMENT_EXPIRED
    return None


def due_at_month_start(facts: EntitlementFacts, month: Month, *, valid_months: int) -> bool:
    """Whether ``month``'s voucher is issued from the month's first instant (by the month-start
    job, or on demand at the point of service when the job has not run yet): the elder holds a
    voucher for the month and was approved before it began. An approval during the month issues
    that month's voucher itself (:func:`first_voucher_month`)."""
    return (
        entitlement_refusal(facts, month, valid_months=valid_months) is None
        and facts.approved_at is not None
        and facts.approved_at < month.starts_at()
    )


def first_voucher_month(approved_at: datetime, *, min_days: int) -> Month:
    """The month of the voucher an approval issues (二(三) 首月消费券在审核通过后5个工作日内发放).

    The approval's own month, unless less than ``min_days`` days of it remain after the approval
    instant: then the first voucher is next month's, from its first instant (issued by the
    month-start job, or on demand at the first point-of-service call), so that no elder gets a
    first voucher too short to use. ``min_days`` is at most 5, so the first voucher still comes
    within the text's 5 working days."""
    month = Month.containing(approved_at)
    if month.ends_at() - approved_at < timedelta(days=min_days):
        return month.next()
    return month


def service_in_window(
    served_at: datetime, *, valid_from: datetime, valid_until: datetime, now: datetime
) -> bool:
    """A service the voucher may pay: inside the voucher's validity (which starts at the approval
    instant for a voucher issued at approval, 二(三)) and not in the future."""
    return valid_from <= served_at < valid_until and served_at <= now
