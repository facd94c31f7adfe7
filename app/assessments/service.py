"""Ability assessments (京民发〔2026〕6号 二(二), attachment 5 二): an assessment agency (or district
staff, for a paper record) submits the scores, app.rules.assessment works out the level, the
elder's district approves or rejects it, and an approved result becomes the elder's level.

Records are written at submission and once at the decision, never edited after it: the records
of an elder are its assessment history. Elder status changes go through app.elders.service, so
the elder's status history stays in one place.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.assessments.errors import (
    AgencyNotListed,
    AssessmentAlreadyDecided,
    AssessmentPending,
    AssessmentResultExpired,
    AssessmentSuperseded,
    AssessorConflictOfInterest,
    InvalidScores,
    NotAnAssessmentAgency,
)
from app.assessments.schemas import AssessmentCreate
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.elders import service as elders
from app.errors import (
    ElderNotFound,
    Forbidden,
    InvalidAssessmentDate,
    InvalidCreditCode,
    InvalidState,
    NotFound,
)
from app.ids import parse_id
from app.models.assessments import Assessment
from app.models.elders import Elder, ElderEnrolment
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.vouchers import Voucher
from app.reference.service import get_catalogue_item
from app.rules import assessment as scoring
from app.rules.eligibility import (
    ASSESSMENT_BASIS_TITLES,
    ELIGIBLE_LEVELS,
    DisabilityLevel,
    assessment_valid_until,
    needs_new_assessment,
)
from app.rules.identity import normalise_credit_code
from app.rules.months import BEIJING, Month
from app.vouchers import service as vouchers

AGENCY_KIND = "assessment_agency"
# 一(四) "评估经办机构不得参与提供由本项目补贴的养老服务", and the assessor's pledge
# (attachment 5 四(二)) not to work on what follows from the result: an organisation that served the
# elder this recently may not assess them.
CONFLICT_WINDOW_MONTHS = 12


# --- submission ------------------------------------------------------------------------------
def submit(session: Session, caller: Principal, data: AssessmentCreate) -> Assessment:
    """Check and score one assessment and store it as ``submitted``. Every refusal raises before
    anything is written."""
    elder = _find_elder(session, caller, data)
    if elder.suspension_reason == "deceased":
        raise InvalidState("该老年人已身故,不能提交能力评估")
    agency = _agency(session, caller, data.agency_id)
    credit_code = agency.credit_code
    if data.assessor_organisation_credit_code is not None:
        credit_code = normalise_credit_code(data.assessor_organisation_credit_code)
        if credit_code is None:
            raise InvalidCreditCode("评估人员所在机构的统一社会信用代码应为18位且校验码正确")
    today = clock.today()
    valid_until = assessment_valid_until(data.assessed_on, elders.eligibility_rules().assessment_valid_months)
    _check_date(data.assessed_on, elder, today, valid_until)
    result = _score(data)
    if _pending(session, elder.id) is not None:
        raise AssessmentPending("该老年人已有待审批的能力评估,请先由区民政部门审批")
    served_by = conflicting_provider(
        session, elder.id, {credit_code, agency.credit_code}, data.assessed_on, today
    )
    if served_by is not None:
        raise AssessorConflictOfInterest(
            f"评估人员所在机构(统一社会信用代码 {credit_code})或评估机构及其关联机构近"
            f"{CONFLICT_WINDOW_MONTHS}个月内为该老年人提供过补贴服务或政府保障项目服务,应当回避",
            provider_id=str(served_by),
        )
    totals = result.indicator_totals
    assessment = Assessment(
        id=uuid.uuid4(),
        elder_id=elder.id,
        district_code=elder.district_code,
        agency_id=agency.id,
        assessor_name=data.assessor_name,
        assessor_certificate_no=data.assessor_certificate_no,
        assessor_organisation_credit_code=credit_code,
        assessed_on=data.assessed_on,
        visit=data.visit,
        scores={code: data.scores[code] for code in scoring.ITEM_CODES},
        self_care_total=totals[scoring.Indicator.SELF_CARE],
        basic_mobility_total=totals[scoring.Indicator.BASIC_MOBILITY],
        mental_state_total=totals[scoring.Indicator.MENTAL_STATE],
        perception_social_total=totals[scoring.Indicator.PERCEPTION_SOCIAL],
        total=result.total,
        base_level=result.base_level.value,
        final_level=result.final_level.value,
        adjustments=[a.value for a in result.adjustments],
        coma=data.coma,
        dementia=data.dementia,
        mental_disorder=data.mental_disorder,
        dementia_or_mental_disorder=data.dementia_or_mental_disorder,
        risk_events_30d=(
            dict(sorted(data.risk_events_30d.items()))
            if isinstance(data.risk_events_30d, dict)
            else data.risk_events_30d
        ),
        risk_events_total=result.risk_events_total,
        valid_until=valid_until,
        status="submitted",
        submitted_at=clock.now(),
        submitted_by=caller.actor,
    )
    try:
        # The partial unique index settles two submissions for one elder at the same moment.
        with session.begin_nested():
            session.add(assessment)
            session.flush()
    except IntegrityError:
        raise AssessmentPending("该老年人已有待审批的能力评估,请先由区民政部门审批") from None
    return assessment


def _find_elder(session: Session, caller: Principal, data: AssessmentCreate) -> Elder:
    """The elder named by id or ID number. An agency may assess an elder of any district (elders
    choose an agency near them); staff only one they see. Anything else is ELDER_NOT_FOUND."""
    if data.elder_id is not None:
        parsed = parse_id(data.elder_id)
        elder = session.get(Elder, parsed) if parsed else None
    else:
        elder = elders.find_by_id_number(session, data.id_number or "")
    if elder is None or (caller.provider_id is None and not caller.sees_district(elder.district_code)):
        raise ElderNotFound("未找到该老年人")
    return elder


def _agency(session: Session, caller: Principal, agency_id: str | None) -> Provider:
    if caller.provider_id is not None:
        if agency_id is not None and parse_id(agency_id) != caller.provider_id:
            raise Forbidden("评估经办机构只能提交本机构的评估")
        agency = session.get(Provider, caller.provider_id)
    else:
        if agency_id is None:
            raise NotAnAssessmentAgency("代为录入评估时须指定评估经办机构 agency_id")
        parsed = parse_id(agency_id)
        agency = session.get(Provider, parsed) if parsed else None
    if agency is None or agency.kind != AGENCY_KIND:
        raise NotAnAssessmentAgency("评估须由已登记的评估经办机构(assessment_agency)开展")
    if agency.status != "listed":
        raise AgencyNotListed(f"评估经办机构当前状态为 {agency.status},不能提交评估")
    return agency


def _check_date(assessed_on: date, elder: Elder, today: date, valid_until: date) -> None:
    if assessed_on > today:
        raise InvalidAssessmentDate("评估日期不能晚于今天")
    if assessed_on < elder.birth_date:
        raise InvalidAssessmentDate("评估日期不能早于出生日期")
    if valid_until < today:
        raise InvalidAssessmentDate(f"该评估结论已于 {valid_until} 超过有效期")
    _ensure_not_superseded(assessed_on, elder)


def _ensure_not_superseded(assessed_on: date, elder: Elder) -> None:
    # An older result must never replace a newer one as the elder's level.
    if assessed_on < elder.assessed_on:
        raise AssessmentSuperseded(
            f"评估日期 {assessed_on} 早于该老年人现有评估结论的评估日期 {elder.assessed_on}"
        )


def _score(data: AssessmentCreate) -> scoring.AssessmentResult:
    try:
        return scoring.assess(
            data.scores,
            coma=data.coma,
            dementia=data.dementia,
            mental_disorder=data.mental_disorder,
            dementia_or_mental_disorder=data.dementia_or_mental_disorder,
            risk_events_30d=data.risk_events_30d,
        )
    except scoring.AssessmentInputError as error:
        items = "、".join(problem.item for problem in error.problems[:10])
        raise InvalidScores(
            f"{len(error.problems)} 项评分有误: {items}",
            errors=[problem.as_dict() for problem in error.problems],
        ) from None


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, clamped to the end of a shorter month."""
    target = Month.of(day).plus(-months)
    return date(target.year, target.month, min(day.day, target.last_day.day))


def conflicting_provider(
    session: Session, elder_id: uuid.UUID, credit_codes: set[str], assessed_on: date, today: date
) -> uuid.UUID | None:
    """A provider that has served the elder and belongs to one of these organisations: any of
    their registrations (every district), the regional center a registration is a partner of, or
    a partner linked to a registration (partners act under the center's dispatch). Served means
    a posted redemption from 12 months before the assessment on, or an enrolment (station basic
    services, family care bed) active at any time from the assessment until today."""
    registrations = session.execute(
        select(Provider.id, Provider.parent_id).where(Provider.credit_code.in_(sorted(credit_codes)))
    ).all()
    if not registrations:
        return None
    own = {row.id for row in registrations}
    related = own | {row.parent_id for row in registrations if row.parent_id is not None}
    related |= set(session.scalars(select(Provider.id).where(Provider.parent_id.in_(own))))
    since = datetime.combine(_months_before(assessed_on, CONFLICT_WINDOW_MONTHS), time.min, tzinfo=BEIJING)
    served = session.scalar(
        select(Redemption.provider_id)
        .where(
            Redemption.elder_id == elder_id,
            Redemption.provider_id.in_(related),
            Redemption.status == "posted",
            Redemption.served_at >= since,
        )
        .limit(1)
    )
    if served is not None:
        return served
    return session.scalar(
        select(ElderEnrolment.provider_id)
        .where(
            ElderEnrolment.elder_id == elder_id,
            ElderEnrolment.provider_id.in_(related),
            ElderEnrolment.starts_on <= today,
            or_(ElderEnrolment.ends_on.is_(None), ElderEnrolment.ends_on >= assessed_on),
        )
        .limit(1)
    )


# --- decision --------------------------------------------------------------------------------
def approve(
    session: Session, caller: Principal, assessment: Assessment, *, note: str | None
) -> tuple[Assessment, Elder]:
    """The district confirms the result (attachment 5 二(三)); it becomes the elder's level and
    assessment date, and eligibility is recomputed (app.elders.service.apply_assessment)."""
    _ensure_undecided(assessment)
    elder = session.get(Elder, assessment.elder_id, with_for_update=True)
    if elder.suspension_reason == "deceased":
        raise InvalidState("该老年人已身故,不能审批能力评估")
    if assessment.valid_until < clock.today():
        raise AssessmentResultExpired(f"该评估结论已于 {assessment.valid_until} 超过有效期,请驳回后重新评估")
    _ensure_not_superseded(assessment.assessed_on, elder)
    level = DisabilityLevel(assessment.final_level)
    _decide(assessment, caller, "approved", note)
    elders.apply_assessment(
        session,
        caller,
        elder,
        level=level,
        assessed_on=assessment.assessed_on,
        note=f"能力评估 {assessment.id} 审批通过: {scoring.LEVEL_NAMES[level]}",
    )
    _after_approval(session, caller, assessment, elder)
    session.flush()
    return assessment, elder


# Catalogue item 1 (评估服务, 失能等级评估): its reference price is the assessment service fee.
ASSESSMENT_ITEM = 1


def _after_approval(
    session: Session, caller: Principal, assessment: Assessment, elder: Elder
) -> Voucher | None:
    """Runs once, in the approval's transaction, after the result became the elder's level.

    Moderate or worse: the elder gets the one-off assessment e-voucher (能力评估电子消费券,
    attachment 5) worth the assessment service fee, the reference price of catalogue item 1,
    which the assessing agency redeems through the ordinary redemption endpoint (or, if the elder
    paid already, redeems and refunds: see docs/decisions.md). Mild or intact: nothing, the elder
    pays. The home-visit fee (``assessment.visit == "home"``) is always the elder's.
    """
    if DisabilityLevel(assessment.final_level) not in ELIGIBLE_LEVELS:
        return None
    fee = get_catalogue_item(session, ASSESSMENT_ITEM)
    if fee is None or not fee.ref_price_max_fen:
        return None
    return vouchers.issue_assessment_voucher(
        session, elder, assessment_id=assessment.id, face_value_fen=fee.ref_price_max_fen, actor=caller.actor
    )


def reject(session: Session, caller: Principal, assessment: Assessment, *, note: str) -> Assessment:
    """The district does not confirm the result: the record stays, with why; the elder is untouched."""
    _ensure_undecided(assessment)
    _decide(assessment, caller, "rejected", note)
    session.flush()
    return assessment


def _ensure_undecided(assessment: Assessment) -> None:
    if assessment.status != "submitted":
        raise AssessmentAlreadyDecided(
            f"该能力评估已于 {assessment.decided_at.astimezone(BEIJING).date()} 审批({assessment.status})"
        )


def _decide(assessment: Assessment, caller: Principal, status: str, note: str | None) -> None:
    assessment.status = status
    assessment.decided_at = clock.now()
    assessment.decided_by = caller.actor
    assessment.decision_note = note


# --- reading ---------------------------------------------------------------------------------
def get_visible_assessment(
    session: Session, caller: Principal, assessment_id: str, *, for_update: bool = False
) -> Assessment:
    """Staff who see the elder's district; an agency its own records. Anything else is 404.
    ``for_update`` locks the record so that two decisions run one after the other."""
    parsed = parse_id(assessment_id)
    assessment = session.get(Assessment, parsed, with_for_update=for_update) if parsed else None
    if assessment is None or not _sees(caller, assessment):
        raise NotFound("未找到该能力评估")
    return assessment


def _sees(caller: Principal, assessment: Assessment) -> bool:
    if caller.provider_id is not None:
        return assessment.agency_id == caller.provider_id
    return caller.sees_district(assessment.district_code)


def list_assessments(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    elder_id: str | None,
    agency_id: str | None,
    status: str | None,
    month: Month | None,
    limit: int,
    offset: int,
) -> tuple[list[Assessment], int]:
    query = select(Assessment)
    if caller.provider_id is not None:
        query = query.where(Assessment.agency_id == caller.provider_id)
    else:
        district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(Assessment.district_code == district_code)
    for text, column in ((elder_id, Assessment.elder_id), (agency_id, Assessment.agency_id)):
        if text is not None:
            query = query.where(column == parse_id(text) if parse_id(text) else false())
    if status is not None:
        query = query.where(Assessment.status == status)
    if month is not None:
        query = query.where(Assessment.assessed_on.between(month.first_day, month.last_day))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(Assessment.assessed_on.desc(), Assessment.submitted_at.desc(), Assessment.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


def elder_assessments(session: Session, elder: Elder) -> list[Assessment]:
    """The elder's assessment history, newest first, whatever its outcome."""
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.elder_id == elder.id)
            .order_by(Assessment.assessed_on.desc(), Assessment.submitted_at.desc(), Assessment.id)
        )
    )


def _pending(session: Session, elder_id: uuid.UUID) -> Assessment | None:
    return session.scalars(
        select(Assessment).where(Assessment.elder_id == elder_id, Assessment.status == "submitted")
    ).one_or_none()


def in_force(elder_ids: Select, before: datetime | None = None) -> Select:
    """(elder_id, assessment id, agency_id) of the approved record each of these elders' level
    rests on: the last one approved (approval is what makes a result the elder's level), before
    the instant ``before`` if given. Elders without one are absent."""
    ranked = (
        select(
            Assessment.elder_id,
            Assessment.id,
            Assessment.agency_id,
            func.row_number()
            .over(
                partition_by=Assessment.elder_id,
                order_by=(Assessment.decided_at.desc(), Assessment.id.desc()),
            )
            .label("rank"),
        )
        .where(Assessment.status == "approved", Assessment.elder_id.in_(elder_ids))
        .where(Assessment.decided_at < before if before is not None else true())
        .subquery()
    )
    return select(ranked.c.elder_id, ranked.c.id, ranked.c.agency_id).where(ranked.c.rank == 1)


def assessment_status(session: Session, elder: Elder) -> dict[str, Any]:
    """二(二) for one elder, from its facts now (app.rules.eligibility.needs_new_assessment)."""
    today = clock.today()
    valid_months = elders.eligibility_rules().assessment_valid_months
    need = needs_new_assessment(
        disability_level=DisabilityLevel(elder.disability_level),
        assessed_on=elder.assessed_on,
        disability_allowance_tier=elder.disability_allowance_tier,
        today=today,
        valid_months=valid_months,
    )
    current = session.execute(in_force(select(Elder.id).where(Elder.id == elder.id))).first()
    pending = _pending(session, elder.id)
    return {
        "elder_id": str(elder.id),
        "disability_level": elder.disability_level,
        "assessed_on": elder.assessed_on,
        "valid_until": assessment_valid_until(elder.assessed_on, valid_months),
        "disability_allowance_tier": elder.disability_allowance_tier,
        "needs_new_assessment": need.needed,
        "basis": need.basis.value,
        "basis_title": ASSESSMENT_BASIS_TITLES[need.basis],
        "current_assessment_id": str(current.id) if current else None,
        "pending_assessment_id": str(pending.id) if pending else None,
    }


# --- shaping ---------------------------------------------------------------------------------
def assessments_out(session: Session, assessments: list[Assessment]) -> list[dict[str, Any]]:
    agency_ids = {a.agency_id for a in assessments}
    rows = (
        session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(agency_ids)))
        if agency_ids
        else []
    )
    names = {agency_id: name for agency_id, name in rows}
    return [_out(a, names.get(a.agency_id, "")) for a in assessments]


def _out(a: Assessment, agency_name: str) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "elder_id": str(a.elder_id),
        "district_code": a.district_code,
        "agency_id": str(a.agency_id),
        "agency_name": agency_name,
        "assessor_name": a.assessor_name,
        "assessor_certificate_no": a.assessor_certificate_no,
        "assessor_organisation_credit_code": a.assessor_organisation_credit_code,
        "assessed_on": a.assessed_on,
        "visit": a.visit,
        "scores": dict(a.scores),
        "indicator_totals": {
            scoring.Indicator.SELF_CARE.value: a.self_care_total,
            scoring.Indicator.BASIC_MOBILITY.value: a.basic_mobility_total,
            scoring.Indicator.MENTAL_STATE.value: a.mental_state_total,
            scoring.Indicator.PERCEPTION_SOCIAL.value: a.perception_social_total,
        },
        "total": a.total,
        "base_level": a.base_level,
        "final_level": a.final_level,
        "moderate_or_worse": DisabilityLevel(a.final_level) in ELIGIBLE_LEVELS,
        "adjustments": [
            {"code": code, "title": scoring.ADJUSTMENT_TITLES[scoring.Adjustment(code)]}
            for code in a.adjustments
        ],
        "coma": a.coma,
        "dementia": a.dementia,
        "mental_disorder": a.mental_disorder,
        "dementia_or_mental_disorder": a.dementia_or_mental_disorder,
        "risk_events_30d": a.risk_events_30d,
        "risk_events_total": a.risk_events_total,
        "valid_until": a.valid_until,
        "status": a.status,
        "submitted_at": a.submitted_at,
        "submitted_by": a.submitted_by,
        "decided_at": a.decided_at,
        "decided_by": a.decided_by,
        "decision_note": a.decision_note,
    }


def reference_items() -> dict[str, Any]:
    """The GB/T 42195-2022 table of app.rules.assessment, for agency and POS integrators."""
    return {
        "standard": "GB/T 42195-2022",
        "max_total": scoring.MAX_TOTAL,
        "items": [
            {
                "code": item.code,
                "clause": item.clause,
                "name": item.name,
                "indicator": item.indicator.value,
                "min_score": item.min_score,
                "max_score": item.max_score,
            }
            for item in scoring.ITEMS
        ],
        "indicators": [
            {
                "code": indicator.value,
                "name": scoring.INDICATOR_NAMES[indicator],
                "max_score": scoring.INDICATOR_MAXIMA[indicator],
                "items": [item.code for item in scoring.ITEMS if item.indicator is indicator],
            }
            for indicator in scoring.Indicator
        ],
        "levels": [
            {"level": level.value, "name": scoring.LEVEL_NAMES[level], "min_total": low, "max_total": high}
            for low, high, level in scoring.LEVEL_BANDS
        ],
        "adjustments": [{"code": a.value, "title": scoring.ADJUSTMENT_TITLES[a]} for a in scoring.Adjustment],
        "risk_event_kinds": [kind.value for kind in scoring.RiskEvent],
        "risk_events_threshold": scoring.RISK_EVENTS_THRESHOLD,
    }
