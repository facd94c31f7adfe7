"""The redemption decision (app/rules/redemption.decide), the reversal's (decide_reversal) and the
POS lookup's (answer_lookup) as tables: facts in, refusal or deduction out, no database. Every
refusal POST /redemptions can give is here once, in the order the API reports them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from app.rules.anomalies import NIGHT_HOME_SERVICE, PRICE_ABOVE_REFERENCE, SERVICE_AFTER_DEATH, Thresholds
from app.rules.entitlement import EntitlementFacts
from app.rules.months import BEIJING
from app.rules.policy import Category
from app.rules.redemption import (
    Accepted,
    ElderFacts,
    Enrolment,
    ProviderFacts,
    RedemptionFacts,
    RedemptionRequest,
    Refusal,
    ReversalFacts,
    Reversed,
    VoucherFacts,
    answer_lookup,
    decide,
    decide_reversal,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


NOW = at("2026-03-16T10:00:00")
STATION = ProviderFacts("station-1", "station", "listed", agency_organisation=False)
AGENCY = ProviderFacts("agency-1", "assessment_agency", "listed", agency_organisation=True)
ENTITLED = EntitlementFacts("approved", None, None, date(2026, 1, 10), None, at("2026-02-01T09:00:00"))
ELDER = ElderFacts("elder-1", "110105", ENTITLED, died_on=None)
MARCH_VOUCHER = VoucherFacts(
    "voucher-1",
    date(2026, 3, 1),
    "active",
    80000,
    80000,
    at("2026-03-01T00:00:00"),
    at("2026-04-01T00:00:00"),
)
FACTS = RedemptionFacts(
    provider=STATION,
    elder=ELDER,
    category=Category.HOME_COMMUNITY,
    ref_price_max_fen=40000,
    enrolments=(),
    voucher=MARCH_VOUCHER,
    rate=Decimal("0.50"),
    valid_months=12,
    thresholds=Thresholds(),
)
REQUEST = RedemptionRequest(
    item=11, amount_fen=30000, ltci_paid_fen=0, served_at=at("2026-03-16T09:00:00"), id_checked=True
)
ASSESSMENT_VOUCHER = VoucherFacts(
    "voucher-a",
    date(2026, 3, 1),
    "active",
    10000,
    10000,
    at("2026-03-10T12:00:00"),
    at("2026-04-01T00:00:00"),
    assessment_agency_id="agency-1",
    assessed_on=date(2026, 3, 10),
)


def refused(facts=FACTS, request=REQUEST, now=NOW) -> str:
    decision = decide(facts, request, now)
    assert isinstance(decision, Refusal), decision
    return decision.code


@pytest.mark.parametrize(
    ("facts", "request_", "code"),
    [
        pytest.param(replace(FACTS, provider=None), REQUEST, "PROVIDER_NOT_LISTED", id="unknown-provider"),
        pytest.param(
            replace(FACTS, provider=replace(STATION, status="suspended")),
            REQUEST,
            "PROVIDER_NOT_LISTED",
            id="suspended",
        ),
        pytest.param(replace(FACTS, elder=None), REQUEST, "ELDER_NOT_FOUND", id="no-elder"),
        pytest.param(FACTS, replace(REQUEST, id_checked=False), "ID_NOT_CHECKED", id="id-not-checked"),
        pytest.param(FACTS, replace(REQUEST, amount_fen=0), "INVALID_AMOUNT", id="zero-amount"),
        pytest.param(FACTS, replace(REQUEST, ltci_paid_fen=30000), "INVALID_AMOUNT", id="ltci-pays-all"),
        pytest.param(replace(FACTS, category=None), REQUEST, "UNKNOWN_ITEM", id="unknown-item"),
        pytest.param(
            replace(FACTS, category=Category.INSTITUTION), REQUEST, "ITEM_NOT_ALLOWED", id="station-no-beds"
        ),
        pytest.param(
            replace(FACTS, provider=replace(STATION, agency_organisation=True)),
            REQUEST,
            "ITEM_NOT_ALLOWED",
            id="agency-org",
        ),
        pytest.param(
            replace(FACTS, enrolments=(Enrolment("family_care_bed", "station-1", date(2026, 1, 1), None),)),
            REQUEST,
            "NOT_REDEEMABLE",
            id="family-care-bed",
        ),
        pytest.param(
            replace(
                FACTS, elder=replace(ELDER, entitlement=replace(ENTITLED, status="pending", approved_at=None))
            ),
            REQUEST,
            "ELDER_NOT_ELIGIBLE",
            id="pending",
        ),
        pytest.param(
            replace(FACTS, elder=replace(ELDER, entitlement=replace(ENTITLED, assessed_on=date(2025, 2, 1)))),
            REQUEST,
            "ELDER_NOT_ELIGIBLE",
            id="assessment-expired",
        ),
        pytest.param(replace(FACTS, voucher=None), REQUEST, "NO_ACTIVE_VOUCHER", id="no-voucher"),
        pytest.param(
            replace(FACTS, voucher=replace(MARCH_VOUCHER, status="revoked")),
            REQUEST,
            "NO_ACTIVE_VOUCHER",
            id="revoked",
        ),
        pytest.param(
            FACTS,
            replace(REQUEST, served_at=at("2026-03-16T10:00:01")),
            "SERVED_AT_OUT_OF_RANGE",
            id="future",
        ),
        pytest.param(
            FACTS,
            replace(REQUEST, served_at=at("2026-02-28T23:59:59")),
            "SERVED_AT_OUT_OF_RANGE",
            id="last-month",
        ),
        pytest.param(
            replace(FACTS, voucher=replace(MARCH_VOUCHER, valid_from=at("2026-03-16T09:30:00"))),
            REQUEST,
            "SERVED_AT_OUT_OF_RANGE",
            id="before-approval",
        ),
        pytest.param(
            replace(FACTS, voucher=replace(MARCH_VOUCHER, balance_fen=0)),
            REQUEST,
            "VOUCHER_EXHAUSTED",
            id="exhausted",
        ),
        pytest.param(
            replace(FACTS, rate=Decimal("0.40")),
            replace(REQUEST, amount_fen=1),
            "INVALID_AMOUNT",
            id="rounds-to-nothing",
        ),
    ],
)
def test_each_refusal(facts, request_, code) -> None:
    assert refused(facts, request_) == code


def test_the_elders_entitlement_reason_comes_with_the_refusal() -> None:
    expired = replace(
        FACTS, elder=replace(ELDER, entitlement=replace(ENTITLED, assessed_on=date(2025, 2, 1)))
    )
    decision = decide(expired, REQUEST, NOW)
    assert decision.extra == (("reason", "ASSESSMENT_EXPIRED"),)


@pytest.mark.parametrize(
    ("amount", "ltci", "rate", "balance", "deduction", "self_pay"),
    [
        pytest.param(30000, 0, "0.50", 80000, 15000, 15000, id="half"),
        pytest.param(30001, 0, "0.50", 80000, 15001, 15000, id="half-fen-rounds-up"),
        pytest.param(30000, 10000, "0.50", 80000, 10000, 10000, id="after-ltci"),
        pytest.param(30000, 0, "0.40", 80000, 12000, 18000, id="institution-rate"),
        pytest.param(30000, 0, "0.50", 9000, 9000, 21000, id="capped-by-balance"),
    ],
)
def test_the_deduction(amount, ltci, rate, balance, deduction, self_pay) -> None:
    facts = replace(FACTS, rate=Decimal(rate), voucher=replace(MARCH_VOUCHER, balance_fen=balance))
    decision = decide(facts, replace(REQUEST, amount_fen=amount, ltci_paid_fen=ltci), NOW)
    assert isinstance(decision, Accepted)
    assert (decision.deduction.deduction_fen, decision.deduction.self_pay_fen) == (deduction, self_pay)
    assert decision.new_balance_fen == balance - deduction and not decision.issues_voucher


def test_warnings_and_in_line_findings() -> None:
    dead = replace(FACTS, elder=replace(ELDER, died_on=date(2026, 3, 16)))
    decision = decide(dead, replace(REQUEST, amount_fen=40001, served_at=at("2026-03-16T02:00:00")), NOW)
    assert decision.warnings == (PRICE_ABOVE_REFERENCE,)
    assert [f.rule for f in decision.findings] == [
        PRICE_ABOVE_REFERENCE,
        NIGHT_HOME_SERVICE,
        SERVICE_AFTER_DEATH,
    ]


def test_a_voucher_the_job_has_not_issued_is_issued_by_the_redemption() -> None:
    prospective = replace(MARCH_VOUCHER, id=None)
    decision = decide(replace(FACTS, voucher=prospective), REQUEST, NOW)
    assert isinstance(decision, Accepted) and decision.issues_voucher


@pytest.mark.parametrize(
    ("provider", "served", "expected"),
    [
        pytest.param(AGENCY, "2026-03-10T12:00:00", None, id="the-assessing-agency"),
        pytest.param(
            replace(AGENCY, id="agency-2"), "2026-03-10T12:00:00", "ITEM_NOT_ALLOWED", id="another-agency"
        ),
        pytest.param(AGENCY, "2026-03-09T23:59:59", "SERVED_AT_OUT_OF_RANGE", id="before-the-assessment"),
    ],
)
def test_the_assessment_voucher(provider, served, expected) -> None:
    facts = replace(
        FACTS,
        provider=provider,
        category=Category.ASSESSMENT,
        voucher=ASSESSMENT_VOUCHER,
        ref_price_max_fen=10000,
    )
    decision = decide(facts, replace(REQUEST, item=1, amount_fen=10000, served_at=at(served)), NOW)
    if expected is None:
        assert isinstance(decision, Accepted) and decision.deduction.deduction_fen == 10000  # 100 %
    else:
        assert decision.code == expected


REVERSAL = ReversalFacts("posted", False, 15000, "active", at("2026-04-01T00:00:00"), 65000, 80000)


@pytest.mark.parametrize(
    ("facts", "now", "expected"),
    [
        pytest.param(REVERSAL, NOW, 80000, id="reversed"),
        pytest.param(replace(REVERSAL, redemption_status="reversed"), NOW, "ALREADY_REVERSED", id="twice"),
        pytest.param(replace(REVERSAL, in_settlement=True), NOW, "IN_SETTLEMENT", id="in-settlement"),
        pytest.param(REVERSAL, at("2026-04-01T00:00:00"), "MONTH_CLOSED", id="month-over"),
        pytest.param(replace(REVERSAL, voucher_status="revoked"), NOW, "VOUCHER_CLOSED", id="revoked"),
    ],
)
def test_the_reversal(facts, now, expected) -> None:
    decision = decide_reversal(facts, now)
    if isinstance(expected, int):
        assert decision == Reversed(expected)
    else:
        assert decision.code == expected


def test_a_reversal_above_the_face_value_is_never_written() -> None:
    with pytest.raises(ValueError):
        decide_reversal(replace(REVERSAL, balance_fen=70000), NOW)


def test_the_lookup() -> None:
    shown = answer_lookup(ENTITLED, MARCH_VOUCHER, NOW, valid_months=12)
    assert (shown.refusal, shown.voucher, shown.issue) == (None, MARCH_VOUCHER, False)
    to_issue = answer_lookup(ENTITLED, replace(MARCH_VOUCHER, id=None), NOW, valid_months=12)
    assert to_issue.issue
    dead = answer_lookup(
        replace(ENTITLED, status="suspended", suspension_reason="deceased"),
        MARCH_VOUCHER,
        NOW,
        valid_months=12,
    )
    assert (dead.refusal, dead.voucher) == ("ELDER_DECEASED", None)
