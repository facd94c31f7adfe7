"""Table tests for 二(二) in app.rules.eligibility: who needs a new assessment, and the 400/600 yuan
allowance tier standing in for the assessment's validity in eligibility (pure: no database).

"2026年1月1日前评估为中度以上失能的老年人且在评估结论有效期内的,以及正在享受失能护理补贴400元、600元档
的残疾老年人可不重新评估。" Validity: 12 months (docs/decisions.md).
"""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.eligibility import (
    ASSESSMENT_BASIS_TITLES,
    AssessmentBasis,
    AssessmentNeed,
    Benefit,
    DisabilityLevel,
    EligibilityFacts,
    EligibilityRules,
    Residency,
    assess_eligibility,
    exempt_by_allowance_tier,
    needs_new_assessment,
)

TODAY = date(2026, 3, 16)
MONTHS = 12
L = DisabilityLevel
B = AssessmentBasis


def need(
    level: DisabilityLevel, assessed_on: date, tier: int | None = None, today: date = TODAY
) -> AssessmentNeed:
    return needs_new_assessment(
        disability_level=level,
        assessed_on=assessed_on,
        disability_allowance_tier=tier,
        today=today,
        valid_months=MONTHS,
    )


@pytest.mark.parametrize(
    ("level", "assessed_on", "tier", "needed", "basis"),
    [
        # Assessed moderate+ before 2026 and still valid: exempt.
        (L.MODERATE, date(2025, 6, 1), None, False, B.EXEMPT_PRIOR_ASSESSMENT),
        (L.SEVERE, date(2025, 12, 31), None, False, B.EXEMPT_PRIOR_ASSESSMENT),
        (L.COMPLETE, date(2025, 3, 17), None, False, B.EXEMPT_PRIOR_ASSESSMENT),  # valid through today
        # ... but no longer valid: a new assessment.
        (L.COMPLETE, date(2025, 3, 16), None, True, B.ASSESSMENT_EXPIRED),  # valid through yesterday
        (L.SEVERE, date(2024, 11, 1), None, True, B.ASSESSMENT_EXPIRED),
        # Assessed below moderate before 2026: only a new assessment can qualify the elder.
        (L.MILD, date(2025, 6, 1), None, True, B.LEVEL_BELOW_MODERATE),
        (L.INTACT, date(2025, 6, 1), None, True, B.LEVEL_BELOW_MODERATE),
        # The 400 and 600 yuan tiers exempt, however old the determination.
        (L.SEVERE, date(2019, 10, 1), 600, False, B.EXEMPT_ALLOWANCE_TIER),
        (L.MODERATE, date(2023, 5, 20), 400, False, B.EXEMPT_ALLOWANCE_TIER),
        (L.MODERATE, date(2025, 12, 31), 400, False, B.EXEMPT_ALLOWANCE_TIER),
        # The 200 yuan tier (hearing, speech) does not.
        (L.MODERATE, date(2023, 5, 20), 200, True, B.ASSESSMENT_EXPIRED),
        (L.MODERATE, date(2025, 6, 1), 200, False, B.EXEMPT_PRIOR_ASSESSMENT),
        # Assessed under the program (from 2026-01-01): the assessment itself counts.
        (L.MODERATE, date(2026, 1, 1), None, False, B.CURRENT_ASSESSMENT),
        (L.SEVERE, TODAY, None, False, B.CURRENT_ASSESSMENT),
        (L.MILD, date(2026, 2, 1), None, True, B.LEVEL_BELOW_MODERATE),
        # A program assessment replaces the tier as the basis.
        (L.SEVERE, date(2026, 2, 1), 600, False, B.CURRENT_ASSESSMENT),
        (L.MILD, date(2026, 2, 1), 600, True, B.LEVEL_BELOW_MODERATE),
        # A level below moderate needs an assessment even on the tier (the record says mild).
        (L.MILD, date(2019, 10, 1), 600, True, B.LEVEL_BELOW_MODERATE),
        # A date after today is never a basis.
        (L.SEVERE, date(2026, 3, 17), None, True, B.ASSESSMENT_IN_FUTURE),
    ],
)
def test_needs_new_assessment(level, assessed_on, tier, needed, basis) -> None:
    assert need(level, assessed_on, tier) == AssessmentNeed(needed, basis)


def test_a_program_assessment_expires_even_on_the_tier() -> None:
    """Assessed 2026-02-01 (valid through 2027-01-31): the tier no longer stands in for it."""
    assert need(L.SEVERE, date(2026, 2, 1), 600, today=date(2027, 1, 31)).needed is False
    assert need(L.SEVERE, date(2026, 2, 1), 600, today=date(2027, 2, 1)) == AssessmentNeed(
        True, B.ASSESSMENT_EXPIRED
    )


@pytest.mark.parametrize(
    ("tier", "assessed_on", "exempt"),
    [
        (600, date(2025, 12, 31), True),
        (400, date(2020, 1, 1), True),
        (200, date(2020, 1, 1), False),
        (None, date(2020, 1, 1), False),
        (600, date(2026, 1, 1), False),
    ],
)
def test_exempt_by_allowance_tier(tier, assessed_on, exempt) -> None:
    assert exempt_by_allowance_tier(tier, assessed_on) is exempt


def test_every_basis_has_a_chinese_title() -> None:
    assert set(ASSESSMENT_BASIS_TITLES) == set(AssessmentBasis)
    assert all(title and title.isascii() is False for title in ASSESSMENT_BASIS_TITLES.values())


# --- eligibility: the tier stands in for the assessment's validity --------------------------------
RULES = EligibilityRules(minimum_age_years=60, assessment_valid_months=MONTHS)


def reasons(assessed_on: date, tier: int | None, level=L.SEVERE, benefits=frozenset()) -> tuple[str, ...]:
    facts = EligibilityFacts(
        disability_level=level,
        residency=Residency.BEIJING_HUKOU,
        benefits=benefits,
        birth_date=date(1950, 5, 20),
        assessed_on=assessed_on,
        disability_allowance_tier=tier,
    )
    return assess_eligibility(facts, RULES, TODAY).reasons


@pytest.mark.parametrize(
    ("assessed_on", "tier", "expected"),
    [
        (date(2019, 10, 1), 600, ()),
        (date(2019, 10, 1), 400, ()),
        (date(2019, 10, 1), 200, ("ASSESSMENT_EXPIRED",)),
        (date(2019, 10, 1), None, ("ASSESSMENT_EXPIRED",)),
        (date(2026, 1, 10), None, ()),
    ],
)
def test_tier_waives_only_the_expiry(assessed_on, tier, expected) -> None:
    assert reasons(assessed_on, tier) == expected


def test_tier_does_not_waive_the_level_or_the_allowance_itself() -> None:
    """Still receiving the allowance excludes (一(八)3) until the elder leaves it; a recorded level
    below moderate still fails."""
    assert reasons(date(2019, 10, 1), 600, benefits=frozenset({Benefit.DISABILITY_CARE_ALLOWANCE})) == (
        "RECEIVES_DISABILITY_CARE_ALLOWANCE",
    )
    assert reasons(date(2019, 10, 1), 600, level=L.MILD) == ("LEVEL_BELOW_MODERATE",)
