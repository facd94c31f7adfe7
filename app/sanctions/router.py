"""Provider sanctions (四(三)): suspend, disqualify, blacklist, rectification deadlines.

Suspension and disqualification go through ``POST /providers/{id}/status``; they show here in
``GET /sanctions``. Writing: city admins and the district's civil officers (the provider's
district; another district's provider is 404); lifting a blacklisting: city admins only.
Reading: staff in scope (the blacklist: all staff), providers their own records.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.orm import Session

from app.deps import READ_ONLY_METHODS, AnyPrincipal, CityAdmin, RegistryOfficer, SessionDep
from app.models.providers import Provider
from app.models.sanctions import BlacklistEntry, RectificationOrder
from app.providers import service as providers
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.rules.sanctions import RectificationStatus
from app.sanctions import blacklist, overview
from app.sanctions import service as rectifications
from app.sanctions.schemas import (
    BlacklistCreate,
    BlacklistLift,
    BlacklistOut,
    RectificationClose,
    RectificationCreate,
    RectificationEscalate,
    RectificationOut,
    SanctionKind,
    SanctionListOut,
)
from app.schemas import DistrictCode, MonthText, problem_responses

router = APIRouter(
    route_class=TransactionRetryRoute,
    tags=["sanctions"],
    responses=problem_responses(401, 403, 404, 422),
)


def _writing(request: Request) -> bool:
    return request.method not in READ_ONLY_METHODS


def visible_provider(
    provider_id: str, request: Request, session: SessionDep, caller: AnyPrincipal
) -> Provider:
    return providers.get_visible_provider(session, caller, provider_id, for_update=_writing(request))


def visible_order(
    order_id: str, request: Request, session: SessionDep, caller: AnyPrincipal
) -> RectificationOrder:
    return rectifications.get_visible_order(session, caller, order_id, for_update=_writing(request))


def visible_entry(
    entry_id: str, request: Request, session: SessionDep, caller: AnyPrincipal
) -> BlacklistEntry:
    return blacklist.get_visible_blacklist_entry(session, caller, entry_id, for_update=_writing(request))


VisibleProvider = Annotated[Provider, Depends(visible_provider)]
VisibleOrder = Annotated[RectificationOrder, Depends(visible_order)]
VisibleEntry = Annotated[BlacklistEntry, Depends(visible_entry)]


def _one_order(session: Session, order: RectificationOrder) -> RectificationOut:
    return rectifications.rectification_responses(session, [order])[0]


def _one_entry(session: Session, entry: BlacklistEntry) -> BlacklistOut:
    return blacklist.blacklist_responses(session, [entry])[0]


# --- the monthly view ------------------------------------------------------------------------
@router.get(
    "/sanctions",
    response_model=SanctionListOut,
    summary="某月对服务机构的处理:暂停、取消资格、失信联合惩戒、限期整改(按区、按月)",
)
def list_sanctions(
    session: SessionDep,
    caller: AnyPrincipal,
    month: Annotated[MonthText, Query(description="处理发生的月份(北京时间)")],
    district_code: Annotated[DistrictCode | None, Query(description="服务机构所在区")] = None,
    kind: Annotated[SanctionKind | None, Query()] = None,
):
    return overview.list_sanctions(
        session, caller, district_code=district_code, month=Month.parse(month), kind=kind
    )


# --- blacklist -------------------------------------------------------------------------------
@router.post(
    "/providers/{provider_id}/blacklist",
    status_code=status.HTTP_201_CREATED,
    response_model=BlacklistOut,
    summary="纳入失信联合惩戒对象(同时取消该机构在各区的参与资格)",
    responses=problem_responses(409),
)
def blacklist_provider(
    body: BlacklistCreate, provider: VisibleProvider, session: SessionDep, caller: RegistryOfficer
):
    entry = blacklist.blacklist(session, caller, provider, reason=body.reason, legal_basis=body.legal_basis)
    return _one_entry(session, entry)


@router.get("/blacklist", response_model=list[BlacklistOut], summary="失信联合惩戒对象名单")
def list_blacklist(
    session: SessionDep,
    caller: AnyPrincipal,
    credit_code: Annotated[str | None, Query(max_length=32)] = None,
    district_code: Annotated[DistrictCode | None, Query(description="认定的行政区")] = None,
    active: Annotated[bool | None, Query(description="true: 未解除; false: 已解除")] = None,
):
    entries = blacklist.list_blacklist(
        session, caller, credit_code=credit_code, district_code=district_code, active=active
    )
    return blacklist.blacklist_responses(session, entries)


@router.get("/blacklist/{entry_id}", response_model=BlacklistOut, summary="失信联合惩戒记录")
def get_blacklist_entry(entry: VisibleEntry, session: SessionDep):
    return _one_entry(session, entry)


@router.post(
    "/blacklist/{entry_id}/lift",
    response_model=BlacklistOut,
    summary="解除失信联合惩戒(信用修复,仅市级管理员;记录保留)",
    responses=problem_responses(409),
)
def lift_blacklist(body: BlacklistLift, entry: VisibleEntry, session: SessionDep, caller: CityAdmin):
    return _one_entry(session, blacklist.lift_blacklist(session, caller, entry, reason=body.reason))


# --- rectification orders --------------------------------------------------------------------
@router.post(
    "/providers/{provider_id}/rectifications",
    status_code=status.HTTP_201_CREATED,
    response_model=RectificationOut,
    summary="责令服务机构限期整改(期限按工作日计算)",
    responses=problem_responses(409),
)
def open_rectification(
    body: RectificationCreate, provider: VisibleProvider, session: SessionDep, caller: RegistryOfficer
):
    order = rectifications.open_rectification(
        session, caller, provider, reason=body.reason, working_days=body.working_days
    )
    return _one_order(session, order)


@router.get(
    "/providers/{provider_id}/rectifications",
    response_model=list[RectificationOut],
    summary="服务机构的整改通知",
)
def list_provider_rectifications(provider: VisibleProvider, session: SessionDep, caller: AnyPrincipal):
    orders = rectifications.list_rectifications(session, caller, provider_id=provider.id)
    return rectifications.rectification_responses(session, orders)


@router.get(
    "/rectifications", response_model=list[RectificationOut], summary="整改通知(按区、状态、是否逾期)"
)
def list_rectifications(
    session: SessionDep,
    caller: AnyPrincipal,
    district_code: Annotated[DistrictCode | None, Query(description="服务机构所在区")] = None,
    status: Annotated[RectificationStatus | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="true: 已过整改期限仍未结束")] = None,
    month: Annotated[MonthText | None, Query(description="发出整改通知的月份")] = None,
):
    orders = rectifications.list_rectifications(
        session,
        caller,
        district_code=district_code,
        status=status,
        overdue=overdue,
        month=Month.parse(month) if month else None,
    )
    return rectifications.rectification_responses(session, orders)


@router.get("/rectifications/{order_id}", response_model=RectificationOut, summary="整改通知详情")
def get_rectification(order: VisibleOrder, session: SessionDep):
    return _one_order(session, order)


@router.post(
    "/rectifications/{order_id}/close",
    response_model=RectificationOut,
    summary="整改完成,结束整改通知",
    responses=problem_responses(409),
)
def close_rectification(
    body: RectificationClose, order: VisibleOrder, session: SessionDep, caller: RegistryOfficer
):
    return _one_order(session, rectifications.close_rectification(session, caller, order, note=body.note))


@router.post(
    "/rectifications/{order_id}/escalate",
    response_model=RectificationOut,
    summary="整改不力:暂停或取消服务机构资格并结束整改通知",
    responses=problem_responses(409),
)
def escalate_rectification(
    body: RectificationEscalate, order: VisibleOrder, session: SessionDep, caller: RegistryOfficer
):
    order = rectifications.escalate_rectification(
        session, caller, order, reason=body.reason, action=body.action
    )
    return _one_order(session, order)
