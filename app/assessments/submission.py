"""Submitting an assessment: an assessment agency's key, or district staff entering a paper
record. The facts are read, app.rules.assessment_review.decide_submission checks and scores the
assessment, and the record is stored as ``submitted``; a refusal writes nothing."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import app.assessments.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.assessments.schemas import AssessmentCreate
from app.assessments.service import pending_assessment
from app.auth.principal import Principal
from app.elders.eligibility import eligibility_rules
from app.elders.errors import ElderNotFound
from app.elders.service import find_by_id_number
from app.elders.status import state_of
from app.errors import error_for
from app.ids import parse_id
from app.models.assessments import Assessment
from app.models.elders import Elder, ElderEnrolment
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.rules import assessment as scoring
from app.rules.assessment_review import (
    CONFLICT_WINDOW_MONTHS,
    PENDING_REFUSAL,
    SUBMITTED,
    AgencyFacts,
    AgencyNaming,
    AssessmentInput,
    Submission,
    SubmissionFacts,
    decide_submission,
)
from app.rules.elder_status import today_of
from app.rules.identity import normalise_credit_code
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal


def submit(session: Session, caller: Principal, data: AssessmentCreate) -> Assessment:
    """Check and score one assessment and store it as ``submitted``. Every refusal raises before
    anything is written."""
    elder = _find_elder(session, caller, data)
    now = clock.now()
    naming, agency = _named_agency(session, caller, data.agency_id)
    facts = _submission_facts(session, elder, naming, agency, data, today_of(now))
    decision = decide_submission(facts, _input_of(data), now)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    assessment = _record(
        elder, agency, facts.assessor_credit_code, data, decision, actor=caller.actor, now=now
    )
    try:
        # The partial unique index settles two submissions for one elder at the same moment.
        with session.begin_nested():
            session.add(assessment)
            session.flush()
    except IntegrityError:
        raise error_for(PENDING_REFUSAL) from None
    return assessment


def _find_elder(session: Session, caller: Principal, data: AssessmentCreate) -> Elder:
    """The elder named by id or ID number. An agency may assess an elder of any district (elders
    choose an agency near them); staff only one they see. Anything else is ELDER_NOT_FOUND."""
    if data.elder_id is not None:
        parsed = parse_id(data.elder_id)
        elder = session.get(Elder, parsed) if parsed else None
    else:
        elder = find_by_id_number(session, data.id_number or "")
    if elder is None or (caller.provider_id is None and not caller.sees_district(elder.district_code)):
        raise ElderNotFound("未找到该老年人")
    return elder


def _named_agency(
    session: Session, caller: Principal, agency_id: str | None
) -> tuple[AgencyNaming, Provider | None]:
    """How the submission names its agency, and that provider if it exists: an agency's key
    stands for itself; staff must name one."""
    if caller.provider_id is not None:
        if agency_id is not None and parse_id(agency_id) != caller.provider_id:
            return AgencyNaming.ANOTHER_BY_KEY, None
        return AgencyNaming.OWN_KEY, session.get(Provider, caller.provider_id)
    if agency_id is None:
        return AgencyNaming.NONE_BY_STAFF, None
    parsed = parse_id(agency_id)
    return AgencyNaming.BY_STAFF, session.get(Provider, parsed) if parsed else None


def _submission_facts(
    session: Session,
    elder: Elder,
    naming: AgencyNaming,
    agency: Provider | None,
    data: AssessmentCreate,
    today: date,
) -> SubmissionFacts:
    credit_code = agency.credit_code if agency is not None else None
    if data.assessor_organisation_credit_code is not None:
        credit_code = normalise_credit_code(data.assessor_organisation_credit_code)
    served_by = None
    if agency is not None and credit_code is not None:
        served_by = conflicting_provider(
            session, elder.id, {credit_code, agency.credit_code}, data.assessed_on, today
        )
    return SubmissionFacts(
        elder=state_of(elder),
        naming=naming,
        agency=AgencyFacts(agency.kind, agency.status) if agency is not None else None,
        assessor_credit_code=credit_code,
        pending=pending_assessment(session, elder.id) is not None,
        served_by=str(served_by) if served_by is not None else None,
        valid_months=eligibility_rules().assessment_valid_months,
    )


def _input_of(data: AssessmentCreate) -> AssessmentInput:
    return AssessmentInput(
        assessed_on=data.assessed_on,
        scores=data.scores,
        coma=data.coma,
        dementia=data.dementia,
        mental_disorder=data.mental_disorder,
        dementia_or_mental_disorder=data.dementia_or_mental_disorder,
        risk_events_30d=data.risk_events_30d,
    )


def _record(
    elder: Elder,
    agency: Provider,
    credit_code: str,
    data: AssessmentCreate,
    submission: Submission,
    *,
    actor: str,
    now: datetime,
) -> Assessment:
    result, totals = submission.result, submission.result.indicator_totals
    return Assessment(
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
        valid_until=submission.valid_until,
        status=SUBMITTED,
        submitted_at=now,
        submitted_by=actor,
    )


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
