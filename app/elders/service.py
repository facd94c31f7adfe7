from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.config import get_settings
from app.elders import events
from app.elders.errors import ElderDeceased, InvalidDeathDate, NotDeceased
from app.elders.schemas import ElderCreate, ElderSuspend, ElderUpdate, SuspensionReason
from app.errors import (
    ElderExists,
    InvalidAssessmentDate,
    InvalidEnrolment,
    InvalidIdNumber,
    InvalidState,
    NotEligible,
    NotFound,
)
from app.ids import parse_id
from app.models.elders import Elder, ElderEnrolment, ElderStatusChange
from app.models.providers import Provider
from app.models.vouchers import Voucher
from app.reference.service import ensure_district
from app.rules.eligibility import (
    ELIGIBLE_LEVELS,
    EXEMPTING_ALLOWANCE_TIERS,
    NEW_ASSESSMENTS_FROM,
    REASON_TITLES,
    Benefit,
    DisabilityLevel,
    Eligibility,
    EligibilityFacts,
    EligibilityRules,
    Residency,
    assess_eligibility,
    assessment_valid_until,
    exempt_by_allowance_tier,
)
from app.rules.entitlement import DECEASED, earliest_assessment_valid_on, first_voucher_month
from app.rules.identity import birth_date_of, normalise_id_number
from app.rules.months import Month
from app.vouchers import entitlement
from app.vouchers import service as vouchers

# The suspension reason an approved assessment below moderate sets (app.models.elders).
ASSESSED_BELOW_MODERATE = "assessed_below_moderate"
# The status-history reason of a city admin's correction of a mistaken death record.
DEATH_CORRECTED = "death_record_corrected"


def eligibility_rules() -> EligibilityRules:
    settings = get_settings().eligibility
    return EligibilityRules(
        minimum_age_years=settings.minimum_age_years,
        assessment_valid_months=settings.assessment_valid_months,
    )


def evaluate(elder: Elder, today: date) -> Eligibility:
    facts = EligibilityFacts(
        disability_level=DisabilityLevel(elder.disability_level),
        residency=Residency(elder.residency),
        benefits=frozenset(Benefit(b) for b in elder.benefits),
        birth_date=elder.birth_date,
        assessed_on=elder.assessed_on,
        disability_allowance_tier=elder.disability_allowance_tier,
    )
    return assess_eligibility(facts, eligibility_rules(), today)


def _refresh_eligibility(elder: Elder, today: date) -> Eligibility:
    result = evaluate(elder, today)
    elder.eligible = result.eligible
    elder.ineligible_reasons = list(result.reasons)
    elder.eligibility_checked_on = today
    return result


def current_eligibility(elder: Elder, today: date) -> Eligibility:
    """Eligibility as of ``today``: the stored verdict when it was computed today, else computed
    afresh (an assessment expires and a birthday passes without any event; the daily job
    :func:`refresh_eligibility` writes the fresh verdict back for the list filters)."""
    if elder.eligibility_checked_on == today:
        return Eligibility(elder.eligible, tuple(elder.ineligible_reasons))
    return evaluate(elder, today)


def assessment_valid_until_of(elder: Elder) -> date | None:
    """The last day the elder's assessment counts; None while the 400/600 tier stands in for it."""
    if exempt_by_allowance_tier(elder.disability_allowance_tier, elder.assessed_on):
        return None
    return assessment_valid_until(elder.assessed_on, eligibility_rules().assessment_valid_months)


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
            result = _refresh_eligibility(elder, today)
            changed += was != (result.eligible, list(result.reasons))
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
    today = clock.today()
    months = eligibility_rules().assessment_valid_months
    query = select(Elder).where(
        Elder.status.in_(("approved", "pending")),
        Elder.assessed_on >= earliest_assessment_valid_on(today, months),
        Elder.assessed_on < earliest_assessment_valid_on(today + timedelta(days=within_days + 1), months),
        # Not standing on the 400/600 tier (written out: the tier is NULL for most elders).
        or_(
            Elder.disability_allowance_tier.is_(None),
            Elder.disability_allowance_tier.not_in(sorted(EXEMPTING_ALLOWANCE_TIERS)),
            Elder.assessed_on >= NEW_ASSESSMENTS_FROM,
        ),
    )
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(Elder.district_code == district_code)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Elder.assessed_on, Elder.id).limit(limit).offset(offset))
    return [(elder, assessment_valid_until(elder.assessed_on, months)) for elder in rows], int(total or 0)


def reasons_with_titles(codes: list[str]) -> list[dict[str, str]]:
    return [{"code": code, "title": REASON_TITLES.get(code, code)} for code in codes]


def _check_assessment_date(assessed_on: date, birth_date: date, today: date) -> None:
    if assessed_on > today:
        raise InvalidAssessmentDate("评估日期不能晚于今天")
    if assessed_on < birth_date:
        raise InvalidAssessmentDate("评估日期不能早于出生日期")


def _record(
    session: Session,
    elder: Elder,
    *,
    from_status: str | None,
    actor: str,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        ElderStatusChange(
            elder_id=elder.id,
            district_code=elder.district_code,
            from_status=from_status,
            to_status=elder.status,
            reason=reason,
            note=note,
            changed_by=actor,
            changed_at=clock.now(),
        )
    )


def create_elder(session: Session, caller: Principal, data: ElderCreate) -> Elder:
    ensure_district(session, data.district_code)
    ensure_district_in_scope(caller, data.district_code)
    id_number = normalise_id_number(data.id_number)
    if id_number is None:
        raise InvalidIdNumber("身份证号码应为18位,出生日期有效且校验码正确")
    today = clock.today()
    birth_date = birth_date_of(id_number)
    if birth_date > today:
        raise InvalidIdNumber("身份证号码中的出生日期晚于今天")
    _check_assessment_date(data.assessed_on, birth_date, today)
    elder = Elder(
        district_code=data.district_code,
        name=data.name,
        id_number=id_number,
        birth_date=birth_date,
        residency=data.residency.value,
        disability_level=data.disability_level.value,
        assessed_on=data.assessed_on,
        benefits=sorted(b.value for b in data.benefits),
        disability_allowance_tier=data.disability_allowance_tier,
        status="pending",
        created_at=clock.now(),
        created_by=caller.actor,
    )
    _refresh_eligibility(elder, today)
    try:
        # The unique id_number closes the race of two applications for one person.
        with session.begin_nested():
            session.add(elder)
            session.flush()
    except IntegrityError:
        raise ElderExists("该身份证号码已提交过申请") from None
    _record(session, elder, from_status=None, actor=caller.actor, reason="application")
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


def update_elder(session: Session, caller: Principal, elder: Elder, data: ElderUpdate) -> Elder:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    today = clock.today()
    if "assessed_on" in changes:
        _check_assessment_date(changes["assessed_on"], elder.birth_date, today)
    for field, value in changes.items():
        if field == "benefits":
            value = sorted(Benefit(b).value for b in value)
        elif hasattr(value, "value"):
            value = value.value
        setattr(elder, field, value)
    _refresh_eligibility(elder, today)
    session.flush()
    return elder


def _is_deceased(elder: Elder) -> bool:
    return elder.status == "suspended" and elder.suspension_reason == DECEASED


@dataclass(frozen=True)
class Approval:
    elder: Elder
    # The voucher issued (or kept) for the approval's month; None when the first voucher is next
    # month's (too little of this month left) or the month is outside the program.
    voucher: Voucher | None
    first_voucher_month: Month


def _issue_current_voucher(
    session: Session, elder: Elder, *, actor: str, entitled_before: bool
) -> tuple[Voucher | None, Month]:
    """The voucher an approval (or a restoring assessment) issues at once.

    An elder already entitled to this month before the change keeps (or gets) the whole month's
    voucher. Otherwise this month's voucher is valid from now, unless too little of the month is
    left (app.rules.entitlement.first_voucher_month): then none now, and next month's comes from
    its first instant like every elder's. Returns the voucher and the month of the first one."""
    now = clock.now()
    month = Month.containing(now)
    if entitled_before:
        return vouchers.issue_for_elder(session, elder, month, actor=actor), month
    first = first_voucher_month(now, min_days=get_settings().vouchers.first_month_min_days)
    if first != month:
        return None, first
    return vouchers.issue_for_elder(session, elder, month, actor=actor, valid_from=now), month


def approve_elder(session: Session, caller: Principal, elder: Elder) -> Approval:
    """Approve an eligible elder and issue the first voucher (二(三)): this month's at once,
    valid from the approval instant (no subsidy for a service before it), or next month's when
    this month is nearly over. The voucher is None outside the program period."""
    if _is_deceased(elder):
        raise ElderDeceased()
    if elder.status == "approved":
        raise InvalidState("该老年人已审核通过")
    result = _refresh_eligibility(elder, clock.today())
    if not result.eligible:
        session.flush()
        raise NotEligible(
            "不符合补贴条件: " + "、".join(REASON_TITLES[code] for code in result.reasons),
            reasons=reasons_with_titles(list(result.reasons)),
        )
    previous = elder.status
    # A suspension confirmed this month leaves this month's voucher in force (二(三) 次月停发).
    entitled_before = entitlement.refusal_in(elder, clock.current_month()) is None
    elder.status = "approved"
    elder.approved_at = clock.now()
    elder.suspended_at = None
    elder.suspension_reason = None
    elder.last_voucher_month = None
    _record(session, elder, from_status=previous, actor=caller.actor, reason="approved")
    session.flush()
    voucher, month = _issue_current_voucher(
        session, elder, actor=caller.actor, entitled_before=entitled_before
    )
    return Approval(elder, voucher, month)


def apply_assessment(
    session: Session,
    caller: Principal,
    elder: Elder,
    *,
    level: DisabilityLevel,
    assessed_on: date,
    note: str,
) -> bool:
    """An approved assessment's result becomes the elder's facts (app/assessments), eligibility is
    recomputed, and an approved elder now below moderate stops getting vouchers from the next
    month, as a suspension confirmed today would (二(三)). Pending and suspended elders keep their
    status: approval stays the district's own step. True when the elder was suspended."""
    entitled_before = entitlement.refusal_in(elder, clock.current_month()) is None
    elder.disability_level = level.value
    elder.assessed_on = assessed_on
    _refresh_eligibility(elder, clock.today())
    suspend = elder.status == "approved" and level not in ELIGIBLE_LEVELS
    if elder.status == "approved" and not suspend:
        # A new moderate+ result restores at once a voucher an expired assessment had stopped
        # (issue_for_elder returns this month's voucher when it exists).
        _issue_current_voucher(session, elder, actor=caller.actor, entitled_before=entitled_before)
    if suspend:
        elder.status = "suspended"
        elder.suspended_at = clock.now()
        elder.suspension_reason = ASSESSED_BELOW_MODERATE
        elder.last_voucher_month = clock.current_month().first_day
        _record(
            session,
            elder,
            from_status="approved",
            actor=caller.actor,
            reason=ASSESSED_BELOW_MODERATE,
            note=note,
        )
    session.flush()
    return suspend


def _death_date(elder: Elder, data: ElderSuspend, today: date) -> date | None:
    if data.reason is not SuspensionReason.DECEASED:
        return None
    died_on = data.died_on or today
    if died_on > today:
        raise InvalidDeathDate("身故日期不能晚于今天")
    if died_on < elder.birth_date:
        raise InvalidDeathDate("身故日期不能早于出生日期")
    return died_on


def suspend_elder(session: Session, caller: Principal, elder: Elder, data: ElderSuspend) -> Elder:
    if elder.status == "suspended":
        raise InvalidState("该老年人已停发")
    previous = elder.status
    now = clock.now()
    elder.died_on = _death_date(elder, data, clock.today())
    elder.status = "suspended"
    elder.suspended_at = now
    elder.suspension_reason = data.reason.value
    # 二(三): vouchers stop from the month after the district confirms the change.
    elder.last_voucher_month = clock.current_month().first_day
    _record(
        session,
        elder,
        from_status=previous,
        actor=caller.actor,
        reason=data.reason.value,
        note=data.note,
    )
    session.flush()
    if data.reason is SuspensionReason.DECEASED:
        # The current voucher is revoked at once; its balance returns to the program. Services
        # already posted on or after the day of death are flagged for the district now.
        current = vouchers.valid_voucher(session, elder.id, now, for_update=True)
        if current is not None:
            vouchers.revoke(session, current, actor=caller.actor)
        events.death_recorded(session, elder.id, now=now)
    return elder


def correct_death(session: Session, caller: Principal, elder: Elder, reason: str) -> Elder:
    """Undo a mistaken death record (city admins only, with a reason, kept in the status history).

    The elder returns to the status the death record interrupted. This month's voucher, revoked
    by the record, is reinstated with the balance it had (a reversing entry of the revocation);
    an entitled elder without one gets it now. Earlier months stay as they ended."""
    if not _is_deceased(elder):
        raise NotDeceased()
    death = session.scalars(
        select(ElderStatusChange)
        .where(ElderStatusChange.elder_id == elder.id, ElderStatusChange.reason == DECEASED)
        .order_by(ElderStatusChange.changed_at.desc(), ElderStatusChange.id.desc())
        .limit(1)
    ).one()
    restored = death.from_status or "pending"
    elder.status = restored
    elder.suspended_at = None
    elder.suspension_reason = None
    elder.last_voucher_month = None
    elder.died_on = None
    _record(session, elder, from_status="suspended", actor=caller.actor, reason=DEATH_CORRECTED, note=reason)
    session.flush()
    if restored == "approved":
        month = clock.current_month()
        if not vouchers.reinstate_revoked(session, elder.id, month, actor=caller.actor):
            vouchers.issue_for_elder(session, elder, month, actor=caller.actor)
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


def status_history(session: Session, elder: Elder) -> list[ElderStatusChange]:
    return list(
        session.scalars(
            select(ElderStatusChange)
            .where(ElderStatusChange.elder_id == elder.id)
            .order_by(ElderStatusChange.id)
        )
    )


def add_enrolment(
    session: Session,
    caller: Principal,
    elder: Elder,
    *,
    kind: str,
    provider_id: str,
    starts_on: date,
    ends_on: date | None,
) -> ElderEnrolment:
    parsed = parse_id(provider_id)
    provider = session.get(Provider, parsed) if parsed else None
    if provider is None or not caller.sees_district(provider.district_code):
        raise InvalidEnrolment("provider_id 不是可见的服务机构")
    if kind == "station_basic_services" and provider.kind != "station":
        raise InvalidEnrolment("四项基本养老服务须由社区养老服务驿站提供")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidEnrolment("结束日期不能早于开始日期")
    enrolment = ElderEnrolment(
        id=uuid.uuid4(),
        district_code=elder.district_code,
        elder_id=elder.id,
        provider_id=provider.id,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        created_at=clock.now(),
        created_by=caller.actor,
    )
    session.add(enrolment)
    session.flush()
    return enrolment


def list_enrolments(session: Session, elder: Elder) -> list[ElderEnrolment]:
    return list(
        session.scalars(
            select(ElderEnrolment)
            .where(ElderEnrolment.elder_id == elder.id)
            .order_by(ElderEnrolment.starts_on)
        )
    )


def end_enrolment(session: Session, elder: Elder, enrolment_id: str, ends_on: date) -> ElderEnrolment:
    parsed = parse_id(enrolment_id)
    enrolment = session.get(ElderEnrolment, parsed) if parsed else None
    if enrolment is None or enrolment.elder_id != elder.id:
        raise NotFound("未找到该项目登记")
    if ends_on < enrolment.starts_on:
        raise InvalidEnrolment("结束日期不能早于开始日期")
    enrolment.ends_on = ends_on
    session.flush()
    return enrolment
