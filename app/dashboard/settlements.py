"""Settlement pages: a district's batches, a batch with its provider lines, review actions and
history, a provider's redemptions in a batch (with 核减 while under civil review), and the
statement downloads. The services enforce every rule (state, role, amounts); the pages hide
what the officer may not do and never decide anything themselves.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Role
from app.auth.sessions import SignedIn
from app.dashboard import labels
from app.dashboard.common import (
    CIVIL_ROLES,
    FINANCE_ROLES,
    Pager,
    actor_names,
    may_act,
    page_size,
    require_role,
    required_text,
)
from app.dashboard.settlements_views import BatchRow, event_views, item_rows, parse_yuan
from app.dashboard.web import (
    FormUser,
    ScopedDistrict,
    User,
    district_name,
    parse_month,
    redirect,
    render,
    require_confirmation,
    scoped_district,
    yuan,
)
from app.deps import SessionDep
from app.errors import NotFound, ValidationFailed
from app.ids import parse_id
from app.models.providers import Provider
from app.models.settlements import SettlementBatch, SettlementLine
from app.reports.overview import batch_progress
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.settlements import downloads, service, statements
from app.settlements.errors import InvalidRejection

# Review actions (POST) retry the whole request when the database reports a lost race, as the API does.
router = APIRouter(prefix="/settlements", route_class=TransactionRetryRoute)

MAX_REJECTIONS_PER_FORM = 1000
# The highest page of the drill-down a URL may ask for (a page past the end shows the last one).
DRILL_DOWN_PAGE_MAX = 10_000_000
BatchId = Annotated[str, Path(max_length=64)]
ProviderId = Annotated[str, Path(max_length=64)]
Confirm = Annotated[str | None, Form(max_length=8)]


# --- small helpers ---------------------------------------------------------------------------


def _require(user: SignedIn, roles: frozenset[Role], action: str) -> None:
    """Refuse ``action`` unless the officer has one of ``roles``, naming who may."""
    who = "、".join(labels.title(labels.ROLE_TITLES, role.value) for role in sorted(roles))
    require_role(user, roles, f"{action}须由{who}办理")


def _batch(session: Session, user: SignedIn, batch_id: str, *, for_update: bool = False) -> SettlementBatch:
    """The batch if the officer may see it (another district's is "not found"); POST handlers
    lock its row, as the API does, so that two officers acting at once queue up."""
    return service.get_visible_batch(session, user.principal, batch_id, for_update=for_update)


def _line(session: Session, batch: SettlementBatch, provider_id: str) -> tuple[SettlementLine, Provider]:
    parsed = parse_id(provider_id)
    found = None
    if parsed is not None:
        found = session.execute(
            select(SettlementLine, Provider)
            .join(Provider, Provider.id == SettlementLine.provider_id)
            .where(SettlementLine.batch_id == batch.id, SettlementLine.provider_id == parsed)
        ).one_or_none()
    if found is None:
        raise NotFound("本结算批次中没有该服务机构")
    return found[0], found[1]


# --- GET /settlements ------------------------------------------------------------------------


@router.get("", name="settlements")
def batches_page(request: Request, session: SessionDep, user: User, district: ScopedDistrict):
    batches = service.list_batches(session, user.principal, district_code=district, month=None)
    return render(
        request,
        "settlements/list.html",
        {
            "district": district,
            "district_name": district_name(session, district),
            "rows": [BatchRow(batch, batch_progress(session, batch)) for batch in batches],
            "may_build": may_act(user, CIVIL_ROLES),
            "default_month": clock.current_month().previous(),
        },
        session=session,
    )


@router.post("")
def build(
    request: Request,
    session: SessionDep,
    user: FormUser,
    month: Annotated[str, Form(max_length=7)] = "",
    district: Annotated[str | None, Form(max_length=6)] = None,
    confirm: Confirm = None,
):
    _require(user, CIVIL_ROLES, "生成结算批次")
    district_code = scoped_district(session, user, district or None)
    if not month.strip():
        raise ValidationFailed("请选择结算月份")
    shown = parse_month(month.strip())
    require_confirmation(confirm)
    batch = service.build_batch(session, user.principal, district_code=district_code, month=shown)
    return redirect(
        request,
        f"/settlements/{batch.id}",
        flash=f"已生成{district_name(session, district_code)} {shown} 结算批次:"
        f"核销 {batch.redemptions:,} 笔,应付 {yuan(batch.payable_fen)} 元",
    )


# --- GET /settlements/{id} -------------------------------------------------------------------


@router.get("/{batch_id}", name="settlement")
def batch_page(
    request: Request,
    session: SessionDep,
    user: User,
    batch_id: BatchId,
    district: Annotated[str | None, Query(max_length=6)] = None,
):
    batch = _batch(session, user, batch_id)
    if district and district != batch.district_code:
        # The district picker of a city-wide officer: that district's batches.
        return redirect(request, "/settlements", district=scoped_district(session, user, district))
    lines = statements.batch_lines(session, batch.id)
    names = {str(line.provider_id): line.provider_name for line in lines}
    events = service.events_of(session, batch)
    actors = actor_names(
        session, {event.actor for event in events} | {batch.created_by}, titles=labels.SETTLEMENT_ACTOR_TITLES
    )
    return render(
        request,
        "settlements/detail.html",
        {
            "district": batch.district_code,
            "district_name": district_name(session, batch.district_code),
            "batch": batch,
            "batch_month": Month.of(batch.month),
            "progress": batch_progress(session, batch),
            "lines": lines,
            "unpaid": [line for line in lines if not line.paid],
            "missing_evidence": statements.item_counts(session, batch.id).missing_evidence,
            "events": event_views(events, actors, names),
            "created_by": actors.get(batch.created_by, batch.created_by),
            "may_civil": may_act(user, CIVIL_ROLES),
            "may_finance": may_act(user, FINANCE_ROLES),
        },
        session=session,
    )


@router.post("/{batch_id}/civil-review")
def submit_civil_review(
    request: Request, session: SessionDep, user: FormUser, batch_id: BatchId, confirm: Confirm = None
):
    batch = _batch(session, user, batch_id, for_update=True)
    _require(user, CIVIL_ROLES, "提交财政复审")
    require_confirmation(confirm)
    service.submit_civil_review(session, user.principal, batch, [])
    return redirect(
        request,
        f"/settlements/{batch.id}",
        flash=f"已提交区财政局复审,应付 {yuan(batch.payable_fen)} 元,复审截止 {batch.finance_review_due}",
    )


@router.post("/{batch_id}/finance-review")
def finance_review(
    request: Request,
    session: SessionDep,
    user: FormUser,
    batch_id: BatchId,
    decision: Annotated[Literal["approve", "return"], Form()],
    note: Annotated[str, Form(max_length=1000)] = "",
    confirm: Confirm = None,
):
    batch = _batch(session, user, batch_id, for_update=True)
    _require(user, FINANCE_ROLES, "财政复审")
    require_confirmation(confirm)
    text = note.strip() or None
    if decision == "return" and text is None:
        raise ValidationFailed("退回民政重审时须填写退回意见")
    service.finance_review(session, user.principal, batch, approve=decision == "approve", note=text)
    if decision == "return":
        message = "已退回区民政局重新审核"
    elif batch.status == "settled":
        message = "财政复审已通过;本批次无应付款项,已结算"
    else:
        message = f"财政复审已通过,请于 {batch.payment_due} 前完成支付"
    return redirect(request, f"/settlements/{batch.id}", flash=message)


@router.post("/{batch_id}/payments")
def record_payment(
    request: Request,
    session: SessionDep,
    user: FormUser,
    batch_id: BatchId,
    provider_id: Annotated[str, Form(max_length=64)],
    amount: Annotated[str, Form(max_length=32)] = "",
    reference: Annotated[str, Form(max_length=64)] = "",
    confirm: Confirm = None,
):
    batch = _batch(session, user, batch_id, for_update=True)
    _require(user, CIVIL_ROLES, "登记支付")
    require_confirmation(confirm)
    amount_fen = parse_yuan(amount)
    reference = required_text(reference, "银行支付凭证号")
    _, provider = _line(session, batch, provider_id)
    service.record_payment(
        session,
        user.principal,
        batch,
        provider_id=provider_id,
        amount_fen=amount_fen,
        reference=reference,
    )
    message = f"已登记向{provider.name}支付 {yuan(amount_fen)} 元"
    if batch.status == "settled":
        message += ";全部服务机构已支付,本批次结算完成"
    return redirect(request, f"/settlements/{batch.id}", flash=message)


# --- GET /settlements/{id}/providers/{provider_id} -------------------------------------------


@router.get("/{batch_id}/providers/{provider_id}", name="settlement_provider")
def provider_page(
    request: Request,
    session: SessionDep,
    user: User,
    batch_id: BatchId,
    provider_id: ProviderId,
    page: Annotated[int, Query(ge=1, le=DRILL_DOWN_PAGE_MAX)] = 1,
):
    batch = _batch(session, user, batch_id)
    line, provider = _line(session, batch, provider_id)
    pager = Pager(page, page_size(), line.redemptions).within_pages()
    counts = statements.item_counts(session, batch.id, line.provider_id)
    return render(
        request,
        "settlements/provider.html",
        {
            "district": batch.district_code,
            "district_name": district_name(session, batch.district_code),
            "batch": batch,
            "batch_month": Month.of(batch.month),
            "line": line,
            "provider": provider,
            "rows": item_rows(session, batch, line.provider_id, pager),
            "rejected_count": counts.rejected,
            "missing_count": counts.missing_evidence,
            "pager": pager,
            "may_reject": batch.status == "civil_review" and may_act(user, CIVIL_ROLES),
        },
        session=session,
    )


@router.post("/{batch_id}/rejections")
def reject(
    request: Request,
    session: SessionDep,
    user: FormUser,
    batch_id: BatchId,
    provider_id: Annotated[str, Form(max_length=64)],
    redemption_id: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form(max_length=500)] = "",
    page: Annotated[int, Form(ge=1, le=DRILL_DOWN_PAGE_MAX)] = 1,
    confirm: Confirm = None,
):
    batch = _batch(session, user, batch_id, for_update=True)
    _require(user, CIVIL_ROLES, "核减")
    require_confirmation(confirm)
    chosen = redemption_id or []
    if not chosen:
        raise ValidationFailed("请勾选要核减的核销记录")
    if len(chosen) > MAX_REJECTIONS_PER_FORM:
        raise ValidationFailed(f"一次最多核减 {MAX_REJECTIONS_PER_FORM} 笔")
    text = required_text(reason, "核减原因")
    reasons: dict[uuid.UUID, str] = {}
    for value in chosen:
        parsed = parse_id(value)
        if parsed is None:
            raise InvalidRejection(f"核减记录 {value[:64]} 无效")
        reasons[parsed] = text
    rejected_fen = service.reject_during_civil_review(session, user.principal, batch, reasons)
    message = (
        f"已核减 {len(reasons)} 笔,核减金额 {yuan(rejected_fen)} 元,本批次应付 {yuan(batch.payable_fen)} 元"
        if rejected_fen
        else "所选核销记录此前均已核减,未作变更"
    )
    return redirect(
        request,
        f"/settlements/{batch.id}/providers/{provider_id}",
        flash=message,
        page=page if page > 1 else None,
    )


# --- downloads -------------------------------------------------------------------------------


@router.get("/{batch_id}/statement.csv", name="settlement_csv")
def batch_csv(session: SessionDep, user: User, batch_id: BatchId):
    return downloads.batch_csv_response(_batch(session, user, batch_id))


@router.get("/{batch_id}/statement.xlsx", name="settlement_xlsx")
def batch_xlsx(session: SessionDep, user: User, batch_id: BatchId):
    return downloads.batch_xlsx_response(session, _batch(session, user, batch_id))


def _provider_statement(session: Session, user: SignedIn, batch_id: str, provider_id: str):
    """The provider's statement of the batch's month (its lines in every batch of that month the
    officer may see: one district for district officers, every district for city-wide roles)."""
    batch = _batch(session, user, batch_id)
    line, _provider = _line(session, batch, provider_id)
    return statements.provider_statement(
        session, user.principal, str(line.provider_id), Month.of(batch.month)
    )


@router.get("/{batch_id}/providers/{provider_id}/statement.csv", name="provider_statement_csv")
def provider_csv(session: SessionDep, user: User, batch_id: BatchId, provider_id: ProviderId):
    statement = _provider_statement(session, user, batch_id, provider_id)
    return downloads.provider_statement_response(session, statement, "csv")


@router.get("/{batch_id}/providers/{provider_id}/statement.xlsx", name="provider_statement_xlsx")
def provider_xlsx(session: SessionDep, user: User, batch_id: BatchId, provider_id: ProviderId):
    statement = _provider_statement(session, user, batch_id, provider_id)
    return downloads.provider_statement_response(session, statement, "xlsx")
