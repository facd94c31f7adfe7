"""Ability assessments (京民发〔2026〕6号 二(二), attachment 5), read: an assessment agency (or district
staff, for a paper record) submits the scores (app.assessments.submission), app.rules.assessment
works out the level, the elder's district approves or rejects it (app.assessments.decision), and
an approved result becomes the elder's level.

Records are written at submission and once at the decision, never edited after it: the records
of an elder are its assessment history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Select, false, func, select, true
from sqlalchemy.orm import Session

from app.assessments.schemas import AssessmentStatusOut
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.elders.eligibility import eligibility_rules
from app.errors import NotFound
from app.ids import parse_id
from app.models.assessments import Assessment
from app.models.elders import Elder
from app.models.providers import Provider
from app.rules.assessment_review import SUBMITTED
from app.rules.eligibility import (
    ASSESSMENT_BASIS_TITLES,
    DisabilityLevel,
    assessment_valid_until,
    needs_new_assessment,
)
from app.rules.months import Month

# Newest first, whatever the outcome.
_NEWEST_FIRST = (Assessment.assessed_on.desc(), Assessment.submitted_at.desc(), Assessment.id)


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
    rows = session.scalars(query.order_by(*_NEWEST_FIRST).limit(limit).offset(offset))
    return list(rows), int(total or 0)


def elder_assessments(session: Session, elder: Elder) -> list[Assessment]:
    """The elder's assessment history, newest first, whatever its outcome."""
    return list(
        session.scalars(select(Assessment).where(Assessment.elder_id == elder.id).order_by(*_NEWEST_FIRST))
    )


def pending_assessment(session: Session, elder_id: uuid.UUID) -> Assessment | None:
    """The elder's record awaiting the district's decision (at most one)."""
    return session.scalars(
        select(Assessment).where(Assessment.elder_id == elder_id, Assessment.status == SUBMITTED)
    ).one_or_none()


def agency_names(session: Session, assessments: list[Assessment]) -> dict[uuid.UUID, str]:
    """The names of these records' agencies, in one query."""
    agency_ids = {a.agency_id for a in assessments}
    if not agency_ids:
        return {}
    rows = session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(agency_ids)))
    return {agency_id: name for agency_id, name in rows}


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


def assessment_status(session: Session, elder: Elder, today: date) -> AssessmentStatusOut:
    """二(二) for one elder, from its facts now (app.rules.eligibility.needs_new_assessment)."""
    valid_months = eligibility_rules().assessment_valid_months
    need = needs_new_assessment(
        disability_level=DisabilityLevel(elder.disability_level),
        assessed_on=elder.assessed_on,
        disability_allowance_tier=elder.disability_allowance_tier,
        today=today,
        valid_months=valid_months,
    )
    current = session.execute(in_force(select(Elder.id).where(Elder.id == elder.id))).first()
    pending = pending_assessment(session, elder.id)
    return AssessmentStatusOut(
        elder_id=str(elder.id),
        disability_level=elder.disability_level,
        assessed_on=elder.assessed_on,
        valid_until=assessment_valid_until(elder.assessed_on, valid_months),
        disability_allowance_tier=elder.disability_allowance_tier,
        needs_new_assessment=need.needed,
        basis=need.basis.value,
        basis_title=ASSESSMENT_BASIS_TITLES[need.basis],
        current_assessment_id=str(current.id) if current else None,
        pending_assessment_id=str(pending.id) if pending else None,
    )
