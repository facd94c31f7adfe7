from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import func, select

from app import clock
from app.auth.principal import Role
from app.calendar.service import working_calendar
from app.deps import SessionDep, StaffPrincipal, require_roles
from app.models.providers import Provider
from app.models.settlements import SettlementBatch, SettlementItem, SettlementLine
from app.routing import TransactionRetryRoute
from app.rules.calendar import working_days_between
from app.rules.months import Month
from app.rules.settlement import current_deadline, is_overdue
from app.schemas import DistrictCode, MonthText, problem_responses
from app.settlements import service
from app.settlements.schemas import BatchOut, CivilReview, FinanceReview, Payment, SettlementCreate

router = APIRouter(
    prefix="/settlements",
    route_class=TransactionRetryRoute,
    tags=["settlement"],
    responses=problem_responses(401, 403, 404, 422),
)

CivilOfficer = Annotated[object, Depends(require_roles(Role.DISTRICT_CIVIL, Role.CITY_ADMIN))]
FinanceOfficer = Annotated[object, Depends(require_roles(Role.DISTRICT_FINANCE, Role.CITY_ADMIN))]


def batch_out(session, batch: SettlementBatch) -> dict:
    calendar = working_calendar(session)
    due = service.batch_deadlines(session, batch)
    today = clock.today()
    deadline = current_deadline(batch.status, due)
    names = dict(
        session.execute(
            select(Provider.id, Provider.name).where(
                Provider.id.in_(select(SettlementLine.provider_id).where(SettlementLine.batch_id == batch.id))
            )
        ).all()
    )
    missing = session.scalar(
        select(func.count())
        .select_from(SettlementItem)
        .where(SettlementItem.batch_id == batch.id, SettlementItem.missing_evidence.is_(True))
    )
    return {
        "id": str(batch.id),
        "district_code": batch.district_code,
        "month": str(Month.of(batch.month)),
        "status": batch.status,
        "deadlines": {
            "civil_review": due.civil_review,
            "finance_review": due.finance_review,
            "payment": due.payment,
        },
        "overdue": is_overdue(batch.status, due, today),
        "working_days_left": working_days_between(today, deadline, calendar) if deadline else None,
        "totals": {
            "redemptions": batch.redemptions,
            "elders": batch.elders,
            "providers": batch.providers,
            "amount_fen": batch.amount_fen,
            "deduction_fen": batch.deduction_fen,
            "rejected_fen": batch.rejected_fen,
            "payable_fen": batch.payable_fen,
            "clawback_fen": batch.clawback_fen,
            "payment_due_fen": batch.payable_fen - batch.clawback_fen,
        },
        "funding": {
            "central_fen": batch.central_fen,
            "city_fen": batch.city_fen,
            "district_fen": batch.district_fen,
        },
        "missing_evidence": int(missing or 0),
        "lines": [
            {
                "provider_id": str(line.provider_id),
                "provider_name": names.get(line.provider_id, ""),
                "redemptions": line.redemptions,
                "deduction_fen": line.deduction_fen,
                "rejected_fen": line.rejected_fen,
                "payable_fen": line.payable_fen,
                "clawback_fen": line.clawback_fen,
                "payment_due_fen": line.payable_fen - line.clawback_fen,
                "paid": line.paid,
                "paid_on": line.paid_on,
                "payment_reference": line.payment_reference,
            }
            for line in service.lines_of(session, batch)
        ],
        "events": [
            {
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "actor": e.actor,
                "at": e.at,
                "details": e.details,
            }
            for e in service.events_of(session, batch)
        ],
        "created_at": batch.created_at,
    }


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
    return batch_out(session, batch)


@router.get("", response_model=list[BatchOut], summary="结算批次列表")
def list_settlements(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    month: Annotated[MonthText | None, Query()] = None,
):
    batches = service.list_batches(
        session, caller, district_code=district_code, month=Month.parse(month) if month else None
    )
    return [batch_out(session, b) for b in batches]


@router.get("/{settlement_id}", response_model=BatchOut, summary="结算批次详情")
def get_settlement(batch: VisibleBatch, session: SessionDep):
    return batch_out(session, batch)


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
    return batch_out(session, batch)


@router.post(
    "/{settlement_id}/finance-review",
    response_model=BatchOut,
    summary="财政复审(通过或退回)",
    responses=problem_responses(409),
)
def finance_review(body: FinanceReview, batch: VisibleBatch, session: SessionDep, caller: FinanceOfficer):
    service.finance_review(session, caller, batch, approve=body.approve, note=body.note)
    return batch_out(session, batch)


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
    return batch_out(session, batch)
