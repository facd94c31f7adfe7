from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.deps import AnyPrincipal, PosTerminal, SessionDep
from app.errors import PROBLEM_JSON
from app.ids import parse_id
from app.models.redemptions import Redemption
from app.pgpool import pool_of
from app.redemptions import pos, reversal, service
from app.redemptions.errors import IdempotencyKeyRequired
from app.redemptions.lookups import get_visible_redemption
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
async def pos_lookup(body: PosLookup, request: Request, caller: PosTerminal):
    pool = pool_of(request)
    if pool is not None:
        return await pos.lookup_on_postgres(
            pool,
            caller,
            body.id_number,
            token_hash=request.state.token_hash,
            snapshot=await service.reference_snapshot(),
        )
    return await run_in_threadpool(service.pos_lookup_in_session, caller, body.id_number)


@router.post(
    "/redemptions",
    status_code=status.HTTP_201_CREATED,
    response_model=RedemptionOut,
    summary="核销电子消费券(须带 Idempotency-Key)",
    responses=problem_responses(400, 409),
)
async def create_redemption(
    request: Request,
    body: RedemptionCreate,
    caller: PosTerminal,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
):
    if idempotency_key is None or not _KEY.match(idempotency_key):
        raise IdempotencyKeyRequired("Idempotency-Key 须为1至64个可见 ASCII 字符")
    pool = pool_of(request)
    if pool is not None:
        outcome = await service.redeem_on_postgres(
            pool, caller, key=idempotency_key, body=body, token_hash=request.state.token_hash
        )
    else:
        outcome = await run_in_threadpool(service.redeem_in_session, caller, key=idempotency_key, body=body)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    media_type = "application/json" if outcome.status < 400 else PROBLEM_JSON
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers, media_type=media_type)


def visible_redemption(redemption_id: str, session: SessionDep, caller: AnyPrincipal) -> Redemption:
    return get_visible_redemption(session, caller, redemption_id)


VisibleRedemption = Annotated[Redemption, Depends(visible_redemption)]


@router.post(
    "/redemptions/{redemption_id}/reverse",
    response_model=ReversalOut,
    summary="撤销当月核销(仅限原服务机构)",
    responses=problem_responses(409),
)
async def reverse_redemption(redemption_id: str, request: Request, caller: PosTerminal):
    pool = pool_of(request)
    if pool is not None:
        return await reversal.reverse_on_postgres(
            pool, caller, parse_id(redemption_id), token_hash=request.state.token_hash
        )
    return await run_in_threadpool(reversal.reverse_in_session, caller, redemption_id)


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
