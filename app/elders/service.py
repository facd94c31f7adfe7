"""The elder registry: applications, the elder's facts, lookups and lists, and the daily refresh
of the stored eligibility. Status changes live in app.elders.status, programme enrolments in
app.elders.enrolments."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import app.elders.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.elders.eligibility import eligibility_rules, refresh_verdict
from app.elders.errors import ElderExists
from app.elders.history import record_status_change
from app.elders.queries import expiring_condition
from app.elders.schemas import ElderCreate, ElderUpdate
from app.errors import NotFound, error_for
from app.ids import parse_id
from app.models.elders import Elder
from app.reference.service import ensure_district
from app.rules.elder_status import (
    PENDING,
    assessment_date_refusal,
    decide_registration,
    today_of,
)
from app.rules.eligibility import (
    Benefit,
    assessment_valid_until,
)
from app.rules.identity import normalise_id_number
from app.rules.refusals import Refusal


def create_elder(session: Session, caller: Principal, data: ElderCreate) -> Elder:
    """Register an application (status pending) with its eligibility as of today."""
    ensure_district(session, data.district_code)
    ensure_district_in_scope(caller, data.district_code)
    now = clock.now()
    today = today_of(now)
    decision = decide_registration(data.id_number, data.assessed_on, today)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    elder = Elder(
        district_code=data.district_code,
        name=data.name,
        id_number=decision.id_number,
        birth_date=decision.birth_date,
        residency=data.residency.value,
        disability_level=data.disability_level.value,
        assessed_on=data.assessed_on,
        benefits=sorted(b.value for b in data.benefits),
        disability_allowance_tier=data.disability_allowance_tier,
        status=PENDING,
        created_at=now,
        created_by=caller.actor,
    )
    refresh_verdict(elder, today)
    try:
        # The unique id_number closes the race of two applications for one person.
        with session.begin_nested():
            session.add(elder)
            session.flush()
    except IntegrityError:
        raise ElderExists("该身份证号码已提交过申请") from None
    record_status_change(session, elder, from_status=None, actor=caller.actor, at=now, reason="application")
    session.flush()
    return elder


def get_visible_elder(
    session: Session, caller: Principal, elder_id: str, *, for_update: bool = False
) -> Elder:
    """The elder, if the caller may see it. ``for_update`` locks the row for a status change, so
    that two concurrent approvals (or an approval and a suspension) run one after the other."""
    parsed = parse_id(elder_id)
    elder = session.get(Elder, parsed, with_for_update=for_update) if parsed else None
    if elder is None or not caller.sees_district(elder.district_code):
        raise NotFound("未找到该老年人")
    return elder


def find_by_id_number(session: Session, id_number: str) -> Elder | None:
    normalised = normalise_id_number(id_number)
    if normalised is None:
        return None
    return session.scalars(select(Elder).where(Elder.id_number == normalised)).one_or_none()


def update_elder(session: Session, elder: Elder, data: ElderUpdate) -> Elder:
    """Facts that changed after the application; eligibility is judged again."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    today = clock.today()
    if "assessed_on" in changes:
        refusal = assessment_date_refusal(changes["assessed_on"], elder.birth_date, today)
        if refusal is not None:
            raise error_for(refusal)
    for field, value in changes.items():
        if field == "benefits":
            value = sorted(Benefit(b).value for b in value)
        elif hasattr(value, "value"):
            value = value.value
        setattr(elder, field, value)
    refresh_verdict(elder, today)
    session.flush()
    return elder


def list_elders(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    status: str | None,
    eligible: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Elder], int]:
    district_code = district_filter(caller, district_code)
    query = select(Elder)
    if district_code is not None:
        query = query.where(Elder.district_code == district_code)
    if status is not None:
        query = query.where(Elder.status == status)
    if eligible is not None:
        query = query.where(Elder.eligible.is_(eligible))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Elder.created_at, Elder.id).limit(limit).offset(offset))
    return list(rows), int(total or 0)


def refresh_eligibility(session: Session, today: date, *, batch_size: int = 1000) -> int:
    """The daily job: recompute the stored eligibility of every elder whose verdict can have
    changed with time alone (checked before today), in id order and batches; returns how many
    verdicts changed. Safe to repeat (a second run the same day finds nothing to do)."""
    changed, after = 0, None
    while True:
        query = select(Elder).where(Elder.eligibility_checked_on < today).order_by(Elder.id).limit(batch_size)
        if after is not None:
            query = query.where(Elder.id > after)
        batch = list(session.scalars(query))
        if not batch:
            return changed
        for elder in batch:
            was = (elder.eligible, list(elder.ineligible_reasons))
            verdict = refresh_verdict(elder, today)
            changed += was != (verdict.eligible, list(verdict.reasons))
        session.flush()
        after = batch[-1].id


def expiring_assessments(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    within_days: int,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Elder, date]], int]:
    """Approved and pending elders whose assessment counts today and ends within ``within_days``
    days (so that re-assessment happens in time), soonest first, with the day it ends."""
    months = eligibility_rules().assessment_valid_months
    query = select(Elder).where(expiring_condition(within_days))
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(Elder.district_code == district_code)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Elder.assessed_on, Elder.id).limit(limit).offset(offset))
    return [(elder, assessment_valid_until(elder.assessed_on, months)) for elder in rows], int(total or 0)
