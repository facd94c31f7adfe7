"""An elder's eligibility (app.rules.eligibility) with the thresholds of the settings: the verdict
as of a day, and the copy stored on the elder for the list filters."""

from __future__ import annotations

from datetime import date

from app.config import get_settings
from app.models.elders import Elder
from app.rules.eligibility import (
    Benefit,
    DisabilityLevel,
    Eligibility,
    EligibilityFacts,
    EligibilityRules,
    Residency,
    assess_eligibility,
    assessment_valid_until,
    exempt_by_allowance_tier,
)


def eligibility_rules() -> EligibilityRules:
    settings = get_settings().eligibility
    return EligibilityRules(
        minimum_age_years=settings.minimum_age_years,
        assessment_valid_months=settings.assessment_valid_months,
    )


def evaluate(elder: Elder, today: date) -> Eligibility:
    """The verdict computed afresh from the elder's facts (nothing stored)."""
    facts = EligibilityFacts(
        disability_level=DisabilityLevel(elder.disability_level),
        residency=Residency(elder.residency),
        benefits=frozenset(Benefit(b) for b in elder.benefits),
        birth_date=elder.birth_date,
        assessed_on=elder.assessed_on,
        disability_allowance_tier=elder.disability_allowance_tier,
    )
    return assess_eligibility(facts, eligibility_rules(), today)


def store_verdict(elder: Elder, verdict: Eligibility, today: date) -> None:
    elder.eligible = verdict.eligible
    elder.ineligible_reasons = list(verdict.reasons)
    elder.eligibility_checked_on = today


def refresh_verdict(elder: Elder, today: date) -> Eligibility:
    """Compute the verdict afresh and store it (after the elder's facts changed)."""
    verdict = evaluate(elder, today)
    store_verdict(elder, verdict, today)
    return verdict


def current_eligibility(elder: Elder, today: date) -> Eligibility:
    """Eligibility as of ``today``: the stored verdict when it was computed today, else computed
    afresh (an assessment expires and a birthday passes without any event; the daily job
    app.elders.service.refresh_eligibility writes the fresh verdict back for the list filters)."""
    if elder.eligibility_checked_on == today:
        return Eligibility(elder.eligible, tuple(elder.ineligible_reasons))
    return evaluate(elder, today)


def assessment_valid_until_of(elder: Elder) -> date | None:
    """The last day the elder's assessment counts; None while the 400/600 tier stands in for it."""
    if exempt_by_allowance_tier(elder.disability_allowance_tier, elder.assessed_on):
        return None
    return assessment_valid_until(elder.assessed_on, eligibility_rules().assessment_valid_months)
