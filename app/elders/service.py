from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.config import get_settings
from app.elders.models import Elder, ElderEnrolment, ElderStatusChange
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
from app.providers.models import Provider
from app.reference.service import ensure_district
from app.rules.eligibility import (
    ELIGIBLE_LEVELS,
    REASON_TITLES,
    Benefit,
    DisabilityLevel,
    Eligibility,
    EligibilityFacts,
    EligibilityRules,
    Residency,
    assess_eligibility,
)
from app.rules.identity import birth_date_of, normalise_id_number
from app.vouchers import service as vouchers
from app.vouchers.models import Voucher

# The suspension reason an approved assessment below moderate sets (app.elders.models).
ASSESSED_BELOW_MODERATE = "assessed_below_moderate"


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


def approve_elder(session: Session, caller: Principal, elder: Elder) -> tuple[Elder, Voucher | None]:
    """Approve an eligible elder and issue the current month's voucher at once (二(三)).

    The voucher is None outside the program period.
    """
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
    elder.status = "approved"
    elder.approved_at = clock.now()
    elder.suspended_at = None
    elder.suspension_reason = None
    elder.last_voucher_month = None
    _record(session, elder, from_status=previous, actor=caller.actor, reason="approved")
    session.flush()
    voucher = vouchers.issue_for_elder(session, elder, clock.current_month(), actor=caller.actor)
    return elder, voucher


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
    elder.disability_level = level.value
    elder.assessed_on = assessed_on
    _refresh_eligibility(elder, clock.today())
    suspend = elder.status == "approved" and level not in ELIGIBLE_LEVELS
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


def suspend_elder(session: Session, caller: Principal, elder: Elder, data: ElderSuspend) -> Elder:
    if elder.status == "suspended":
        raise InvalidState("该老年人已停发")
    previous = elder.status
    now = clock.now()
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
        # The current voucher is revoked at once; its balance returns to the program.
        current = vouchers.valid_voucher(session, elder.id, now, for_update=True)
        if current is not None:
            vouchers.revoke(session, current, actor=caller.actor)
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
