"""Settlement pages: a district's batches, a batch with its provider lines, review actions and
history, a provider's redemptions in a batch (with 核减 while under civil review), and the
statement downloads. The services enforce every rule (state, role, amounts); the pages hide
what the officer may not do and never decide anything themselves.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from sqlalchemy import case, func, select
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
from app.errors import InvalidRejection, NotFound, ValidationFailed
from app.evidence import service as evidence
from app.ids import parse_id
from app.models.elders import Elder
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem
from app.models.settlements import SettlementBatch, SettlementEvent, SettlementItem, SettlementLine
from app.reports.overview import BatchProgress, batch_progress
from app.routing import TransactionRetryRoute
from app.rules.evidence import EVIDENCE_TITLES
from app.rules.identity import mask_name
from app.rules.months import Month
from app.rules.settlement import TRANSITIONS
from app.settlements import downloads, service, statements

# Review actions (POST) retry the whole request when the database reports a lost race, as the API does.
router = APIRouter(prefix="/settlements", route_class=TransactionRetryRoute)

# What each event of a batch's history is called; the review transitions name themselves.
EVENT_TITLES = {
    "build": "生成结算批次",
    "reject": "民政审核核减",
    "flag_overdue": "逾期提醒",
    **{action: step.action_title for (_status, action), step in TRANSITIONS.items()},
}
# Rejections listed under one event of the history; the rest are counted (the statement lists all).
EVENT_REJECTIONS_SHOWN = 10
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


_YUAN = re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?", re.ASCII)


def parse_yuan(text: str) -> int:
    """An amount typed in yuan ("1,234.50", "1234.5", "80") as integer fen, exactly: no float
    anywhere, at most two decimal places, thousands separators optional."""
    cleaned = re.sub(r"\s", "", text).replace("\uff0c", ",")  # a full-width comma too
    found = _YUAN.fullmatch(cleaned)
    whole = found and found.group("whole").replace(",", "")
    if not found or len(whole) > 13:
        raise ValidationFailed(f"支付金额格式不正确:“{text[:20]}”,请以元为单位填写,最多两位小数,例如 1234.50")
    return int(whole) * 100 + int((found.group("cents") or "").ljust(2, "0"))


# --- the history of a batch ------------------------------------------------------------------


@dataclass
class EventView:
    title: str
    actor: str
    at: datetime
    from_status: str | None
    to_status: str
    notes: list[str] = field(default_factory=list)
    rejections: list[tuple[str, str]] = field(default_factory=list)
    more_rejections: int = 0


def _event_views(
    events: list[SettlementEvent], actors: dict[str, str], provider_names: dict[str, str]
) -> list[EventView]:
    views = []
    for event in events:
        details: dict[str, Any] = event.details or {}
        view = EventView(
            title=EVENT_TITLES.get(event.action, event.action),
            actor=actors.get(event.actor, event.actor),
            at=event.at,
            from_status=event.from_status,
            to_status=event.to_status,
        )
        if event.action == "build":
            view.notes.append(
                f"纳入核销 {int(details.get('redemptions', 0)):,} 笔,抵扣金额 {yuan(details.get('deduction_fen', 0))} 元"
            )
        if event.action == "pay":
            name = provider_names.get(str(details.get("provider_id")), str(details.get("provider_id", "")))
            view.notes.append(
                f"{name}:支付 {yuan(details.get('amount_fen', 0))} 元,凭证号 {details.get('reference', '')}"
            )
        if event.action == "flag_overdue":
            stage = labels.title(labels.STAGE_TITLES, str(details.get("stage", "")))
            view.notes.append(f"{stage}已超过截止日 {details.get('due', '')}")
        if event.action == "reject" and "rejected_fen" in details:
            view.notes.append(f"核减金额 {yuan(details['rejected_fen'])} 元")
        if details.get("note"):
            prefix = "退回意见" if event.action == "return" else "复审意见"
            view.notes.append(f"{prefix}:{details['note']}")
        rejections = details.get("rejections") or []
        if rejections:
            view.notes.insert(0, f"核减 {len(rejections):,} 笔核销")
            view.rejections = [
                (str(r.get("redemption_id", "")), str(r.get("reason", "")))
                for r in rejections[:EVENT_REJECTIONS_SHOWN]
            ]
            view.more_rejections = max(0, len(rejections) - EVENT_REJECTIONS_SHOWN)
        views.append(view)
    return views


# --- GET /settlements ------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    batch: SettlementBatch
    progress: BatchProgress

    @property
    def current_stage(self):
        return next((stage for stage in self.progress.stages if stage.state == "current"), None)


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
    missing = session.scalar(
        select(func.count())
        .select_from(SettlementItem)
        .where(SettlementItem.batch_id == batch.id, SettlementItem.missing_evidence.is_(True))
    )
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
            "missing_evidence": int(missing or 0),
            "events": _event_views(events, actors, names),
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


@dataclass(frozen=True)
class ItemRow:
    redemption_id: uuid.UUID
    served_at: datetime
    elder: str
    item: int
    item_name: str
    amount_fen: int
    ltci_paid_fen: int
    deduction_fen: int
    missing_evidence: bool
    rejected: bool
    rejection_reason: str | None
    # The required kinds it lacks, in Chinese (the ID-card photo of 四(三) among them).
    missing_titles: tuple[str, ...] = ()

    @property
    def payable_fen(self) -> int:
        return 0 if self.rejected else self.deduction_fen


def _item_rows(session: Session, batch: SettlementBatch, provider_id: uuid.UUID, pager: Pager):
    rows = session.execute(
        select(
            SettlementItem.redemption_id,
            Redemption.served_at,
            Elder.name,
            Redemption.item,
            CatalogueItem.name,
            Redemption.amount_fen,
            Redemption.ltci_paid_fen,
            SettlementItem.deduction_fen,
            SettlementItem.missing_evidence,
            SettlementItem.rejected,
            SettlementItem.rejection_reason,
            Redemption.category,
        )
        .select_from(SettlementItem)
        .join(Redemption, Redemption.id == SettlementItem.redemption_id)
        .join(Elder, Elder.id == Redemption.elder_id)
        .join(CatalogueItem, CatalogueItem.item == Redemption.item)
        .where(SettlementItem.batch_id == batch.id, SettlementItem.provider_id == provider_id)
        .order_by(Redemption.served_at, SettlementItem.redemption_id)
        .offset(pager.offset)
        .limit(pager.size)
    ).all()
    present = evidence.present_kinds(session, [row[0] for row in rows if row[8]])
    return [
        ItemRow(
            redemption_id=row[0],
            served_at=row[1],
            elder=mask_name(row[2]),
            item=row[3],
            item_name=row[4],
            amount_fen=int(row[5]),
            ltci_paid_fen=int(row[6]),
            deduction_fen=int(row[7]),
            missing_evidence=bool(row[8]),
            rejected=bool(row[9]),
            rejection_reason=row[10],
            missing_titles=tuple(
                EVIDENCE_TITLES[kind] for kind in evidence.missing_kinds(row[11], present[row[0]])
            )
            if row[8]
            else (),
        )
        for row in rows
    ]


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
    stats = session.execute(
        select(
            func.coalesce(func.sum(case((SettlementItem.rejected, 1), else_=0)), 0),
            func.coalesce(func.sum(case((SettlementItem.missing_evidence, 1), else_=0)), 0),
        ).where(SettlementItem.batch_id == batch.id, SettlementItem.provider_id == line.provider_id)
    ).one()
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
            "rows": _item_rows(session, batch, line.provider_id, pager),
            "rejected_count": int(stats[0]),
            "missing_count": int(stats[1]),
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
