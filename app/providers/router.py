"""The provider registry's endpoints: register, list, read, change the listing status, rotate
the API key; the 一(四) worklist of organisations on both sides of the assessment rule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from app.deps import READ_ONLY_METHODS, AnyPrincipal, CityWideReader, RegistryOfficer, SessionDep
from app.models.providers import Provider
from app.providers import service
from app.providers.schemas import (
    AgencyConflictOut,
    ApiKeyOut,
    ProviderCreate,
    ProviderCreated,
    ProviderKind,
    ProviderOut,
    ProviderStatusUpdate,
    StatusChangeOut,
)
from app.routing import TransactionRetryRoute
from app.rules.listing import ListingStatus
from app.schemas import DistrictCode, problem_responses

router = APIRouter(
    route_class=TransactionRetryRoute,
    prefix="/providers",
    tags=["providers"],
    responses=problem_responses(401, 403, 404, 422),
)


def visible_provider(
    provider_id: str, request: Request, session: SessionDep, caller: AnyPrincipal
) -> Provider:
    writing = request.method not in READ_ONLY_METHODS
    return service.get_visible_provider(session, caller, provider_id, for_update=writing)


VisibleProvider = Annotated[Provider, Depends(visible_provider)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderCreated,
    summary="登记服务机构(API 密钥仅返回一次)",
    responses=problem_responses(409),
)
def create_provider(body: ProviderCreate, session: SessionDep, caller: RegistryOfficer):
    provider, api_key = service.create_provider(
        session,
        caller,
        name=body.name,
        kind=body.kind,
        district_code=body.district_code,
        credit_code=body.credit_code,
        parent_id=body.parent_id,
    )
    return ProviderCreated.of_new(provider, api_key)


@router.get("", response_model=list[ProviderOut], summary="服务机构名单")
def list_providers(
    session: SessionDep,
    caller: AnyPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    status: Annotated[ListingStatus | None, Query()] = None,
    kind: Annotated[ProviderKind | None, Query()] = None,
):
    providers = service.list_providers(session, caller, district_code=district_code, status=status, kind=kind)
    return [ProviderOut.of(provider) for provider in providers]


@router.get(
    "/assessment-agency-conflicts",
    response_model=list[AgencyConflictOut],
    summary="同一组织既登记为评估经办机构又登记为养老服务机构的情况(一(四);市级管理员、审计)",
)
def assessment_agency_conflicts(session: SessionDep, _caller: CityWideReader):
    return [
        AgencyConflictOut.of(conflict.credit_code, conflict.registrations)
        for conflict in service.assessment_agency_conflicts(session)
    ]


@router.get("/{provider_id}", response_model=ProviderOut, summary="服务机构详情")
def get_provider(provider: VisibleProvider):
    return ProviderOut.of(provider)


@router.get(
    "/{provider_id}/status-history",
    response_model=list[StatusChangeOut],
    summary="名单状态变更记录",
)
def get_status_history(provider: VisibleProvider, session: SessionDep):
    return service.status_history(session, provider)


@router.post(
    "/{provider_id}/status",
    response_model=ProviderOut,
    summary="变更名单状态(纳入、退出、暂停、取消资格)",
    responses=problem_responses(409),
)
def change_status(
    body: ProviderStatusUpdate,
    provider: VisibleProvider,
    session: SessionDep,
    caller: RegistryOfficer,
):
    return ProviderOut.of(
        service.change_status(session, caller, provider, status=body.status, reason=body.reason)
    )


@router.post("/{provider_id}/api-key", response_model=ApiKeyOut, summary="重置服务机构 API 密钥")
def rotate_api_key(provider: VisibleProvider, session: SessionDep, _caller: RegistryOfficer):
    return ApiKeyOut(id=str(provider.id), api_key=service.rotate_api_key(session, provider))
