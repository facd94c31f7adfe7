"""Table tests for app.rules.policy: effective-dated policy terms and the program period."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from app.rules.months import Month
from app.rules.policy import Category, PolicyTerms, ProgramPeriod, terms_in_force

D = Decimal
M = Month


def terms(**changes: object) -> PolicyTerms:
    """The 2026 launch terms (一(五), 二(五)), with ``changes`` applied."""
    values: dict[str, object] = dict(
        effective_from=M(2026, 1),
        home_community_rate=D("0.5"),
        institution_rate=D("0.4"),
        monthly_cap_fen=80000,
        central_share=D("0.85"),
        city_share=D("0.075"),
        district_share=D("0.075"),
    )
    values.update(changes)
    return PolicyTerms(**values)  # type: ignore[arg-type]


LAUNCH = terms()


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="launch-terms-0.85/0.075/0.075"),
        pytest.param(dict(home_community_rate=D("1")), id="home-rate-exactly-1"),
        pytest.param(dict(institution_rate=D("1.000")), id="institution-rate-1.000"),
        pytest.param(dict(home_community_rate=D("0.0001")), id="home-rate-tiny"),
        pytest.param(dict(institution_rate=D("0.01")), id="institution-rate-1pct"),
        pytest.param(dict(monthly_cap_fen=1), id="cap-1-fen"),
        pytest.param(dict(monthly_cap_fen=100000), id="cap-1000-yuan"),
        pytest.param(
            dict(central_share=D("0.850"), city_share=D("0.0750"), district_share=D("0.07500")),
            id="shares-with-trailing-zeros",
        ),
        pytest.param(dict(central_share=D("1"), city_share=D("0"), district_share=D("0")), id="shares-1/0/0"),
        pytest.param(
            dict(central_share=D("0.8"), city_share=D("0.1"), district_share=D("0.1")),
            id="shares-0.8/0.1/0.1",
        ),
    ],
)
def test_valid_terms(changes: dict) -> None:
    built = terms(**changes)
    for field, value in changes.items():
        assert getattr(built, field) == value


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(dict(home_community_rate=D("0")), id="home-rate-0"),
        pytest.param(dict(home_community_rate=D("-0.5")), id="home-rate-negative"),
        pytest.param(dict(home_community_rate=D("1.0001")), id="home-rate-above-1"),
        pytest.param(dict(home_community_rate=D("50")), id="home-rate-percent-not-fraction"),
        pytest.param(dict(institution_rate=D("0")), id="institution-rate-0"),
        pytest.param(dict(institution_rate=D("-0.4")), id="institution-rate-negative"),
        pytest.param(dict(institution_rate=D("1.01")), id="institution-rate-above-1"),
        pytest.param(dict(monthly_cap_fen=0), id="cap-0"),
        pytest.param(dict(monthly_cap_fen=-80000), id="cap-negative"),
        pytest.param(dict(district_share=D("0.074")), id="shares-sum-0.999"),
        pytest.param(dict(district_share=D("0.076")), id="shares-sum-1.001"),
        pytest.param(dict(district_share=D("0.0749999999")), id="shares-sum-just-below-1"),
        pytest.param(
            dict(central_share=D("0.85"), city_share=D("0.15"), district_share=D("0.15")),
            id="shares-sum-1.15",
        ),
        pytest.param(
            dict(central_share=D("0.3333"), city_share=D("0.3333"), district_share=D("0.3333")),
            id="thirds-not-exact",
        ),
    ],
)
def test_invalid_terms_raise(changes: dict) -> None:
    with pytest.raises(ValueError):
        terms(**changes)


# --- rate_for ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        pytest.param(Category.HOME_COMMUNITY, D("0.5"), id="home_community-50pct"),
        pytest.param(Category.INSTITUTION, D("0.4"), id="institution-40pct"),
        pytest.param(Category.ASSESSMENT, None, id="assessment-none"),
    ],
)
def test_rate_for(category: Category, expected: Decimal | None) -> None:
    assert LAUNCH.rate_for(category) == expected


def test_rate_for_uses_this_rows_rates() -> None:
    adjusted = terms(home_community_rate=D("0.6"), institution_rate=D("0.45"))
    assert adjusted.rate_for(Category.HOME_COMMUNITY) == D("0.6")
    assert adjusted.rate_for(Category.INSTITUTION) == D("0.45")
    assert adjusted.rate_for(Category.ASSESSMENT) is None


def test_category_table_covers_every_category() -> None:
    assert {c.value for c in Category} == {"assessment", "institution", "home_community"}


# --- terms_in_force ----------------------------------------------------------------------------

JULY = terms(effective_from=M(2026, 7), home_community_rate=D("0.6"), monthly_cap_fen=100000)
NEXT_YEAR = terms(effective_from=M(2027, 1), institution_rate=D("0.3"))
ROWS = [LAUNCH, JULY, NEXT_YEAR]


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        pytest.param(M(2025, 12), None, id="before-first-row"),
        pytest.param(M(2020, 1), None, id="long-before"),
        pytest.param(M(2026, 1), LAUNCH, id="first-row-month"),
        pytest.param(M(2026, 6), LAUNCH, id="month-before-adjustment"),
        pytest.param(M(2026, 7), JULY, id="adjustment-month"),
        pytest.param(M(2026, 12), JULY, id="after-adjustment"),
        pytest.param(M(2027, 1), NEXT_YEAR, id="next-year-row"),
        pytest.param(M(2030, 5), NEXT_YEAR, id="far-future-latest-row"),
    ],
)
@pytest.mark.parametrize(
    "order", [ROWS, list(reversed(ROWS)), [JULY, NEXT_YEAR, LAUNCH]], ids=["sorted", "reversed", "shuffled"]
)
def test_terms_in_force(month: Month, expected: PolicyTerms | None, order: list[PolicyTerms]) -> None:
    assert terms_in_force(order, month) == expected


def test_terms_in_force_with_no_rows() -> None:
    assert terms_in_force([], M(2026, 1)) is None


def test_terms_in_force_accepts_a_generator() -> None:
    assert terms_in_force((row for row in ROWS), M(2026, 8)) == JULY


def test_mid_year_adjustment_applies_from_its_month_on() -> None:
    picked = {str(m): terms_in_force(ROWS, m) for m in (M(2026, k) for k in range(1, 13))}
    assert [str(m) for m, row in picked.items() if row is JULY] == [
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
    ]
    assert all(picked[f"2026-{k:02d}"] is LAUNCH for k in range(1, 7))
    assert picked["2026-06"].rate_for(Category.HOME_COMMUNITY) == D("0.5")
    assert picked["2026-07"].rate_for(Category.HOME_COMMUNITY) == D("0.6")
    assert picked["2026-07"].monthly_cap_fen == 100000


def test_terms_are_frozen() -> None:
    with pytest.raises(AttributeError):
        LAUNCH.monthly_cap_fen = 1  # type: ignore[misc]
    # replace() re-runs validation.
    with pytest.raises(ValueError):
        replace(LAUNCH, monthly_cap_fen=0)


# --- ProgramPeriod -----------------------------------------------------------------------------

PROGRAM = ProgramPeriod(first_month=M(2026, 1), last_month=M(2026, 12))


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        pytest.param(M(2025, 12), False, id="2025-12-out"),
        pytest.param(M(2026, 1), True, id="2026-01-in-first"),
        pytest.param(M(2026, 6), True, id="2026-06-in"),
        pytest.param(M(2026, 12), True, id="2026-12-in-last"),
        pytest.param(M(2027, 1), False, id="2027-01-out"),
        pytest.param(M(2025, 6), False, id="2025-06-out"),
        pytest.param(M(2027, 12), False, id="2027-12-out"),
    ],
)
def test_program_period_includes(month: Month, expected: bool) -> None:
    assert PROGRAM.includes(month) is expected


def test_program_period_is_twelve_natural_months() -> None:
    assert PROGRAM.first_month.months_until(PROGRAM.last_month) + 1 == 12
    assert sum(PROGRAM.includes(PROGRAM.first_month.plus(k)) for k in range(-24, 36)) == 12
