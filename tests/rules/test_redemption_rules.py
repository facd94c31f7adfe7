"""Table tests for app.rules.redemption: deduction arithmetic, amount checks, which provider kind
may redeem which item for whom, and the reference-price warning (京民发〔2026〕6号 一(五), 一(八),
附件1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.rules.policy import Category
from app.rules.redemption import (
    KIND_CATEGORIES,
    MAX_AMOUNT_FEN,
    STATION_BASIC_SERVICE_ITEMS,
    Deduction,
    Enrolment,
    amount_refusal,
    compute_deduction,
    item_refusal,
    price_warnings,
    voucher_kind_for,
)

D = Decimal
HOME = D("0.50")
INST = D("0.40")
CAP = 80_000
STATION = "station-1"
OTHER = "station-2"
BED = "bed-operator-1"


def deduct(amount: int, *, ltci: int = 0, rate: Decimal = HOME, balance: int = CAP) -> Deduction:
    return compute_deduction(amount_fen=amount, ltci_paid_fen=ltci, rate=rate, balance_fen=balance)


# --- compute_deduction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "ltci", "rate", "balance", "expected"),
    [
        # Home and community services: 50 %.
        pytest.param(30_000, 0, HOME, CAP, (30_000, 15_000, 15_000), id="home-300-yuan"),
        pytest.param(1_000, 0, HOME, CAP, (1_000, 500, 500), id="home-10-yuan"),
        # Institutional care: 40 %.
        pytest.param(500_000, 0, INST, CAP, (500_000, 80_000, 420_000), id="inst-capped"),
        pytest.param(100_000, 0, INST, CAP, (100_000, 40_000, 60_000), id="inst-1000-yuan"),
        pytest.param(12_345, 0, INST, CAP, (12_345, 4_938, 7_407), id="inst-4938.0"),
        # LTCI pays first; the voucher applies to what is left (一(八)2).
        pytest.param(30_000, 10_000, HOME, CAP, (20_000, 10_000, 10_000), id="home-ltci"),
        pytest.param(100_000, 40_000, INST, CAP, (60_000, 24_000, 36_000), id="inst-ltci"),
        pytest.param(30_000, 29_999, HOME, CAP, (1, 1, 0), id="ltci-leaves-1-fen"),
        # The cap is reached in the middle of a redemption: the deduction is what is left.
        pytest.param(30_000, 0, HOME, 10_000, (30_000, 10_000, 20_000), id="cap-mid-home"),
        pytest.param(100_000, 0, INST, 1, (100_000, 1, 99_999), id="cap-mid-1-fen-left"),
        pytest.param(30_000, 0, HOME, 15_000, (30_000, 15_000, 15_000), id="exactly-the-balance"),
        pytest.param(30_000, 0, HOME, 15_001, (30_000, 15_000, 15_000), id="1-fen-more-than-needed"),
        pytest.param(30_000, 10_000, HOME, 5_000, (20_000, 5_000, 15_000), id="ltci-and-cap"),
        pytest.param(30_000, 0, HOME, 0, (30_000, 0, 30_000), id="balance-zero"),
    ],
)
def test_compute_deduction(amount, ltci, rate, balance, expected) -> None:
    result = deduct(amount, ltci=ltci, rate=rate, balance=balance)
    assert (result.eligible_fen, result.deduction_fen, result.self_pay_fen) == expected
    assert result.eligible_fen == amount - ltci
    assert result.deduction_fen + result.self_pay_fen == result.eligible_fen
    assert 0 <= result.deduction_fen <= balance


@pytest.mark.parametrize(
    ("eligible", "rate", "deduction"),
    [
        pytest.param(1, HOME, 1, id="1x0.50=0.5->1"),
        pytest.param(3, HOME, 2, id="3x0.50=1.5->2"),
        pytest.param(7, HOME, 4, id="7x0.50=3.5->4"),
        pytest.param(2, HOME, 1, id="2x0.50=1.0"),
        pytest.param(1, INST, 0, id="1x0.40=0.4->0"),
        pytest.param(2, INST, 1, id="2x0.40=0.8->1"),
        pytest.param(5, INST, 2, id="5x0.40=2.0"),
        pytest.param(4, INST, 2, id="4x0.40=1.6->2"),
        pytest.param(3, INST, 1, id="3x0.40=1.2->1"),
        pytest.param(15, D("0.10"), 2, id="15x0.10=1.5->2"),
        pytest.param(99_999, HOME, 50_000, id="99999x0.50=49999.5->50000"),
    ],
)
def test_rounding_is_half_up_to_the_fen(eligible, rate, deduction) -> None:
    result = deduct(eligible, rate=rate)
    assert result.deduction_fen == deduction
    assert result.self_pay_fen == eligible - deduction


def test_rounding_happens_after_ltci() -> None:
    # 1001 - 100 = 901 eligible; 901 x 0.50 = 450.5 -> 451 (not 1001x0.5 - 100x0.5 = 450.5 twice).
    assert deduct(1_001, ltci=100).deduction_fen == 451


def test_rate_is_used_exactly_not_as_float() -> None:
    # 0.35 is not exact in binary: 10 x 0.35 as a float is 3.4999999999999996.
    assert deduct(10, rate=D("0.35")).deduction_fen == 4


# --- amount_refusal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "ltci", "refusal"),
    [
        pytest.param(1, 0, None, id="one-fen"),
        pytest.param(30_000, 0, None, id="normal"),
        pytest.param(30_000, 29_999, None, id="ltci-one-below"),
        pytest.param(MAX_AMOUNT_FEN, 0, None, id="max-amount"),
        pytest.param(MAX_AMOUNT_FEN, MAX_AMOUNT_FEN - 1, None, id="max-amount-ltci"),
        pytest.param(MAX_AMOUNT_FEN + 1, 0, "INVALID_AMOUNT", id="above-max"),
        pytest.param(0, 0, "INVALID_AMOUNT", id="zero"),
        pytest.param(-1, 0, "INVALID_AMOUNT", id="negative"),
        pytest.param(-30_000, -40_000, "INVALID_AMOUNT", id="both-negative"),
        pytest.param(30_000, 30_000, "INVALID_AMOUNT", id="ltci-equal"),
        pytest.param(30_000, 30_001, "INVALID_AMOUNT", id="ltci-above"),
        pytest.param(30_000, -1, "INVALID_AMOUNT", id="ltci-negative"),
    ],
)
def test_amount_refusal(amount, ltci, refusal) -> None:
    assert amount_refusal(amount, ltci) == refusal


def test_max_amount_is_100000_yuan() -> None:
    assert MAX_AMOUNT_FEN == 10_000_000
    assert deduct(MAX_AMOUNT_FEN, rate=INST).deduction_fen == CAP


# --- item_refusal: provider kind x category -------------------------------------------------------

ITEM_OF = {Category.ASSESSMENT: 1, Category.INSTITUTION: 2, Category.HOME_COMMUNITY: 11}
KINDS = ("institution", "regional_center", "partner", "station", "home_care_company", "assessment_agency")
ALLOWED = {
    "institution": {Category.INSTITUTION, Category.HOME_COMMUNITY},
    "regional_center": {Category.INSTITUTION, Category.HOME_COMMUNITY},
    "partner": {Category.HOME_COMMUNITY},
    "station": {Category.HOME_COMMUNITY},
    "home_care_company": {Category.HOME_COMMUNITY},
    "assessment_agency": {Category.ASSESSMENT},
}


def refusal(
    kind: str,
    item: int,
    category: Category,
    *,
    provider_id: str = STATION,
    enrolments: list[Enrolment] | None = None,
    day: date = date(2026, 3, 16),
) -> str | None:
    return item_refusal(
        provider_kind=kind,
        provider_id=provider_id,
        item=item,
        category=category,
        enrolments=enrolments or [],
        service_day=day,
    )


def test_kind_categories_table_is_the_policy() -> None:
    assert {kind: set(cats) for kind, cats in KIND_CATEGORIES.items()} == ALLOWED


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("category", list(Category), ids=lambda c: c.value)
def test_item_refusal_by_kind_and_category(kind: str, category: Category) -> None:
    got = refusal(kind, ITEM_OF[category], category)
    if category not in ALLOWED[kind]:
        assert got == "ITEM_NOT_ALLOWED"
    else:
        assert got is None


@pytest.mark.parametrize(
    ("category", "kind"),
    [
        (Category.ASSESSMENT, "assessment"),
        (Category.HOME_COMMUNITY, "monthly"),
        (Category.INSTITUTION, "monthly"),
    ],
)
def test_item_1_is_paid_by_the_assessment_voucher_everything_else_by_the_monthly(category, kind) -> None:
    assert voucher_kind_for(category) == kind


def test_unknown_kind_may_provide_nothing() -> None:
    assert refusal("bank", 11, Category.HOME_COMMUNITY) == "ITEM_NOT_ALLOWED"


def test_assessment_agency_may_not_provide_care() -> None:
    for item in (2, 3, 4):
        assert refusal("assessment_agency", item, Category.INSTITUTION) == "ITEM_NOT_ALLOWED"
    for item in (5, 7, 11, 45, 51):
        assert refusal("assessment_agency", item, Category.HOME_COMMUNITY) == "ITEM_NOT_ALLOWED"


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "assessment_agency"])
def test_a_care_registration_of_an_agency_organisation_provides_no_care(kind: str) -> None:
    """一(四) city-wide: whatever kind a registration claims, an organisation registered as an
    assessment agency anywhere (registered before the rule was enforced) redeems no care item."""
    for category in (Category.HOME_COMMUNITY, Category.INSTITUTION):
        allowed = category in ALLOWED[kind]
        got = item_refusal(
            provider_kind=kind,
            provider_id=STATION,
            item=ITEM_OF[category],
            category=category,
            enrolments=[],
            service_day=date(2026, 3, 16),
            organisation_is_agency=True,
        )
        assert got == "ITEM_NOT_ALLOWED", (kind, category, allowed)


# --- item_refusal: government-funded station services and family care beds ----------------------


def station_enrolment(
    *, provider_id: str = STATION, starts: date = date(2026, 3, 1), ends: date | None = None
) -> Enrolment:
    return Enrolment("station_basic_services", provider_id, starts, ends)


def bed_enrolment(
    *, provider_id: str = BED, starts: date = date(2026, 3, 1), ends: date | None = None
) -> Enrolment:
    return Enrolment("family_care_bed", provider_id, starts, ends)


def test_station_basic_service_items_are_the_four_services() -> None:
    assert STATION_BASIC_SERVICE_ITEMS == frozenset({13, 14, 15, 16, 17, 18, 19, 20, 28, 45})


@pytest.mark.parametrize("item", sorted(STATION_BASIC_SERVICE_ITEMS))
def test_basic_service_refused_from_the_enrolled_station(item: int) -> None:
    assert (
        refusal("station", item, Category.HOME_COMMUNITY, enrolments=[station_enrolment()])
        == "NOT_REDEEMABLE"
    )


@pytest.mark.parametrize("item", [7, 11, 12, 21, 27, 29, 44, 46])
def test_other_items_from_the_enrolled_station_are_redeemable(item: int) -> None:
    assert refusal("station", item, Category.HOME_COMMUNITY, enrolments=[station_enrolment()]) is None


def test_basic_service_from_another_station_is_redeemable() -> None:
    assert (
        refusal("station", 13, Category.HOME_COMMUNITY, provider_id=OTHER, enrolments=[station_enrolment()])
        is None
    )


def test_basic_service_without_enrolment_is_redeemable() -> None:
    assert refusal("station", 13, Category.HOME_COMMUNITY) is None


@pytest.mark.parametrize(
    ("starts", "ends", "day", "expected"),
    [
        pytest.param(date(2026, 3, 10), None, date(2026, 3, 9), None, id="day-before-start"),
        pytest.param(date(2026, 3, 10), None, date(2026, 3, 10), "NOT_REDEEMABLE", id="start-day-inclusive"),
        pytest.param(date(2026, 3, 10), None, date(2026, 12, 31), "NOT_REDEEMABLE", id="open-ended"),
        pytest.param(
            date(2026, 3, 1), date(2026, 3, 15), date(2026, 3, 15), "NOT_REDEEMABLE", id="end-day-inclusive"
        ),
        pytest.param(date(2026, 3, 1), date(2026, 3, 15), date(2026, 3, 16), None, id="day-after-end"),
        pytest.param(date(2026, 3, 16), date(2026, 3, 16), date(2026, 3, 16), "NOT_REDEEMABLE", id="one-day"),
    ],
)
def test_station_enrolment_only_while_active(starts, ends, day, expected) -> None:
    enrolments = [station_enrolment(starts=starts, ends=ends)]
    assert refusal("station", 45, Category.HOME_COMMUNITY, enrolments=enrolments, day=day) == expected


def test_ended_and_current_enrolments_together() -> None:
    enrolments = [
        station_enrolment(provider_id=OTHER, starts=date(2026, 1, 1), ends=date(2026, 2, 28)),
        station_enrolment(starts=date(2026, 3, 1)),
    ]
    assert refusal("station", 13, Category.HOME_COMMUNITY, provider_id=OTHER, enrolments=enrolments) is None
    assert refusal("station", 13, Category.HOME_COMMUNITY, enrolments=enrolments) == "NOT_REDEEMABLE"


@pytest.mark.parametrize("item", [5, 7, 11, 13, 28, 45, 51])
def test_family_care_bed_refuses_every_item_from_the_bed_provider(item: int) -> None:
    enrolments = [bed_enrolment()]
    assert (
        refusal("home_care_company", item, Category.HOME_COMMUNITY, provider_id=BED, enrolments=enrolments)
        == "NOT_REDEEMABLE"
    )
    # ...and nothing from anybody else.
    assert (
        refusal(
            "home_care_company",
            item,
            Category.HOME_COMMUNITY,
            provider_id="someone-else",
            enrolments=enrolments,
        )
        is None
    )


def test_family_care_bed_run_by_an_institution_refuses_its_institution_items_too() -> None:
    enrolments = [bed_enrolment(provider_id="inst-1")]
    assert (
        refusal("institution", 2, Category.INSTITUTION, provider_id="inst-1", enrolments=enrolments)
        == "NOT_REDEEMABLE"
    )
    assert (
        refusal("institution", 2, Category.INSTITUTION, provider_id="inst-2", enrolments=enrolments) is None
    )


def test_family_care_bed_only_while_active() -> None:
    enrolments = [bed_enrolment(starts=date(2026, 3, 1), ends=date(2026, 3, 10))]
    kw = dict(provider_id=BED, enrolments=enrolments)
    assert refusal("home_care_company", 11, Category.HOME_COMMUNITY, day=date(2026, 2, 28), **kw) is None
    assert (
        refusal("home_care_company", 11, Category.HOME_COMMUNITY, day=date(2026, 3, 1), **kw)
        == "NOT_REDEEMABLE"
    )
    assert (
        refusal("home_care_company", 11, Category.HOME_COMMUNITY, day=date(2026, 3, 10), **kw)
        == "NOT_REDEEMABLE"
    )
    assert refusal("home_care_company", 11, Category.HOME_COMMUNITY, day=date(2026, 3, 11), **kw) is None


def test_kind_is_checked_before_enrolments() -> None:
    # A station may not provide institutional care whatever the elder is enrolled in.
    assert refusal("station", 2, Category.INSTITUTION, enrolments=[station_enrolment()]) == "ITEM_NOT_ALLOWED"


def test_enrolment_active_on() -> None:
    enrolment = station_enrolment(starts=date(2026, 3, 1), ends=date(2026, 3, 31))
    assert not enrolment.active_on(date(2026, 2, 28))
    assert enrolment.active_on(date(2026, 3, 1))
    assert enrolment.active_on(date(2026, 3, 31))
    assert not enrolment.active_on(date(2026, 4, 1))


# --- price_warnings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "ref_max", "warnings"),
    [
        pytest.param(1_000, 1_000, [], id="at-max"),
        pytest.param(1_001, 1_000, ["PRICE_ABOVE_REFERENCE"], id="max-plus-1"),
        pytest.param(999, 1_000, [], id="below-max"),
        pytest.param(100, 1_000, [], id="below-min-is-no-warning"),
        pytest.param(10_000_000, None, [], id="no-reference-price"),
        pytest.param(40_001, 40_000, ["PRICE_ABOVE_REFERENCE"], id="item-11"),
    ],
)
def test_price_warnings(amount, ref_max, warnings) -> None:
    assert price_warnings(amount, ref_max) == warnings
