"""Ability assessments under review (京民发〔2026〕6号 二(二), attachment 5): whether a submitted
assessment is taken in, and what the district's approval or rejection of it decides.

Pure: the elder's and the agency's facts, the submission and ``now`` are arguments; scoring is
app.rules.assessment. A refusal is returned (app.rules.refusals.Refusal, its code the API's
error code), never raised, in the order the API reports it: the first failing check answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from app.rules.assessment import AssessmentInputError, AssessmentResult, assess
from app.rules.elder_status import (
    AssessedLevel,
    ElderState,
    assessment_date_refusal,
    decide_assessed_level,
    today_of,
)
from app.rules.eligibility import ELIGIBLE_LEVELS, DisabilityLevel, assessment_valid_until
from app.rules.months import BEIJING
from app.rules.refusals import Refusal

AGENCY_KIND = "assessment_agency"
SUBMITTED = "submitted"
# 一(四) "评估经办机构不得参与提供由本项目补贴的养老服务", and the assessor's pledge
# (attachment 5 四(二)) not to work on what follows from the result: an organisation that served the
# elder this recently may not assess them.
CONFLICT_WINDOW_MONTHS = 12
# One record per elder awaits a decision (also settled by a partial unique index on the write).
PENDING_REFUSAL = Refusal("ASSESSMENT_PENDING", "该老年人已有待审批的能力评估,请先由区民政部门审批")


class AgencyNaming(StrEnum):
    """How a submission names the agency it is made for."""

    OWN_KEY = "own_key"  # an agency's key, for itself (naming none, or itself)
    ANOTHER_BY_KEY = "another_by_key"  # an agency's key naming another agency
    BY_STAFF = "by_staff"  # staff entering a paper record, naming the agency
    NONE_BY_STAFF = "none_by_staff"  # staff entering a paper record without naming one


@dataclass(frozen=True)
class AgencyFacts:
    kind: str
    status: str


@dataclass(frozen=True)
class AssessmentInput:
    """The assessment as submitted: the date, the 26 scores and the facts of C.4."""

    assessed_on: date
    scores: Mapping[str, Any]
    coma: bool = False
    dementia: bool = False
    mental_disorder: bool = False
    dementia_or_mental_disorder: bool = False
    risk_events_30d: int | Mapping[str, Any] = 0


@dataclass(frozen=True)
class SubmissionFacts:
    elder: ElderState
    naming: AgencyNaming
    agency: AgencyFacts | None  # None: no agency named, or no such provider
    # The assessor's organisation, normalised (the agency's own unless another was given); None
    # when the code sent is not a valid one.
    assessor_credit_code: str | None
    pending: bool  # the elder has a record awaiting a decision
    # A provider of the assessor's organisation or the agency's (or a related one) that served
    # the elder within the conflict window (app.assessments.submission.conflicting_provider).
    served_by: str | None
    valid_months: int  # assessment validity


@dataclass(frozen=True)
class Submission:
    result: AssessmentResult
    valid_until: date


def decide_submission(facts: SubmissionFacts, data: AssessmentInput, now: datetime) -> Submission | Refusal:
    """Whether a submitted assessment is stored for the district's decision, and its score."""
    if facts.elder.deceased:
        return Refusal("INVALID_STATE", "该老年人已身故,不能提交能力评估")
    refusal = agency_refusal(facts.naming, facts.agency)
    if refusal is not None:
        return refusal
    if facts.assessor_credit_code is None:
        return Refusal("INVALID_CREDIT_CODE", "评估人员所在机构的统一社会信用代码应为18位且校验码正确")
    valid_until = assessment_valid_until(data.assessed_on, facts.valid_months)
    refusal = _date_refusal(data.assessed_on, facts.elder, today_of(now), valid_until)
    if refusal is not None:
        return refusal
    scored = score(data)
    if isinstance(scored, Refusal):
        return scored
    if facts.pending:
        return PENDING_REFUSAL
    if facts.served_by is not None:
        return Refusal(
            "ASSESSOR_CONFLICT_OF_INTEREST",
            f"评估人员所在机构(统一社会信用代码 {facts.assessor_credit_code})或评估机构及其关联机构近"
            f"{CONFLICT_WINDOW_MONTHS}个月内为该老年人提供过补贴服务或政府保障项目服务,应当回避",
            (("provider_id", facts.served_by),),
        )
    return Submission(scored, valid_until)


def agency_refusal(naming: AgencyNaming, agency: AgencyFacts | None) -> Refusal | None:
    """Assessments are made by a listed assessment agency, and an agency submits only its own."""
    if naming is AgencyNaming.ANOTHER_BY_KEY:
        return Refusal("FORBIDDEN", "评估经办机构只能提交本机构的评估")
    if naming is AgencyNaming.NONE_BY_STAFF:
        return Refusal("NOT_AN_ASSESSMENT_AGENCY", "代为录入评估时须指定评估经办机构 agency_id")
    if agency is None or agency.kind != AGENCY_KIND:
        return Refusal("NOT_AN_ASSESSMENT_AGENCY", "评估须由已登记的评估经办机构(assessment_agency)开展")
    if agency.status != "listed":
        return Refusal("ASSESSMENT_AGENCY_NOT_LISTED", f"评估经办机构当前状态为 {agency.status},不能提交评估")
    return None


def _date_refusal(assessed_on: date, elder: ElderState, today: date, valid_until: date) -> Refusal | None:
    refusal = assessment_date_refusal(assessed_on, elder.birth_date, today)
    if refusal is not None:
        return refusal
    if valid_until < today:
        return Refusal("INVALID_ASSESSMENT_DATE", f"该评估结论已于 {valid_until} 超过有效期")
    return superseded_refusal(assessed_on, elder.assessed_on)


def superseded_refusal(assessed_on: date, elders_assessed_on: date) -> Refusal | None:
    """An older result must never replace a newer one as the elder's level."""
    if assessed_on < elders_assessed_on:
        return Refusal(
            "ASSESSMENT_SUPERSEDED",
            f"评估日期 {assessed_on} 早于该老年人现有评估结论的评估日期 {elders_assessed_on}",
        )
    return None


def score(data: AssessmentInput) -> AssessmentResult | Refusal:
    """The GB/T 42195-2022 result, or INVALID_SCORES listing every bad item."""
    try:
        return assess(
            data.scores,
            coma=data.coma,
            dementia=data.dementia,
            mental_disorder=data.mental_disorder,
            dementia_or_mental_disorder=data.dementia_or_mental_disorder,
            risk_events_30d=data.risk_events_30d,
        )
    except AssessmentInputError as error:
        items = "、".join(problem.item for problem in error.problems[:10])
        return Refusal(
            "INVALID_SCORES",
            f"{len(error.problems)} 项评分有误: {items}",
            (("errors", [problem.as_dict() for problem in error.problems]),),
        )


# --- the district's decision ---------------------------------------------------------------------
@dataclass(frozen=True)
class RecordFacts:
    """The assessment record under decision."""

    status: str  # submitted | approved | rejected
    decided_at: datetime | None
    assessed_on: date
    valid_until: date
    final_level: DisabilityLevel


@dataclass(frozen=True)
class ApprovalFacts:
    record: RecordFacts
    elder: ElderState
    entitled_before: bool  # the elder holds this month's voucher before the result is applied
    assessment_fee_fen: int | None  # catalogue item 1's reference price, if set
    first_month_min_days: int


@dataclass(frozen=True)
class ResultApproved:
    elder_change: AssessedLevel  # what the level changes in the elder's status
    assessment_voucher_fen: int | None  # the assessment e-voucher's face value; None: no voucher


def decide_result_approval(facts: ApprovalFacts, now: datetime) -> ResultApproved | Refusal:
    """The district confirms the result (attachment 5 二(三)): it becomes the elder's level, unless
    the record was decided already, the elder died, the result expired or a newer one stands."""
    record = facts.record
    refusal = undecided_refusal(record)
    if refusal is not None:
        return refusal
    if facts.elder.deceased:
        return Refusal("INVALID_STATE", "该老年人已身故,不能审批能力评估")
    if record.valid_until < today_of(now):
        return Refusal(
            "ASSESSMENT_RESULT_EXPIRED", f"该评估结论已于 {record.valid_until} 超过有效期,请驳回后重新评估"
        )
    refusal = superseded_refusal(record.assessed_on, facts.elder.assessed_on)
    if refusal is not None:
        return refusal
    change = decide_assessed_level(
        facts.elder,
        record.final_level,
        now,
        entitled_before=facts.entitled_before,
        first_month_min_days=facts.first_month_min_days,
    )
    return ResultApproved(change, assessment_voucher_fen(record.final_level, facts.assessment_fee_fen))


def assessment_voucher_fen(level: DisabilityLevel, fee_fen: int | None) -> int | None:
    """Moderate or worse: the one-off assessment e-voucher (能力评估电子消费券, attachment 5) worth
    the assessment service fee, which the assessing agency redeems. Mild or intact: none, the
    elder pays. The home-visit fee is always the elder's."""
    if level not in ELIGIBLE_LEVELS or not fee_fen:
        return None
    return fee_fen


def undecided_refusal(record: RecordFacts) -> Refusal | None:
    """A record is decided once: approved or rejected, never both, never again."""
    if record.status != SUBMITTED:
        return Refusal(
            "ASSESSMENT_ALREADY_DECIDED",
            f"该能力评估已于 {record.decided_at.astimezone(BEIJING).date()} 审批({record.status})",
        )
    return None
