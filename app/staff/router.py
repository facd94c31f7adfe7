"""Staff accounts, created by the city admin (their tokens are shown once), and who the caller
is as the service authenticated them."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.auth.schemas import WhoAmI
from app.deps import AnyPrincipal, CityAdmin, SessionDep
from app.models.auth import StaffMember
from app.routing import TransactionRetryRoute
from app.schemas import problem_responses
from app.staff import service
from app.staff.schemas import StaffCreate, StaffCreated, StaffOut

router = APIRouter(
    route_class=TransactionRetryRoute,
    tags=["staff"],
    responses=problem_responses(401, 403, 422),
)


def _out(staff: StaffMember) -> dict:
    return {
        "id": str(staff.id),
        "name": staff.name,
        "role": staff.role,
        "district_code": staff.district_code,
        "active": staff.active,
        "created_at": staff.created_at,
    }


@router.post(
    "/staff",
    status_code=status.HTTP_201_CREATED,
    response_model=StaffCreated,
    summary="创建员工账号",
)
def create_staff(body: StaffCreate, session: SessionDep, caller: CityAdmin):
    staff, token = service.create_staff(
        session,
        name=body.name,
        role=body.role,
        district_code=body.district_code,
        created_by=caller,
    )
    return {**_out(staff), "token": token}


@router.get("/staff", response_model=list[StaffOut], summary="员工列表")
def list_staff(session: SessionDep, _caller: CityAdmin):
    return [_out(staff) for staff in service.list_staff(session)]


@router.get("/me", response_model=WhoAmI, summary="当前调用者")
def who_am_i(caller: AnyPrincipal):
    return WhoAmI(
        role=caller.role.value,
        subject_id=caller.subject_id,
        district_code=caller.district_code,
    )
