"""An elder's status changes (app/rules/elder_status.py) as tables: the elder's facts and the
request in, the refusal (the API's error code) or what to write out, no database. Every refusal
of registration, approval, suspension and death correction is here, in the order the API
reports them; the HTTP tests keep one case of each per database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from app.rules.elder_status import (
    Approval,
    AssessedLevel,
    DeathCorrection,
    ElderState,
    MonthVoucher,
    Registration,
    Suspension,
    assessment_date_refusal,
    decide_approval,
    decide_assessed_level,
    decide_death_correction,
    decide_registration,
    decide_suspension,
    voucher_on_entitlement,
)
from app.rules.eligibility import DisabilityLevel, Eligibility
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


NOW = at("2026-03-16T10:00:00")
TODAY = date(2026, 3, 16)
MARCH = Month(2026, 3)
BORN = date(1948, 3, 5)
ID_NUMBER = "110105194803050011"  # born 1948-03-05, check character right
PENDING = ElderState("pending", None, BORN, date(2026, 1, 10))
APPROVED = replace(PENDING, status="approved")
MOVED_OUT = replace(PENDING, status="suspended", suspension_reason="moved_out")
DECEASED = replace(PENDING, status="suspended", suspension_reason="deceased")
ELIGIBLE = Eligibility(True, ())
MIN_DAYS = 5


def code_of(decision) -> str | None:
    return decision.code if isinstance(decision, Refusal) else None


# --- registration ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("id_number", "assessed_on", "code", "detail"),
    [
        ("11010519480305001", TODAY, "INVALID_ID_NUMBER", "身份证号码应为18位,出生日期有效且校验码正确"),
        ("110105194803050012", TODAY, "INVALID_ID_NUMBER", "身份证号码应为18位,出生日期有效且校验码正确"),
        ("110105202604010014", TODAY, "INVALID_ID_NUMBER", "身份证号码中的出生日期晚于今天"),
        (ID_NUMBER, date(2026, 3, 17), "INVALID_ASSESSMENT_DATE", "评估日期不能晚于今天"),
        (ID_NUMBER, date(1948, 3, 4), "INVALID_ASSESSMENT_DATE", "评估日期不能早于出生日期"),
    ],
)
def test_registration_refusals(id_number, assessed_on, code, detail):
    assert decide_registration(id_number, assessed_on, TODAY) == Refusal(code, detail)


@pytest.mark.parametrize("assessed_on", [TODAY, BORN, date(2025, 6, 1)])
def test_registration_reads_the_birth_date_from_the_id_number(assessed_on):
    assert decide_registration(ID_NUMBER, assessed_on, TODAY) == Registration(ID_NUMBER, BORN)


def test_registration_normalises_the_id_number():
    number = "11010519480312018x"  # check character X, sent in lower case
    assert decide_registration(f" {number} ", TODAY, TODAY) == Registration(number.upper(), date(1948, 3, 12))


@pytest.mark.parametrize(
    ("assessed_on", "refused"),
    [(TODAY, False), (BORN, False), (date(2026, 3, 17), True), (date(1948, 3, 4), True)],
)
def test_an_assessment_falls_in_the_elders_life(assessed_on, refused):
    assert (assessment_date_refusal(assessed_on, BORN, TODAY) is not None) is refused


# --- the voucher a change issues ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "entitled_before", "voucher", "first"),
    [
        (NOW, True, MonthVoucher(MARCH, None), MARCH),  # kept (or issued) for the whole month
        (NOW, False, MonthVoucher(MARCH, NOW), MARCH),  # valid from the approval instant
        (at("2026-03-27T00:00:00"), False, MonthVoucher(MARCH, at("2026-03-27T00:00:00")), MARCH),
        (at("2026-03-27T00:00:01"), False, None, Month(2026, 4)),  # under 5 days left: next month's
        (at("2026-03-31T23:00:00"), True, MonthVoucher(MARCH, None), MARCH),
    ],
)
def test_voucher_on_entitlement(now, entitled_before, voucher, first):
    decided = voucher_on_entitlement(now, entitled_before=entitled_before, first_month_min_days=MIN_DAYS)
    assert decided == (voucher, first)


# --- approval ------------------------------------------------------------------------------------------
def approve(elder=PENDING, eligibility=ELIGIBLE, now=NOW, entitled_before=False):
    return decide_approval(
        elder, eligibility, now, entitled_before=entitled_before, first_month_min_days=MIN_DAYS
    )


@pytest.mark.parametrize(
    ("elder", "eligibility", "code"),
    [
        (DECEASED, ELIGIBLE, "ELDER_DECEASED"),  # death is final, whatever else holds
        (DECEASED, Eligibility(False, ("LEVEL_BELOW_MODERATE",)), "ELDER_DECEASED"),
        (APPROVED, ELIGIBLE, "INVALID_STATE"),
        (APPROVED, Eligibility(False, ("ASSESSMENT_EXPIRED",)), "INVALID_STATE"),
        (PENDING, Eligibility(False, ("LEVEL_BELOW_MODERATE",)), "NOT_ELIGIBLE"),
        (MOVED_OUT, Eligibility(False, ("UNDER_MINIMUM_AGE",)), "NOT_ELIGIBLE"),
        (PENDING, ELIGIBLE, None),
        (MOVED_OUT, ELIGIBLE, None),  # re-approval after a suspension
    ],
)
def test_approval_refusals(elder, eligibility, code):
    assert code_of(approve(elder, eligibility)) == code


def test_not_eligible_lists_every_reason_with_its_title():
    refusal = approve(
        eligibility=Eligibility(False, ("LEVEL_BELOW_MODERATE", "RECEIVES_DISABILITY_CARE_ALLOWANCE"))
    )
    assert (
        refusal.detail
        == "不符合补贴条件: 能力评估等级低于中度失能、正在享受失能老年人护理补贴(可自愿退出后申领)"
    )
    assert dict(refusal.extra)["reasons"] == [
        {"code": "LEVEL_BELOW_MODERATE", "title": "能力评估等级低于中度失能"},
        {
            "code": "RECEIVES_DISABILITY_CARE_ALLOWANCE",
            "title": "正在享受失能老年人护理补贴(可自愿退出后申领)",
        },
    ]


@pytest.mark.parametrize(
    ("now", "entitled_before", "expected"),
    [
        (NOW, False, Approval(MonthVoucher(MARCH, NOW), MARCH)),
        (NOW, True, Approval(MonthVoucher(MARCH, None), MARCH)),  # suspended this month, still entitled
        (at("2026-03-30T10:00:00"), False, Approval(None, Month(2026, 4))),
    ],
)
def test_approval_issues_the_first_voucher(now, entitled_before, expected):
    assert approve(MOVED_OUT, now=now, entitled_before=entitled_before) == expected


# --- suspension ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("elder", "reason", "died_on", "code", "detail"),
    [
        (MOVED_OUT, "other", None, "INVALID_STATE", "该老年人已停发"),
        (DECEASED, "deceased", None, "INVALID_STATE", "该老年人已停发"),
        (APPROVED, "deceased", date(2026, 3, 17), "INVALID_DEATH_DATE", "身故日期不能晚于今天"),
        (APPROVED, "deceased", date(1948, 3, 4), "INVALID_DEATH_DATE", "身故日期不能早于出生日期"),
    ],
)
def test_suspension_refusals(elder, reason, died_on, code, detail):
    assert decide_suspension(elder, reason, died_on, NOW) == Refusal(code, detail)


@pytest.mark.parametrize(
    ("elder", "reason", "died_on", "expected"),
    [
        (APPROVED, "moved_out", None, Suspension("moved_out", None, MARCH)),
        (PENDING, "other", None, Suspension("other", None, MARCH)),
        (APPROVED, "deceased", None, Suspension("deceased", TODAY, MARCH)),  # died today unless told
        (APPROVED, "deceased", date(2026, 2, 20), Suspension("deceased", date(2026, 2, 20), MARCH)),
        (PENDING, "deceased", BORN, Suspension("deceased", BORN, MARCH)),
    ],
)
def test_suspension_stops_vouchers_from_next_month(elder, reason, died_on, expected):
    decided = decide_suspension(elder, reason, died_on, NOW)
    assert decided == expected
    assert decided.revokes_current_voucher is (reason == "deceased")


def test_the_last_voucher_month_is_the_month_in_beijing():
    # 2026-05-31 23:30 in Beijing is 15:30 UTC: still May.
    late = datetime.fromisoformat("2026-05-31T15:30:00+00:00")
    assert decide_suspension(APPROVED, "other", None, late).last_voucher_month == Month(2026, 5)


# --- death correction ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("elder", "before_death", "expected"),
    [
        (APPROVED, None, Refusal("NOT_DECEASED")),
        (MOVED_OUT, "approved", Refusal("NOT_DECEASED")),
        (DECEASED, "approved", DeathCorrection("approved")),
        (DECEASED, "pending", DeathCorrection("pending")),
        (DECEASED, None, DeathCorrection("pending")),
    ],
)
def test_death_correction(elder, before_death, expected):
    decided = decide_death_correction(elder, before_death)
    assert decided == expected
    if isinstance(decided, DeathCorrection):
        assert decided.restores_voucher is (before_death == "approved")


# --- an approved assessment's level -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("elder", "level", "entitled_before", "expected"),
    [
        (PENDING, DisabilityLevel.MILD, False, AssessedLevel(None, None)),  # approval stays the district's
        (MOVED_OUT, DisabilityLevel.SEVERE, False, AssessedLevel(None, None)),
        (
            APPROVED,
            DisabilityLevel.MILD,
            True,
            AssessedLevel(Suspension("assessed_below_moderate", None, MARCH), None),
        ),
        (
            APPROVED,
            DisabilityLevel.INTACT,
            False,
            AssessedLevel(Suspension("assessed_below_moderate", None, MARCH), None),
        ),
        (APPROVED, DisabilityLevel.MODERATE, True, AssessedLevel(None, MonthVoucher(MARCH, None))),
        (APPROVED, DisabilityLevel.SEVERE, False, AssessedLevel(None, MonthVoucher(MARCH, NOW))),
    ],
)
def test_an_assessed_level_suspends_or_restores(elder, level, entitled_before, expected):
    decided = decide_assessed_level(
        elder, level, NOW, entitled_before=entitled_before, first_month_min_days=MIN_DAYS
    )
    assert decided == expected
