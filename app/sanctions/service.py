"""Provider sanctions (四(三)): the blacklist (失信联合惩戒), rectification orders (限期整改) with
their automatic trigger, and the monthly view of every sanction.

Suspension and disqualification are listing statuses changed only through
``app.providers.service.change_status``, so the listing history stays in one place; this module
calls it when a blacklisting disqualifies or an escalation suspends. The rules (which findings
count, due days, overdue) are pure functions in ``app.rules.sanctions``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.calendar.service import working_calendar
from app.config import get_settings
from app.db import lock_for_transaction
from app.errors import NotFound
from app.ids import parse_id
from app.models.audits import AuditFinding
from app.models.providers import Provider, ProviderStatusChange
from app.models.sanctions import BlacklistEntry, RectificationOrder, RectificationOrderFinding
from app.providers import service as providers
from app.providers.blacklist import active_entry, lock_credit_code
from app.reference.service import ensure_district
from app.rules.identity import normalise_credit_code
from app.rules.listing import ListingStatus, may_change
from app.rules.months import BEIJING, Month
from app.rules.sanctions import (
    SERIOUS_OUTCOMES,
    EscalationAction,
    RectificationStatus,
    counts_towards_trigger,
    is_overdue,
    may_close,
    rectification_due,
    should_open_rectification,
    trigger_window,
)
from app.sanctions.errors import (
    AlreadyBlacklisted,
    BlacklistAlreadyLifted,
    ProviderDisqualified,
    RectificationAlreadyOpen,
    RectificationClosed,
)

AUTOMATIC_ACTOR = "system:rectification_trigger"
KINDS = ("suspension", "disqualification", "blacklist", "rectification")
SANCTION_STATUSES = {
    ListingStatus.SUSPENDED.value: "suspension",
    ListingStatus.DISQUALIFIED.value: "disqualification",
}


# --- blacklist -------------------------------------------------------------------------------
def blacklist(
    session: Session, caller: Principal, provider: Provider, *, reason: str, legal_basis: str
) -> BlacklistEntry:
    """Put the provider's organisation on the blacklist and disqualify every registration of it
    (in every district) that is not disqualified yet, each through the listing history."""
    credit_code = provider.credit_code
    lock_credit_code(session, credit_code)
    if active_entry(session, credit_code) is not None:
        raise AlreadyBlacklisted(f"统一社会信用代码 {credit_code} 已在失信联合惩戒对象名单中")
    registrations = list(
        session.scalars(
            select(Provider)
            .where(Provider.credit_code == credit_code)
            .order_by(Provider.district_code, Provider.id)
            .with_for_update()
        )
    )
    for registration in registrations:
        if registration.status == ListingStatus.DISQUALIFIED.value:
            continue
        where = "" if registration.id == provider.id else f"(由行政区 {provider.district_code} 认定)"
        providers.change_status(
            session,
            caller,
            registration,
            status=ListingStatus.DISQUALIFIED,
            reason=f"纳入失信联合惩戒对象{where}:{reason}",
        )
    entry = BlacklistEntry(
        id=uuid.uuid4(),
        credit_code=credit_code,
        provider_id=provider.id,
        district_code=provider.district_code,
        reason=reason,
        legal_basis=legal_basis,
        listed_at=clock.now(),
        listed_by=caller.actor,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        raise AlreadyBlacklisted(f"统一社会信用代码 {credit_code} 已在失信联合惩戒对象名单中") from None
    return entry


def lift_blacklist(
    session: Session, caller: Principal, entry: BlacklistEntry, *, reason: str
) -> BlacklistEntry:
    """Lift an entry (信用修复, city admins only): the entry stays, with who lifted it, when and
    why. No registration is re-listed: disqualification is final; the organisation may register
    again."""
    if entry.lifted_at is not None:
        raise BlacklistAlreadyLifted(f"该记录已于 {entry.lifted_at.astimezone(BEIJING).date()} 解除")
    entry.lifted_at = clock.now()
    entry.lifted_by = caller.actor
    entry.lift_reason = reason
    session.flush()
    return entry


def get_visible_blacklist_entry(
    session: Session, caller: Principal, entry_id: str, *, for_update: bool = False
) -> BlacklistEntry:
    """All staff read the whole blacklist (it binds every district); a provider only the entries
    on its own credit code. Anything else is 404."""
    parsed = parse_id(entry_id)
    entry = session.get(BlacklistEntry, parsed, with_for_update=for_update) if parsed else None
    if entry is None or (
        caller.provider_id is not None and entry.credit_code != _own_credit_code(session, caller)
    ):
        raise NotFound("未找到该失信联合惩戒记录")
    return entry


def _own_credit_code(session: Session, caller: Principal) -> str | None:
    return session.scalar(select(Provider.credit_code).where(Provider.id == caller.provider_id))


def list_blacklist(
    session: Session,
    caller: Principal,
    *,
    credit_code: str | None,
    district_code: str | None,
    active: bool | None,
) -> list[BlacklistEntry]:
    query = select(BlacklistEntry).order_by(BlacklistEntry.listed_at.desc(), BlacklistEntry.id)
    if caller.provider_id is not None:
        query = query.where(BlacklistEntry.credit_code == _own_credit_code(session, caller))
    if credit_code is not None:
        # Not a valid code: nothing is stored under it (and no stray byte reaches the database).
        code = normalise_credit_code(credit_code)
        query = query.where(BlacklistEntry.credit_code == code if code else false())
    if district_code is not None:
        query = query.where(BlacklistEntry.district_code == district_code)
    if active is not None:
        query = query.where(
            BlacklistEntry.lifted_at.is_(None) if active else BlacklistEntry.lifted_at.is_not(None)
        )
    return list(session.scalars(query))


def blacklist_out(session: Session, entries: list[BlacklistEntry]) -> list[dict]:
    names = _provider_rows(session, {entry.provider_id for entry in entries})
    return [
        {
            "id": str(entry.id),
            "credit_code": entry.credit_code,
            "provider_id": str(entry.provider_id),
            "provider_name": names[entry.provider_id].name,
            "district_code": entry.district_code,
            "reason": entry.reason,
            "legal_basis": entry.legal_basis,
            "active": entry.lifted_at is None,
            "listed_at": entry.listed_at,
            "listed_by": entry.listed_by,
            "lifted_at": entry.lifted_at,
            "lifted_by": entry.lifted_by,
            "lift_reason": entry.lift_reason,
        }
        for entry in entries
    ]


# --- rectification orders --------------------------------------------------------------------
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


def _unanswered_findings(provider_id: uuid.UUID):
    """Serious findings on the provider that no order has answered yet."""
    return select(AuditFinding.id).where(
        AuditFinding.provider_id == provider_id,
        AuditFinding.outcome.in_(sorted(SERIOUS_OUTCOMES)),
        ~exists().where(RectificationOrderFinding.finding_id == AuditFinding.id),
    )


def _attach_findings(session: Session, order: RectificationOrder, finding_ids: list[uuid.UUID]) -> None:
    session.add_all(RectificationOrderFinding(finding_id=fid, order_id=order.id) for fid in finding_ids)
    session.flush()


def _create_order(
    session: Session,
    provider: Provider,
    *,
    reason: str,
    working_days: int,
    actor: str,
    source: str,
    trigger_finding_id: uuid.UUID | None = None,
) -> RectificationOrder:
    today = clock.today()
    order = RectificationOrder(
        id=uuid.uuid4(),
        provider_id=provider.id,
        district_code=provider.district_code,
        status=RectificationStatus.OPEN.value,
        source=source,
        reason=reason,
        working_days=working_days,
        opened_on=today,
        due_on=rectification_due(today, working_days, working_calendar(session)),
        opened_at=clock.now(),
        opened_by=actor,
        trigger_finding_id=trigger_finding_id,
    )
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        raise RectificationAlreadyOpen("该服务机构已有未结束的整改通知") from None
    # Every serious finding not yet answered is answered by this order.
    _attach_findings(session, order, list(session.scalars(_unanswered_findings(provider.id))))
    return order


def open_rectification(
    session: Session, caller: Principal, provider: Provider, *, reason: str, working_days: int | None
) -> RectificationOrder:
    if provider.status == ListingStatus.DISQUALIFIED.value:
        raise ProviderDisqualified("服务机构已被取消资格,无需整改")
    _lock_rectification(session, provider.id)
    if _open_order(session, provider.id) is not None:
        raise RectificationAlreadyOpen("该服务机构已有未结束的整改通知,请先结束后再发出新的通知")
    days = working_days or get_settings().supervision.rectification_working_days
    return _create_order(
        session, provider, reason=reason, working_days=days, actor=caller.actor, source="manual"
    )


def on_finding_recorded(session: Session, finding: AuditFinding) -> RectificationOrder | None:
    """Called by the audits module after each finding is recorded (and flushed).

    A serious finding (poor quality, low satisfaction, fake service) on a provider that has an
    open order is attached to that order. Otherwise, when the provider's serious findings not yet
    answered by an order, in the window of service months ending with the finding's month, reach
    the threshold, an order opens automatically (returned). Disqualified providers get none."""
    if finding.provider_id is None or not counts_towards_trigger(finding.outcome):
        return None
    _lock_rectification(session, finding.provider_id)
    provider = session.get(Provider, finding.provider_id)
    if provider is None or provider.status == ListingStatus.DISQUALIFIED.value:
        return None
    current = _open_order(session, provider.id)
    if current is not None:
        _attach_findings(session, current, [finding.id])
        return None
    settings = get_settings().supervision
    first, last = trigger_window(Month.of(finding.month), settings.rectification_window_months)
    serious = (
        session.scalar(
            select(func.count()).select_from(
                _unanswered_findings(provider.id)
                .where(AuditFinding.month >= first.first_day, AuditFinding.month <= last.first_day)
                .subquery()
            )
        )
        or 0
    )
    if not should_open_rectification(
        serious_findings=serious, threshold=settings.rectification_trigger_findings, has_open_order=False
    ):
        return None
    span = str(first) if first == last else f"{first} 至 {last}"
    return _create_order(
        session,
        provider,
        reason=(
            f"{span} 服务抽查发现问题 {serious} 条(服务质量差、老年人满意度低或虚假服务),"
            f"达到 {settings.rectification_trigger_findings} 条,自动责令限期整改"
        ),
        working_days=settings.rectification_working_days,
        actor=AUTOMATIC_ACTOR,
        source="automatic",
        trigger_finding_id=finding.id,
    )


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


def _ensure_open(order: RectificationOrder, target: RectificationStatus) -> None:
    if not may_close(RectificationStatus(order.status), target):
        raise RectificationClosed(
            f"该整改通知已于 {order.closed_at.astimezone(BEIJING).date()} 结束({order.status})"
        )


def close_rectification(
    session: Session, caller: Principal, order: RectificationOrder, *, note: str
) -> RectificationOrder:
    """The provider rectified: the order closes (late or not, as recorded by its dates)."""
    _ensure_open(order, RectificationStatus.RECTIFIED)
    order.status = RectificationStatus.RECTIFIED.value
    order.closed_at = clock.now()
    order.closed_by = caller.actor
    order.close_note = note
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
    _ensure_open(order, RectificationStatus.ESCALATED)
    provider = session.get(Provider, order.provider_id, with_for_update=True)
    target = ListingStatus.SUSPENDED if action is EscalationAction.SUSPEND else ListingStatus.DISQUALIFIED
    if may_change(ListingStatus(provider.status), target):
        providers.change_status(session, caller, provider, status=target, reason=f"整改不力:{reason}")
    order.status = RectificationStatus.ESCALATED.value
    order.escalation_action = action.value
    order.closed_at = clock.now()
    order.closed_by = caller.actor
    order.close_note = reason
    session.flush()
    return order


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
    query = _scoped(session, caller, query, order.district_code, order.provider_id, district_code)
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


def rectification_out(session: Session, orders: list[RectificationOrder]) -> list[dict]:
    today = clock.today()
    rows = _provider_rows(session, {o.provider_id for o in orders})
    findings: dict[uuid.UUID, list[str]] = defaultdict(list)
    if orders:
        for order_id, finding_id in session.execute(
            select(RectificationOrderFinding.order_id, RectificationOrderFinding.finding_id)
            .where(RectificationOrderFinding.order_id.in_([o.id for o in orders]))
            .order_by(RectificationOrderFinding.finding_id)
        ):
            findings[order_id].append(str(finding_id))
    return [
        {
            "id": str(o.id),
            "provider_id": str(o.provider_id),
            "provider_name": rows[o.provider_id].name,
            "provider_status": rows[o.provider_id].status,
            "district_code": o.district_code,
            "status": o.status,
            "source": o.source,
            "reason": o.reason,
            "working_days": o.working_days,
            "opened_on": o.opened_on,
            "due_on": o.due_on,
            "overdue": is_overdue(RectificationStatus(o.status), o.due_on, today),
            "opened_at": o.opened_at,
            "opened_by": o.opened_by,
            "trigger_finding_id": str(o.trigger_finding_id) if o.trigger_finding_id else None,
            "finding_ids": findings[o.id],
            "closed_at": o.closed_at,
            "closed_by": o.closed_by,
            "close_note": o.close_note,
            "escalation_action": o.escalation_action,
        }
        for o in orders
    ]


# --- the monthly view ------------------------------------------------------------------------
@dataclass(frozen=True)
class _ProviderRow:
    name: str
    status: str
    credit_code: str


def _provider_rows(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, _ProviderRow]:
    if not ids:
        return {}
    return {
        row.id: _ProviderRow(row.name, row.status, row.credit_code)
        for row in session.execute(
            select(Provider.id, Provider.name, Provider.status, Provider.credit_code).where(
                Provider.id.in_(ids)
            )
        )
    }


def _scoped(
    session: Session, caller: Principal, query, district_column, provider_column, requested: str | None
):
    """A provider sees only its own rows; staff their district (city-wide roles: all, or the one
    asked for; another district asked for by district staff is 403)."""
    if requested is not None:
        ensure_district(session, requested)
    if caller.provider_id is not None:
        query = query.where(provider_column == caller.provider_id)
        return query.where(district_column == requested) if requested is not None else query
    district = district_filter(caller, requested)
    return query.where(district_column == district) if district is not None else query


def list_sanctions(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    month: Month,
    kind: str | None,
) -> dict:
    """Every sanction imposed in the month (Beijing time): suspensions and disqualifications
    from the listing history, blacklistings and rectification orders, each with its state now."""
    start, end = month.starts_at(), month.ends_at()
    items: list[dict] = []
    if kind in (None, "suspension", "disqualification"):
        change = ProviderStatusChange
        statuses = [s for s, k in SANCTION_STATUSES.items() if kind in (None, k)]
        query = select(change).where(
            change.to_status.in_(statuses), change.changed_at >= start, change.changed_at < end
        )
        query = _scoped(session, caller, query, change.district_code, change.provider_id, district_code)
        changes = list(session.scalars(query))
        rows = _provider_rows(session, {c.provider_id for c in changes})
        for c in changes:
            items.append(
                _item(
                    SANCTION_STATUSES[c.to_status],
                    str(c.id),
                    c.provider_id,
                    rows[c.provider_id],
                    c.district_code,
                    c.changed_at,
                    c.changed_by,
                    c.reason,
                )
            )
    if kind in (None, "blacklist"):
        query = select(BlacklistEntry).where(
            BlacklistEntry.listed_at >= start, BlacklistEntry.listed_at < end
        )
        query = _scoped(
            session, caller, query, BlacklistEntry.district_code, BlacklistEntry.provider_id, district_code
        )
        entries = list(session.scalars(query))
        rows = _provider_rows(session, {e.provider_id for e in entries})
        for entry, out in zip(entries, blacklist_out(session, entries), strict=True):
            items.append(
                _item(
                    "blacklist",
                    out["id"],
                    entry.provider_id,
                    rows[entry.provider_id],
                    entry.district_code,
                    entry.listed_at,
                    entry.listed_by,
                    entry.reason,
                    blacklist=out,
                )
            )
    if kind in (None, "rectification"):
        orders = list_rectifications(session, caller, district_code=district_code, month=month)
        rows = _provider_rows(session, {o.provider_id for o in orders})
        for order, out in zip(orders, rectification_out(session, orders), strict=True):
            items.append(
                _item(
                    "rectification",
                    out["id"],
                    order.provider_id,
                    rows[order.provider_id],
                    order.district_code,
                    order.opened_at,
                    order.opened_by,
                    order.reason,
                    rectification=out,
                )
            )
    # Same instant (a blacklisting disqualifies, then lists): the disqualification first.
    items.sort(key=lambda item: (item["at"], KINDS.index(item["kind"]), item["id"]))
    counts = dict.fromkeys(KINDS, 0)
    for item in items:
        counts[item["kind"]] += 1
    shown = district_code if caller.provider_id is not None else district_code or caller.visible_districts()
    return {
        "district_code": shown,
        "month": str(month),
        "counts": counts,
        "overdue_rectifications": sum(
            1 for item in items if item["rectification"] is not None and item["rectification"]["overdue"]
        ),
        "items": items,
    }


def _item(
    kind: str,
    item_id: str,
    provider_id: uuid.UUID,
    provider: _ProviderRow,
    district_code: str,
    at: datetime,
    by: str,
    reason: str,
    *,
    blacklist: dict | None = None,
    rectification: dict | None = None,
) -> dict:
    return {
        "kind": kind,
        "id": item_id,
        "provider_id": str(provider_id),
        "provider_name": provider.name,
        "credit_code": provider.credit_code,
        "district_code": district_code,
        "at": at,
        "by": by,
        "reason": reason,
        "blacklist": blacklist,
        "rectification": rectification,
    }


# --- read-only helpers for the dashboard --------------------------------------------------------
def active_blacklist_entries(session: Session, credit_codes: set[str]) -> dict[str, BlacklistEntry]:
    """The active blacklist entry of each of these organisations that has one (one query)."""
    if not credit_codes:
        return {}
    return {
        entry.credit_code: entry
        for entry in session.scalars(
            select(BlacklistEntry).where(
                BlacklistEntry.credit_code.in_(sorted(credit_codes)), BlacklistEntry.lifted_at.is_(None)
            )
        )
    }


def rectifications_of_providers(
    session: Session, provider_ids: set[uuid.UUID], statuses: tuple[RectificationStatus, ...]
) -> list[RectificationOrder]:
    """These providers' rectification orders in these statuses, newest first (one query)."""
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
