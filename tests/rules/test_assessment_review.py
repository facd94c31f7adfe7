"""Assessments under review (app/rules/assessment_review.py) as tables: the submission and the
district's decision, facts in, refusal (the API's error code) or outcome out, no database. Every
refusal POST /assessments and its approve/reject can give is here, in the order the API reports
them. Scoring itself is tested in test_assessment_rules.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from app.rules.assessment import ITEMS
from app.rules.assessment_review import (
    AgencyFacts,
    AgencyNaming,
    ApprovalFacts,
    AssessmentInput,
    RecordFacts,
    ResultApproved,
    Submission,
    SubmissionFacts,
    agency_refusal,
    assessment_voucher_fen,
    decide_result_approval,
    decide_submission,
    undecided_refusal,
)
from app.rules.elder_status import AssessedLevel, ElderState, MonthVoucher, Suspension
from app.rules.eligibility import DisabilityLevel
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def scores(total: int) -> dict[str, int]:
    """The 26 item scores adding up to ``total``: items filled to their maximum in table order."""
    filled, left = {}, total
    for item in ITEMS:
        filled[item.code] = min(item.max_score, left)
        left -= filled[item.code]
    return filled


NOW = at("2026-03-16T10:00:00")
MARCH = Month(2026, 3)
ELDER = ElderState("pending", None, date(1948, 3, 5), date(2026, 1, 10))
APPROVED_ELDER = replace(ELDER, status="approved")
DECEASED = replace(ELDER, status="suspended", suspension_reason="deceased")
LISTED_AGENCY = AgencyFacts("assessment_agency", "listed")
FACTS = SubmissionFacts(
    elder=ELDER,
    naming=AgencyNaming.OWN_KEY,
    agency=LISTED_AGENCY,
    assessor_credit_code="91110105MA00000719",
    pending=False,
    served_by=None,
    valid_months=12,
)
MODERATE = AssessmentInput(assessed_on=date(2026, 3, 10), scores=scores(50))


def submit(facts=FACTS, data=MODERATE, now=NOW):
    return decide_submission(facts, data, now)


def code_of(decision) -> str | None:
    return decision.code if isinstance(decision, Refusal) else None


# --- submission ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("naming", "agency", "code"),
    [
        (AgencyNaming.ANOTHER_BY_KEY, None, "FORBIDDEN"),
        (AgencyNaming.NONE_BY_STAFF, None, "NOT_AN_ASSESSMENT_AGENCY"),
        (AgencyNaming.BY_STAFF, None, "NOT_AN_ASSESSMENT_AGENCY"),  # no such provider
        (AgencyNaming.BY_STAFF, AgencyFacts("station", "listed"), "NOT_AN_ASSESSMENT_AGENCY"),
        (AgencyNaming.OWN_KEY, AgencyFacts("station", "listed"), "NOT_AN_ASSESSMENT_AGENCY"),
        (AgencyNaming.OWN_KEY, AgencyFacts("assessment_agency", "suspended"), "ASSESSMENT_AGENCY_NOT_LISTED"),
        (AgencyNaming.BY_STAFF, AgencyFacts("assessment_agency", "removed"), "ASSESSMENT_AGENCY_NOT_LISTED"),
        (AgencyNaming.OWN_KEY, LISTED_AGENCY, None),
        (AgencyNaming.BY_STAFF, LISTED_AGENCY, None),
    ],
)
def test_only_a_listed_agency_submits_its_own(naming, agency, code):
    assert code_of(agency_refusal(naming, agency)) == code
    assert code_of(submit(replace(FACTS, naming=naming, agency=agency))) == code


@pytest.mark.parametrize(
    ("assessed_on", "code", "detail"),
    [
        (date(2026, 3, 17), "INVALID_ASSESSMENT_DATE", "评估日期不能晚于今天"),
        (date(1948, 3, 4), "INVALID_ASSESSMENT_DATE", "评估日期不能早于出生日期"),
        (date(2025, 3, 15), "INVALID_ASSESSMENT_DATE", "该评估结论已于 2026-03-14 超过有效期"),
        (
            date(2026, 1, 9),
            "ASSESSMENT_SUPERSEDED",
            "评估日期 2026-01-09 早于该老年人现有评估结论的评估日期 2026-01-10",
        ),
    ],
)
def test_dates_are_checked(assessed_on, code, detail):
    assert submit(data=replace(MODERATE, assessed_on=assessed_on)) == Refusal(code, detail)


@pytest.mark.parametrize(
    ("assessed_on", "valid_until"),
    [
        (date(2026, 1, 10), date(2027, 1, 9)),
        (date(2026, 1, 31), date(2027, 1, 30)),
        (date(2026, 3, 16), date(2027, 3, 15)),
    ],
)
def test_an_accepted_submission_is_scored_with_its_validity(assessed_on, valid_until):
    decided = submit(data=replace(MODERATE, assessed_on=assessed_on))
    assert isinstance(decided, Submission)
    assert (decided.result.total, decided.result.final_level) == (50, DisabilityLevel.MODERATE)
    assert decided.valid_until == valid_until


def test_bad_scores_list_every_problem():
    bad = {**scores(50), "stairs": 4, "walking_speed": 1}
    del bad["eating"]
    refusal = submit(data=replace(MODERATE, scores=bad, risk_events_30d={"fall": -1}))
    assert refusal.code == "INVALID_SCORES"
    errors = dict(refusal.extra)["errors"]
    assert [e["item"] for e in errors] == ["eating", "stairs", "walking_speed", "risk_events_30d.fall"]
    assert refusal.detail == "4 项评分有误: eating、stairs、walking_speed、risk_events_30d.fall"


def test_the_conflict_names_the_provider_and_the_organisation():
    refusal = submit(replace(FACTS, served_by="provider-7"))
    assert refusal.code == "ASSESSOR_CONFLICT_OF_INTEREST"
    assert dict(refusal.extra) == {"provider_id": "provider-7"}
    assert "91110105MA00000719" in refusal.detail and "12个月" in refusal.detail


# The first failing check answers: each row breaks one more fact than the row below it.
EVERYTHING_WRONG = replace(
    FACTS,
    elder=replace(DECEASED, assessed_on=date(2026, 3, 12)),
    naming=AgencyNaming.BY_STAFF,
    agency=AgencyFacts("station", "listed"),
    assessor_credit_code=None,
    pending=True,
    served_by="provider-7",
)


@pytest.mark.parametrize(
    ("facts", "data", "code"),
    [
        (EVERYTHING_WRONG, replace(MODERATE, scores={}), "INVALID_STATE"),
        (
            replace(EVERYTHING_WRONG, elder=replace(ELDER, assessed_on=date(2026, 3, 12))),
            MODERATE,
            "NOT_AN_ASSESSMENT_AGENCY",
        ),
        (
            replace(
                FACTS,
                assessor_credit_code=None,
                pending=True,
                elder=replace(ELDER, assessed_on=date(2026, 3, 12)),
            ),
            MODERATE,
            "INVALID_CREDIT_CODE",
        ),
        (
            replace(FACTS, pending=True, served_by="p", elder=replace(ELDER, assessed_on=date(2026, 3, 12))),
            replace(MODERATE, scores={}),
            "ASSESSMENT_SUPERSEDED",
        ),
        (replace(FACTS, pending=True, served_by="p"), replace(MODERATE, scores={}), "INVALID_SCORES"),
        (replace(FACTS, pending=True, served_by="p"), MODERATE, "ASSESSMENT_PENDING"),
        (replace(FACTS, served_by="p"), MODERATE, "ASSESSOR_CONFLICT_OF_INTEREST"),
        (FACTS, MODERATE, None),
    ],
)
def test_refusals_come_in_the_apis_order(facts, data, code):
    assert code_of(submit(facts, data)) == code


# --- the district's decision -----------------------------------------------------------------------------------
SUBMITTED = RecordFacts("submitted", None, date(2026, 3, 10), date(2027, 3, 9), DisabilityLevel.SEVERE)
APPROVAL = ApprovalFacts(
    record=SUBMITTED, elder=ELDER, entitled_before=False, assessment_fee_fen=10_000, first_month_min_days=5
)


def approve(facts=APPROVAL, now=NOW):
    return decide_result_approval(facts, now)


@pytest.mark.parametrize(
    ("facts", "now", "code", "detail"),
    [
        (
            replace(
                APPROVAL, record=replace(SUBMITTED, status="rejected", decided_at=at("2026-03-12T23:30:00"))
            ),
            NOW,
            "ASSESSMENT_ALREADY_DECIDED",
            "该能力评估已于 2026-03-12 审批(rejected)",
        ),
        (replace(APPROVAL, elder=DECEASED), NOW, "INVALID_STATE", "该老年人已身故,不能审批能力评估"),
        (
            APPROVAL,
            at("2027-03-10T09:00:00"),
            "ASSESSMENT_RESULT_EXPIRED",
            "该评估结论已于 2027-03-09 超过有效期,请驳回后重新评估",
        ),
        (
            replace(APPROVAL, elder=replace(ELDER, assessed_on=date(2026, 3, 12))),
            NOW,
            "ASSESSMENT_SUPERSEDED",
            "评估日期 2026-03-10 早于该老年人现有评估结论的评估日期 2026-03-12",
        ),
    ],
)
def test_approval_refusals(facts, now, code, detail):
    assert approve(facts, now) == Refusal(code, detail)


def test_the_decision_day_is_beijings():
    decided_late = replace(
        SUBMITTED, status="approved", decided_at=datetime.fromisoformat("2026-03-12T16:30:00+00:00")
    )
    assert undecided_refusal(decided_late).detail == "该能力评估已于 2026-03-13 审批(approved)"
    assert undecided_refusal(SUBMITTED) is None


@pytest.mark.parametrize(
    ("elder", "level", "entitled_before", "change"),
    [
        (
            ELDER,
            DisabilityLevel.SEVERE,
            False,
            AssessedLevel(None, None),
        ),  # pending: the district approves later
        (APPROVED_ELDER, DisabilityLevel.SEVERE, False, AssessedLevel(None, MonthVoucher(MARCH, NOW))),
        (APPROVED_ELDER, DisabilityLevel.MODERATE, True, AssessedLevel(None, MonthVoucher(MARCH, None))),
        (
            APPROVED_ELDER,
            DisabilityLevel.MILD,
            True,
            AssessedLevel(Suspension("assessed_below_moderate", None, MARCH), None),
        ),
    ],
)
def test_an_approved_result_changes_the_elders_status(elder, level, entitled_before, change):
    facts = replace(
        APPROVAL, elder=elder, entitled_before=entitled_before, record=replace(SUBMITTED, final_level=level)
    )
    assert approve(facts).elder_change == change


@pytest.mark.parametrize(
    ("level", "fee", "face_value"),
    [
        (DisabilityLevel.COMPLETE, 10_000, 10_000),
        (DisabilityLevel.SEVERE, 10_000, 10_000),
        (DisabilityLevel.MODERATE, 10_000, 10_000),
        (DisabilityLevel.MILD, 10_000, None),  # the elder pays
        (DisabilityLevel.INTACT, 10_000, None),
        (DisabilityLevel.SEVERE, None, None),  # no reference price: no voucher
        (DisabilityLevel.SEVERE, 0, None),
    ],
)
def test_the_assessment_voucher_pays_the_fee_from_moderate_on(level, fee, face_value):
    assert assessment_voucher_fen(level, fee) == face_value
    facts = replace(APPROVAL, assessment_fee_fen=fee, record=replace(SUBMITTED, final_level=level))
    assert approve(facts) == ResultApproved(AssessedLevel(None, None), face_value)
