from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app import clock
from app.config import get_settings
from app.deps import CityAdmin, RegistryOfficer, SessionDep, StaffPrincipal
from app.elders import enrolments, history, service
from app.elders import status as elder_status
from app.elders.dependencies import VisibleElder
from app.elders.schemas import (
    DeathCorrection,
    ElderApproved,
    ElderCreate,
    ElderOut,
    ElderPage,
    ElderStatusChangeOut,
    ElderSuspend,
    ElderUpdate,
    EnrolmentCreate,
    EnrolmentEnd,
    EnrolmentOut,
    ExpiringAssessment,
    ExpiringAssessmentPage,
    VoucherOut,
)
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import MAX_OFFSET, DistrictCode, MonthText, problem_responses
from app.vouchers import service as vouchers

router = APIRouter(
    route_class=TransactionRetryRoute,
    prefix="/elders",
    tags=["elders"],
    responses=problem_responses(401, 403, 404, 422),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ElderOut,
    summary="登记老年人补贴申请",
    responses=problem_responses(409),
)
def create_elder(body: ElderCreate, session: SessionDep, caller: RegistryOfficer):
    return ElderOut.of(service.create_elder(session, caller, body), clock.today())


@router.get("", response_model=ElderPage, summary="老年人列表")
def list_elders(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    status: Annotated[Literal["pending", "approved", "suspended"] | None, Query()] = None,
    eligible: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    elders, total = service.list_elders(
        session,
        caller,
        district_code=district_code,
        status=status,
        eligible=eligible,
        limit=limit,
        offset=offset,
    )
    today = clock.today()
    return ElderPage(items=[ElderOut.of(e, today) for e in elders], total=total, limit=limit, offset=offset)


@router.get(
    "/expiring-assessments",
    response_model=ExpiringAssessmentPage,
    summary="能力评估结论即将到期的老年人(以便及时重新评估)",
)
def expiring_assessments(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    within_days: Annotated[int | None, Query(ge=1, le=366, description="默认取设置值(30天)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    within = within_days or get_settings().eligibility.assessment_expiry_notice_days
    rows, total = service.expiring_assessments(
        session, caller, district_code=district_code, within_days=within, limit=limit, offset=offset
    )
    today = clock.today()
    return ExpiringAssessmentPage(
        within_days=within,
        items=[ExpiringAssessment.of(elder, valid_until, today) for elder, valid_until in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{elder_id}", response_model=ElderOut, summary="老年人详情")
def get_elder(elder: VisibleElder):
    return ElderOut.of(elder, clock.today())


@router.patch("/{elder_id}", response_model=ElderOut, summary="更新老年人信息并重新判定资格")
def update_elder(body: ElderUpdate, elder: VisibleElder, session: SessionDep, _caller: RegistryOfficer):
    return ElderOut.of(service.update_elder(session, elder, body), clock.today())


@router.post(
    "/{elder_id}/approve",
    response_model=ElderApproved,
    summary="审核通过(发放当月电子消费券)",
    responses=problem_responses(409),
)
def approve_elder(elder: VisibleElder, session: SessionDep, caller: RegistryOfficer):
    approved = elder_status.approve_elder(session, caller, elder)
    return ElderApproved.of_approval(
        approved.elder,
        clock.today(),
        voucher=vouchers.voucher_out(approved.voucher) if approved.voucher else None,
        first_voucher_month=approved.first_voucher_month,
    )


@router.post(
    "/{elder_id}/suspend",
    response_model=ElderOut,
    summary="停发(次月起不再发放)",
    responses=problem_responses(409),
)
def suspend_elder(
    body: ElderSuspend,
    elder: VisibleElder,
    session: SessionDep,
    caller: RegistryOfficer,
):
    suspended = elder_status.suspend_elder(
        session, caller, elder, reason=body.reason.value, died_on=body.died_on, note=body.note
    )
    return ElderOut.of(suspended, clock.today())


@router.post(
    "/{elder_id}/correct-death",
    response_model=ElderOut,
    summary="更正错误的身故登记(仅市级管理员,须说明理由)",
    responses=problem_responses(409),
)
def correct_death(body: DeathCorrection, elder: VisibleElder, session: SessionDep, caller: CityAdmin):
    return ElderOut.of(elder_status.correct_death(session, caller, elder, body.reason), clock.today())


@router.get(
    "/{elder_id}/history",
    response_model=list[ElderStatusChangeOut],
    summary="状态变更记录",
)
def elder_history(elder: VisibleElder, session: SessionDep):
    return history.status_history(session, elder)


@router.get(
    "/{elder_id}/vouchers",
    response_model=list[VoucherOut],
    summary="老年人的电子消费券",
)
def elder_vouchers(
    elder: VisibleElder,
    session: SessionDep,
    month: Annotated[MonthText | None, Query()] = None,
):
    now = clock.now()
    found = vouchers.list_vouchers(session, elder.id, Month.parse(month) if month else None)
    return [vouchers.voucher_out(voucher, now) for voucher in found]


@router.post(
    "/{elder_id}/enrolments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentOut,
    summary="登记老年人享受的政府保障项目(驿站四项基本服务、家庭养老床位)",
)
def add_enrolment(
    body: EnrolmentCreate,
    elder: VisibleElder,
    session: SessionDep,
    caller: RegistryOfficer,
):
    enrolment = enrolments.add_enrolment(
        session,
        caller,
        elder,
        kind=body.kind,
        provider_id=body.provider_id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    return EnrolmentOut.of(enrolment)


@router.get(
    "/{elder_id}/enrolments",
    response_model=list[EnrolmentOut],
    summary="老年人享受的政府保障项目",
)
def list_enrolments(elder: VisibleElder, session: SessionDep):
    return [EnrolmentOut.of(e) for e in enrolments.list_enrolments(session, elder)]


@router.post(
    "/{elder_id}/enrolments/{enrolment_id}/end",
    response_model=EnrolmentOut,
    summary="结束项目登记",
)
def end_enrolment(
    enrolment_id: str,
    body: EnrolmentEnd,
    elder: VisibleElder,
    session: SessionDep,
    _caller: RegistryOfficer,
):
    return EnrolmentOut.of(enrolments.end_enrolment(session, elder, enrolment_id, body.ends_on))
