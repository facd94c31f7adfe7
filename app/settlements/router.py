"""District settlement batches over HTTP: build, list, read, the review stages and payments.
Every answer is the batch as app.settlements.summaries.batch_summary reads it back (``BatchOut``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from app.auth.principal import Role
from app.deps import SessionDep, StaffPrincipal, require_roles
from app.models.settlements import SettlementBatch
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import DistrictCode, MonthText, problem_responses
from app.settlements import service
from app.settlements.schemas import BatchOut, CivilReview, FinanceReview, Payment, SettlementCreate
from app.settlements.summaries import batch_summaries, batch_summary

router = APIRouter(
    prefix="/settlements",
    route_class=TransactionRetryRoute,
    tags=["settlement"],
    responses=problem_responses(401, 403, 404, 422),
)

CivilOfficer = Annotated[object, Depends(require_roles(Role.DISTRICT_CIVIL, Role.CITY_ADMIN))]
FinanceOfficer = Annotated[object, Depends(require_roles(Role.DISTRICT_FINANCE, Role.CITY_ADMIN))]


def visible_batch(
    settlement_id: str, request: Request, session: SessionDep, caller: StaffPrincipal
) -> SettlementBatch:
    # A review action locks the batch row (two officers acting at once queue up); reads don't.
    writing = request.method not in ("GET", "HEAD")
    return service.get_visible_batch(session, caller, settlement_id, for_update=writing)


VisibleBatch = Annotated[SettlementBatch, Depends(visible_batch)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    summary="生成某区某月结算批次",
    responses=problem_responses(409),
)
def create_settlement(body: SettlementCreate, session: SessionDep, caller: CivilOfficer):
    batch = service.build_batch(
        session, caller, district_code=body.district_code, month=Month.parse(body.month)
    )
    return batch_summary(session, batch)


@router.get("", response_model=list[BatchOut], summary="结算批次列表")
def list_settlements(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    month: Annotated[MonthText | None, Query()] = None,
):
    return batch_summaries(
        session, caller, district_code=district_code, month=Month.parse(month) if month else None
    )


@router.get("/{settlement_id}", response_model=BatchOut, summary="结算批次详情")
def get_settlement(batch: VisibleBatch, session: SessionDep):
    return batch_summary(session, batch)


@router.post(
    "/{settlement_id}/civil-review",
    response_model=BatchOut,
    summary="民政审核(可核减),提交财政复审",
    responses=problem_responses(409),
)
def civil_review(body: CivilReview, batch: VisibleBatch, session: SessionDep, caller: CivilOfficer):
    service.submit_civil_review(
        session, caller, batch, [(r.redemption_id, r.reason) for r in body.rejections]
    )
    return batch_summary(session, batch)


@router.post(
    "/{settlement_id}/finance-review",
    response_model=BatchOut,
    summary="财政复审(通过或退回)",
    responses=problem_responses(409),
)
def finance_review(body: FinanceReview, batch: VisibleBatch, session: SessionDep, caller: FinanceOfficer):
    service.finance_review(session, caller, batch, approve=body.approve, note=body.note)
    return batch_summary(session, batch)


@router.post(
    "/{settlement_id}/payments",
    response_model=BatchOut,
    summary="登记向服务机构的支付",
    responses=problem_responses(409),
)
def record_payment(body: Payment, batch: VisibleBatch, session: SessionDep, caller: CivilOfficer):
    service.record_payment(
        session,
        caller,
        batch,
        provider_id=body.provider_id,
        amount_fen=body.amount_fen,
        reference=body.reference,
    )
    return batch_summary(session, batch)
