"""The elder's facts for the voucher rules of app/rules/entitlement.py, read from an Elder row (or
a row of :data:`ENTITLEMENT_COLUMNS`), with the validity setting applied."""

from __future__ import annotations

from datetime import datetime

from app.config import get_settings
from app.models.elders import Elder
from app.rules import entitlement as rules
from app.rules.months import Month

# The columns the rules read: select these (not the entity) on the point-of-service path.
ENTITLEMENT_COLUMNS = (
    Elder.id,
    Elder.district_code,
    Elder.status,
    Elder.suspension_reason,
    Elder.last_voucher_month,
    Elder.assessed_on,
    Elder.disability_allowance_tier,
    Elder.approved_at,
    Elder.died_on,
)


def valid_months() -> int:
    return get_settings().eligibility.assessment_valid_months


def facts_of(elder) -> rules.EntitlementFacts:
    return rules.EntitlementFacts(
        status=elder.status,
        suspension_reason=elder.suspension_reason,
        last_voucher_month=elder.last_voucher_month,
        assessed_on=elder.assessed_on,
        disability_allowance_tier=elder.disability_allowance_tier,
        approved_at=elder.approved_at,
    )


def refusal_in(elder, month: Month) -> str | None:
    """Why the elder holds no voucher for ``month`` (None: it does)."""
    return rules.entitlement_refusal(facts_of(elder), month, valid_months=valid_months())


def due_at_month_start(elder, month: Month) -> bool:
    return rules.due_at_month_start(facts_of(elder), month, valid_months=valid_months())


def refusal_now(elder, now: datetime) -> str | None:
    return refusal_in(elder, Month.containing(now))
