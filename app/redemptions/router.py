from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status
from fastapi.responses import JSONResponse

from app.deps import AnyPrincipal, ProviderTerminal, SessionDep
from app.errors import PROBLEM_JSON, IdempotencyKeyRequired
from app.redemptions import service
from app.redemptions.models import Redemption
from app.redemptions.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    PosLookup,
    PosLookupOut,
    RedemptionCreate,
    RedemptionOut,
    RedemptionPage,
    ReversalOut,
)
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import MAX_OFFSET, DistrictCode, MonthText, problem_responses

router = APIRouter(
    tags=["point of service"],
    route_class=TransactionRetryRoute,
    responses=problem_responses(401, 403, 404, 422),
)
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


@router.post(
    "/pos/lookup",
    response_model=PosLookupOut,
    summary="POS 按身份证号码查询老年人及当前有效消费券",
)
def pos_lookup(body: PosLookup, session: SessionDep, caller: ProviderTerminal):
    return service.pos_lookup(session, caller, body.id_number)


@router.post(
    "/redemptions",
    status_code=status.HTTP_201_CREATED,
    response_model=RedemptionOut,
    summary="核销电子消费券(须带 Idempotency-Key)",
    responses=problem_responses(400, 409),
)
def create_redemption(
    body: RedemptionCreate,
    session: SessionDep,
    caller: ProviderTerminal,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
):
    if idempotency_key is None or not _KEY.match(idempotency_key):
        raise IdempotencyKeyRequired("Idempotency-Key 须为1至64个可见 ASCII 字符")
    outcome = service.redeem(session, caller, key=idempotency_key, body=body)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    media_type = "application/json" if outcome.status < 400 else PROBLEM_JSON
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers, media_type=media_type)


def visible_redemption(redemption_id: str, session: SessionDep, caller: AnyPrincipal) -> Redemption:
    return service.get_visible_redemption(session, caller, redemption_id)


VisibleRedemption = Annotated[Redemption, Depends(visible_redemption)]


@router.post(
    "/redemptions/{redemption_id}/reverse",
    response_model=ReversalOut,
    summary="撤销当月核销(仅限原服务机构)",
    responses=problem_responses(409),
)
def reverse_redemption(redemption: VisibleRedemption, session: SessionDep, caller: ProviderTerminal):
    return service.reverse(session, caller, redemption)


@router.get("/redemptions", response_model=RedemptionPage, summary="核销记录")
def list_redemptions(
    session: SessionDep,
    caller: AnyPrincipal,
    month: Annotated[MonthText | None, Query()] = None,
    provider_id: Annotated[str | None, Query(max_length=64)] = None,
    elder_id: Annotated[str | None, Query(max_length=64)] = None,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    rows, total = service.list_redemptions(
        session,
        caller,
        month=Month.parse(month) if month else None,
        provider_id=provider_id,
        elder_id=elder_id,
        district_code=district_code,
        limit=limit,
        offset=offset,
    )
    return {
        "items": [service.redemption_out(r) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/redemptions/{redemption_id}", response_model=RedemptionOut, summary="核销详情")
def get_redemption(redemption: VisibleRedemption):
    return service.redemption_out(redemption)
