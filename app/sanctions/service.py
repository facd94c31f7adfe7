"""Rectification orders (限期整改, 四(三)): opened by a district or automatically after enough
serious audit findings, closed once as rectified or escalated (整改不力: the provider suspended
or disqualified).

Each write reads its facts under the locks, asks one pure decision of ``app.rules.sanctions``
and writes what it decided. Suspension and disqualification are listing statuses changed only
through ``app.providers.service.change_status``, so the listing history stays in one place. The
blacklist is in ``blacklist.py``, the monthly view of every sanction in ``overview.py``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import Select, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.calendar.service import working_calendar
from app.config import get_settings
from app.db import lock_for_transaction
from app.errors import NotFound, error_for
from app.ids import parse_id
from app.models.audits import AuditFinding
from app.models.providers import Provider
from app.models.sanctions import RectificationOrder, RectificationOrderFinding
from app.providers import service as providers
from app.rules.listing import ListingStatus
from app.rules.months import Month
from app.rules.refusals import Refusal
from app.rules.sanctions import (
    SERIOUS_OUTCOMES,
    AttachToOpenOrder,
    EscalationAction,
    OrderTerms,
    RectificationStatus,
    TriggerFacts,
    closing_refusal,
    counts_towards_trigger,
    decide_after_finding,
    decide_escalation,
    decide_manual_order,
    trigger_window,
)
from app.sanctions.errors import RectificationAlreadyOpen
from app.sanctions.lookups import provider_rows, scoped
from app.sanctions.schemas import RectificationOut, RectificationSource

AUTOMATIC_ACTOR = "system:rectification_trigger"


# --- facts -----------------------------------------------------------------------------------
def _lock_rectification(session: Session, provider_id: uuid.UUID) -> None:
    """Opening an order (by a district or by a finding) runs one at a time per provider."""
    lock_for_transaction(session, f"rectification:{provider_id}")


def _open_order(session: Session, provider_id: uuid.UUID) -> RectificationOrder | None:
    return session.scalar(
        select(RectificationOrder).where(
            RectificationOrder.provider_id == provider_id,
            RectificationOrder.status == RectificationStatus.OPEN.value,
        )
    )


def _unanswered_findings(provider_id: uuid.UUID) -> Select:
    """Serious findings on the provider that no order has answered yet."""
    return select(AuditFinding.id).where(
        AuditFinding.provider_id == provider_id,
        AuditFinding.outcome.in_(sorted(SERIOUS_OUTCOMES)),
        ~exists().where(RectificationOrderFinding.finding_id == AuditFinding.id),
    )


def _unanswered_in_window(session: Session, provider_id: uuid.UUID, window: tuple[Month, Month]) -> int:
    first, last = window
    in_window = _unanswered_findings(provider_id).where(
        AuditFinding.month >= first.first_day, AuditFinding.month <= last.first_day
    )
    return session.scalar(select(func.count()).select_from(in_window.subquery())) or 0


# --- writes ----------------------------------------------------------------------------------
def _attach_findings(session: Session, order: RectificationOrder, finding_ids: list[uuid.UUID]) -> None:
    session.add_all(RectificationOrderFinding(finding_id=fid, order_id=order.id) for fid in finding_ids)
    session.flush()


def _create_order(
    session: Session,
    provider: Provider,
    terms: OrderTerms,
    *,
    reason: str,
    actor: str,
    source: RectificationSource,
    trigger_finding_id: uuid.UUID | None = None,
) -> RectificationOrder:
    """Insert the order; every serious finding on the provider not answered yet is answered by
    it."""
    order = RectificationOrder(
        id=uuid.uuid4(),
        provider_id=provider.id,
        district_code=provider.district_code,
        status=RectificationStatus.OPEN.value,
        source=source.value,
        reason=reason,
        working_days=terms.working_days,
        opened_on=terms.opened_on,
        due_on=terms.due_on,
        opened_at=clock.now(),
        opened_by=actor,
        trigger_finding_id=trigger_finding_id,
    )
    try:
        # At most one open order per provider (a partial unique index) closes any race the
        # advisory lock does not.
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        raise RectificationAlreadyOpen("该服务机构已有未结束的整改通知") from None
    _attach_findings(session, order, list(session.scalars(_unanswered_findings(provider.id))))
    return order


def _close(order: RectificationOrder, caller: Principal, status: RectificationStatus, note: str) -> None:
    order.status = status.value
    order.closed_at = clock.now()
    order.closed_by = caller.actor
    order.close_note = note


# --- opening ---------------------------------------------------------------------------------
def open_rectification(
    session: Session, caller: Principal, provider: Provider, *, reason: str, working_days: int | None
) -> RectificationOrder:
    """A district orders the provider (row-locked by the caller) to rectify within the working
    days given, else the setting's."""
    _lock_rectification(session, provider.id)
    terms = decide_manual_order(
        provider_status=ListingStatus(provider.status),
        has_open_order=_open_order(session, provider.id) is not None,
        requested_days=working_days,
        default_days=get_settings().supervision.rectification_working_days,
        today=clock.today(),
        calendar=working_calendar(session),
    )
    if isinstance(terms, Refusal):
        raise error_for(terms)
    return _create_order(
        session, provider, terms, reason=reason, actor=caller.actor, source=RectificationSource.MANUAL
    )


def on_finding_recorded(session: Session, finding: AuditFinding) -> RectificationOrder | None:
    """Called by the audits module after each finding is recorded (and flushed): the automatic
    trigger of ``decide_after_finding``. Returns the order it opened, if any."""
    if finding.provider_id is None or not counts_towards_trigger(finding.outcome):
        return None
    _lock_rectification(session, finding.provider_id)
    provider = session.get(Provider, finding.provider_id)  # a foreign key: it exists
    settings = get_settings().supervision
    window = trigger_window(Month.of(finding.month), settings.rectification_window_months)
    current = _open_order(session, provider.id)
    facts = TriggerFacts(
        provider_disqualified=provider.status == ListingStatus.DISQUALIFIED.value,
        has_open_order=current is not None,
        window=window,
        unanswered_in_window=_unanswered_in_window(session, provider.id, window),
    )
    decision = decide_after_finding(
        facts,
        threshold=settings.rectification_trigger_findings,
        working_days=settings.rectification_working_days,
        today=clock.today(),
        calendar=working_calendar(session),
    )
    if decision is None:
        return None
    if isinstance(decision, AttachToOpenOrder):
        _attach_findings(session, current, [finding.id])
        return None
    return _create_order(
        session,
        provider,
        decision.terms,
        reason=decision.reason,
        actor=AUTOMATIC_ACTOR,
        source=RectificationSource.AUTOMATIC,
        trigger_finding_id=finding.id,
    )


# --- closing ---------------------------------------------------------------------------------
def get_visible_order(
    session: Session, caller: Principal, order_id: str, *, for_update: bool = False
) -> RectificationOrder:
    """Staff who see the provider's district, or the provider itself; anything else is 404."""
    parsed = parse_id(order_id)
    order = session.get(RectificationOrder, parsed, with_for_update=for_update) if parsed else None
    if order is None:
        raise NotFound("未找到该整改通知")
    if caller.provider_id is not None:
        if order.provider_id != caller.provider_id:
            raise NotFound("未找到该整改通知")
    elif not caller.sees_district(order.district_code):
        raise NotFound("未找到该整改通知")
    return order


def close_rectification(
    session: Session, caller: Principal, order: RectificationOrder, *, note: str
) -> RectificationOrder:
    """The provider rectified: the order closes (late or not, as recorded by its dates)."""
    target = RectificationStatus.RECTIFIED
    if refusal := closing_refusal(RectificationStatus(order.status), order.closed_at, target):
        raise error_for(refusal)
    _close(order, caller, target, note)
    session.flush()
    return order


def escalate_rectification(
    session: Session,
    caller: Principal,
    order: RectificationOrder,
    *,
    reason: str,
    action: EscalationAction,
) -> RectificationOrder:
    """整改不力: close the order as escalated and suspend (or disqualify) the provider through the
    listing history. A provider already out of the list by then (suspended, withdrawn,
    disqualified) keeps its status when the action cannot apply to it."""
    provider = session.get(Provider, order.provider_id, with_for_update=True)
    escalation = decide_escalation(
        order_status=RectificationStatus(order.status),
        closed_at=order.closed_at,
        provider_status=ListingStatus(provider.status),
        action=action,
        reason=reason,
    )
    if isinstance(escalation, Refusal):
        raise error_for(escalation)
    if escalation.provider_status is not None:
        providers.change_status(
            session, caller, provider, status=escalation.provider_status, reason=escalation.listing_reason
        )
    _close(order, caller, RectificationStatus.ESCALATED, reason)
    order.escalation_action = action.value
    session.flush()
    return order


# --- reading ---------------------------------------------------------------------------------
def list_rectifications(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None = None,
    provider_id: uuid.UUID | None = None,
    status: RectificationStatus | None = None,
    overdue: bool | None = None,
    month: Month | None = None,
) -> list[RectificationOrder]:
    order = RectificationOrder
    query = select(order).order_by(order.opened_at.desc(), order.id)
    query = scoped(session, caller, query, order.district_code, order.provider_id, district_code)
    if provider_id is not None:
        query = query.where(order.provider_id == provider_id)
    if status is not None:
        query = query.where(order.status == status.value)
    if overdue is not None:
        late = (order.status == RectificationStatus.OPEN.value) & (order.due_on < clock.today())
        query = query.where(late if overdue else ~late)
    if month is not None:
        query = query.where(order.opened_at >= month.starts_at(), order.opened_at < month.ends_at())
    return list(session.scalars(query))


def rectification_responses(session: Session, orders: list[RectificationOrder]) -> list[RectificationOut]:
    """The orders as the API shows them: the provider's name and status now, the findings each
    answers, overdue as of today."""
    today = clock.today()
    rows = provider_rows(session, {o.provider_id for o in orders})
    findings: dict[uuid.UUID, list[str]] = defaultdict(list)
    if orders:
        for order_id, finding_id in session.execute(
            select(RectificationOrderFinding.order_id, RectificationOrderFinding.finding_id)
            .where(RectificationOrderFinding.order_id.in_([o.id for o in orders]))
            .order_by(RectificationOrderFinding.finding_id)
        ):
            findings[order_id].append(str(finding_id))
    return [
        RectificationOut.of(
            o,
            provider_name=rows[o.provider_id].name,
            provider_status=rows[o.provider_id].status,
            finding_ids=findings[o.id],
            today=today,
        )
        for o in orders
    ]


def rectifications_of_providers(
    session: Session, provider_ids: set[uuid.UUID], statuses: tuple[RectificationStatus, ...]
) -> list[RectificationOrder]:
    """These providers' rectification orders in these statuses, newest first (one query; the
    dashboard's providers page)."""
    if not provider_ids:
        return []
    order = RectificationOrder
    return list(
        session.scalars(
            select(order)
            .where(order.provider_id.in_(provider_ids), order.status.in_([s.value for s in statuses]))
            .order_by(order.opened_at.desc(), order.id)
        )
    )
