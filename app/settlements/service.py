"""District settlement: build a batch from a month's redemptions (set-based SQL), review it in
three stages on the working-day calendar, pay each provider through the journal."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, case, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal, Role
from app.auth.scope import district_filter, ensure_district_in_scope
from app.calendar.service import working_calendar
from app.db import lock_for_transaction
from app.errors import (
    AlreadyPaid,
    AmountMismatch,
    Forbidden,
    InvalidRejection,
    InvalidState,
    MonthNotEnded,
    NotFound,
    SettlementExists,
)
from app.ids import parse_id
from app.ledger import service as ledger
from app.models.audits import AuditFindingRedemption
from app.models.redemptions import Redemption
from app.models.settlements import SettlementBatch, SettlementEvent, SettlementItem, SettlementLine
from app.reference.service import ensure_district, policy_for_month
from app.rules.ledger import Line
from app.rules.months import Month
from app.rules.settlement import Deadlines, current_deadline, deadlines, is_overdue, split_funding, transition


def batch_deadlines(session: Session, batch: SettlementBatch) -> Deadlines:
    return deadlines(
        Month.of(batch.month),
        working_calendar(session),
        civil_submitted_on=batch.civil_submitted_on,
        finance_approved_on=batch.finance_approved_on,
    )


def _record(
    session: Session,
    batch: SettlementBatch,
    *,
    action: str,
    from_status: str | None,
    actor: str,
    details: dict | None = None,
) -> None:
    now = clock.now()
    session.add(
        SettlementEvent(
            batch_id=batch.id,
            action=action,
            from_status=from_status,
            to_status=batch.status,
            actor=actor,
            at=now,
            on_day=now.astimezone(clock.BEIJING).date(),
            details=details or {},
        )
    )


def _apply(
    session: Session, caller: Principal, batch: SettlementBatch, action: str, *, details: dict | None = None
) -> None:
    """Take one transition of the table in app.rules.settlement, with its audit row."""
    step = transition(batch.status, action)
    if step is None:
        raise InvalidState(f"批次状态为 {batch.status},不能执行 {action}")
    if step.role is not None and caller.role.value not in (step.role, "city_admin"):
        raise Forbidden(f"{step.action_title} 须由 {step.role} 执行")
    previous = batch.status
    batch.status = step.next_status
    _record(session, batch, action=action, from_status=previous, actor=caller.actor, details=details)


def get_visible_batch(
    session: Session, caller: Principal, batch_id: str, *, for_update: bool = False
) -> SettlementBatch:
    parsed = parse_id(batch_id)
    batch = None
    if parsed is not None:
        query = select(SettlementBatch).where(SettlementBatch.id == parsed)
        batch = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if batch is None or caller.provider_id is not None or not caller.sees_district(batch.district_code):
        raise NotFound("未找到该结算批次")
    return batch


# The reason recorded on a redemption an audit excluded from settlement.
FAKE_SERVICE_REASON = "抽查认定虚假服务"


def build_batch(session: Session, caller: Principal, *, district_code: str, month: Month) -> SettlementBatch:
    """Hold every posted redemption of ``month`` whose voucher belongs to an elder of the
    district, one line per provider. Three INSERT … SELECT statements, whatever the volume."""
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    now = clock.now()
    if now < month.ends_at():
        raise MonthNotEnded(f"{month} 尚未结束,不能结算")
    # Shared with audit findings (app.audits.service.settlement_lock): a fake-service finding
    # either sees this batch or is seen by it.
    lock_for_transaction(session, f"settlement:{district_code}:{month}")
    calendar = working_calendar(session)
    due = deadlines(month, calendar, civil_submitted_on=None, finance_approved_on=None)
    batch = SettlementBatch(
        id=uuid.uuid4(),
        district_code=district_code,
        month=month.first_day,
        status="civil_review",
        civil_review_due=due.civil_review,
        redemptions=0,
        elders=0,
        providers=0,
        amount_fen=0,
        deduction_fen=0,
        rejected_fen=0,
        payable_fen=0,
        central_fen=0,
        city_fen=0,
        district_fen=0,
        created_at=now,
        created_by=caller.actor,
    )
    try:
        # The unique (district_code, month) closes the race of two officers building at once.
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:
        raise SettlementExists(f"{district_code} {month} 的结算批次已存在") from None

    # No "not already held" test: a redemption belongs to one district and month, and a
    # district-month has one batch (unique), so the items' primary key is never contended — and
    # an anti-join against a freshly analysed, empty items table can make PostgreSQL rescan it
    # once per row.
    held = and_(
        Redemption.district_code == district_code,
        Redemption.month == month.first_day,
        Redemption.status == "posted",
    )
    session.execute(
        insert(SettlementItem).from_select(
            ["redemption_id", "batch_id", "provider_id", "deduction_fen", "rejected", "missing_evidence"],
            select(
                Redemption.id,
                literal(batch.id),
                Redemption.provider_id,
                Redemption.deduction_fen,
                literal(False),
                ~Redemption.evidence_complete,
            ).where(held),
        )
    )
    session.execute(
        insert(SettlementLine).from_select(
            [
                "batch_id",
                "provider_id",
                "redemptions",
                "deduction_fen",
                "rejected_fen",
                "payable_fen",
                "paid",
            ],
            select(
                SettlementItem.batch_id,
                SettlementItem.provider_id,
                func.count(),
                func.sum(SettlementItem.deduction_fen),
                literal(0),
                func.sum(SettlementItem.deduction_fen),
                literal(False),
            )
            .where(SettlementItem.batch_id == batch.id)
            .group_by(SettlementItem.batch_id, SettlementItem.provider_id),
        )
    )
    # Totals straight from the redemptions (same filter), not by joining the items back.
    totals = session.execute(
        select(
            func.count(),
            func.count(func.distinct(Redemption.elder_id)),
            func.count(func.distinct(Redemption.provider_id)),
            func.coalesce(func.sum(Redemption.amount_fen), 0),
            func.coalesce(func.sum(Redemption.deduction_fen), 0),
        ).where(held)
    ).one()
    batch.redemptions, batch.elders, batch.providers = int(totals[0]), int(totals[1]), int(totals[2])
    batch.amount_fen, batch.deduction_fen = int(totals[3]), int(totals[4])
    _refresh_money(session, batch)
    session.flush()
    apply_audit_exclusions(session, batch, actor=caller.actor)
    net_clawbacks(session, district_code)
    _record(
        session,
        batch,
        action="build",
        from_status=None,
        actor=caller.actor,
        details={"redemptions": batch.redemptions, "deduction_fen": batch.deduction_fen},
    )
    session.flush()
    return batch


def _refresh_money(session: Session, batch: SettlementBatch) -> None:
    """Payable and its funding split from the batch's deduction and rejections."""
    batch.payable_fen = batch.deduction_fen - batch.rejected_fen
    terms = policy_for_month(session, Month.of(batch.month))
    funding = split_funding(
        batch.payable_fen,
        central_share=terms.central_share,
        city_share=terms.city_share,
        district_share=terms.district_share,
    )
    batch.central_fen, batch.city_fen, batch.district_fen = (
        funding.central_fen,
        funding.city_fen,
        funding.district_fen,
    )


def submit_civil_review(
    session: Session, caller: Principal, batch: SettlementBatch, rejections: Iterable[tuple[str, str]]
) -> SettlementBatch:
    """Record the civil reviewer's rejections (not paid, kept against the provider with the
    reason, journaled back to the program) and pass the batch to finance."""
    if transition(batch.status, "submit_civil_review") is None:
        raise InvalidState(f"批次状态为 {batch.status},不能提交民政审核")
    wanted: dict[uuid.UUID, str] = {}
    for redemption_id, reason in rejections:
        parsed = parse_id(redemption_id)
        if parsed is None or parsed in wanted:
            raise InvalidRejection(f"核减记录 {redemption_id} 无效或重复")
        wanted[parsed] = reason
    if wanted:
        reject_in_batch(session, batch, wanted, actor=caller.actor, unknown_is_error=True)
    batch.civil_submitted_on = clock.today()
    batch.finance_review_due = batch_deadlines(session, batch).finance_review
    _apply(
        session,
        caller,
        batch,
        "submit_civil_review",
        details={"rejections": [{"redemption_id": str(k), "reason": v} for k, v in wanted.items()]},
    )
    session.flush()
    return batch


def reject_during_civil_review(
    session: Session, caller: Principal, batch: SettlementBatch, reasons: dict[uuid.UUID, str]
) -> int:
    """核减 while the batch is under civil review, before it is submitted (the dashboard's
    drill-down): the same effect as rejections sent with the submission, recorded as a
    ``reject`` event of their own. Returns the fen newly rejected (0: nothing new, no event)."""
    if batch.status != "civil_review":
        raise InvalidState(f"批次状态为 {batch.status},只能在民政审核阶段核减")
    if caller.role not in (Role.DISTRICT_CIVIL, Role.CITY_ADMIN):
        raise Forbidden("核减须由区民政局执行")
    if not reasons:
        return 0
    rejected = reject_in_batch(session, batch, reasons, actor=caller.actor, unknown_is_error=True)
    if rejected:
        _record(
            session,
            batch,
            action="reject",
            from_status=batch.status,
            actor=caller.actor,
            details={
                "rejections": [{"redemption_id": str(k), "reason": v} for k, v in reasons.items()],
                "rejected_fen": rejected,
            },
        )
    session.flush()
    return rejected


def reject_in_batch(
    session: Session,
    batch: SettlementBatch,
    reasons: dict[uuid.UUID, str],
    *,
    actor: str,
    unknown_is_error: bool,
) -> int:
    """Reject these redemptions of the batch with their reasons: items marked, provider lines
    and batch totals reduced, one ``reject`` journal entry, clawbacks re-netted. A redemption
    rejected before stays rejected with its first reason. Returns the fen newly rejected."""
    rows = []
    wanted_ids = list(reasons)
    for start in range(0, len(wanted_ids), 1000):  # bounded IN lists, whatever the request size
        rows += session.execute(
            select(
                SettlementItem.redemption_id,
                SettlementItem.provider_id,
                SettlementItem.deduction_fen,
                SettlementItem.rejected,
            ).where(
                SettlementItem.batch_id == batch.id,
                SettlementItem.redemption_id.in_(wanted_ids[start : start + 1000]),
            )
        ).all()
    found = {row.redemption_id: row for row in rows}
    unknown = [str(r) for r in reasons if r not in found]
    if unknown and unknown_is_error:
        raise InvalidRejection(f"以下核销记录不在本批次中: {', '.join(unknown[:5])}")
    newly = {rid: reason for rid, reason in reasons.items() if rid in found and not found[rid].rejected}
    if not newly:
        return 0
    rejected_now: dict[uuid.UUID, int] = {}
    for redemption_id in newly:
        row = found[redemption_id]
        rejected_now[row.provider_id] = rejected_now.get(row.provider_id, 0) + row.deduction_fen
    _mark_rejected(session, batch, newly)
    # The netted clawbacks are recomputed below (net_clawbacks); clear them first so that no
    # line's clawback exceeds its lowered payable in between (CHECK clawback_in_range).
    session.execute(update(SettlementLine).where(SettlementLine.batch_id == batch.id).values(clawback_fen=0))
    batch.clawback_fen = 0
    for provider_id, amount in rejected_now.items():
        session.execute(
            update(SettlementLine)
            .where(SettlementLine.batch_id == batch.id, SettlementLine.provider_id == provider_id)
            .values(
                rejected_fen=SettlementLine.rejected_fen + amount,
                payable_fen=SettlementLine.payable_fen - amount,
            )
        )
    total = sum(rejected_now.values())
    ledger.post_entry(
        session,
        kind="reject",
        district_code=batch.district_code,
        month=batch.month,
        lines=[
            Line("provider_payable", -amount, provider_id=pid) for pid, amount in sorted(rejected_now.items())
        ]
        + [Line("program_rejected", total)],
        created_by=actor,
    )
    batch.rejected_fen += total
    _refresh_money(session, batch)
    session.flush()
    net_clawbacks(session, batch.district_code)
    return total


def net_clawbacks(session: Session, district_code: str) -> None:
    """Net each provider's outstanding clawbacks (fake service found after its money was
    approved) from its lines in the district's batches still under civil review, oldest month
    first, never more than a line's payable. Outstanding = clawbacks booked less what batches
    past civil review have already netted; recomputed whole, so it can be called any time."""
    booked = dict(
        session.execute(
            select(AuditFindingRedemption.provider_id, func.sum(AuditFindingRedemption.deduction_fen))
            .where(
                AuditFindingRedemption.district_code == district_code,
                AuditFindingRedemption.effect == "clawback",
            )
            .group_by(AuditFindingRedemption.provider_id)
        ).all()
    )
    open_batches = list(
        session.scalars(
            select(SettlementBatch)
            .where(SettlementBatch.district_code == district_code, SettlementBatch.status == "civil_review")
            .order_by(SettlementBatch.month)
        )
    )
    if not open_batches:
        return
    netted_elsewhere = dict(
        session.execute(
            select(SettlementLine.provider_id, func.sum(SettlementLine.clawback_fen))
            .join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
            .where(SettlementBatch.district_code == district_code, SettlementBatch.status != "civil_review")
            .group_by(SettlementLine.provider_id)
        ).all()
    )
    outstanding = {pid: int(fen) - int(netted_elsewhere.get(pid) or 0) for pid, fen in booked.items()}
    for open_batch in open_batches:
        batch_total = 0
        for line in lines_of(session, open_batch):
            netted = max(0, min(outstanding.get(line.provider_id, 0), line.payable_fen))
            line.clawback_fen = netted
            if netted:
                outstanding[line.provider_id] -= netted
            batch_total += netted
        open_batch.clawback_fen = batch_total
    session.flush()


def apply_audit_exclusions(session: Session, batch: SettlementBatch, *, actor: str) -> int:
    """Reject the batch's redemptions that an audit found to be fake service before they were
    settled (effect ``excluded``). The findings are few: one small join, not a per-row probe."""
    excluded = dict(
        session.execute(
            select(SettlementItem.redemption_id, AuditFindingRedemption.finding_id)
            .join(
                AuditFindingRedemption, AuditFindingRedemption.redemption_id == SettlementItem.redemption_id
            )
            .where(
                SettlementItem.batch_id == batch.id,
                AuditFindingRedemption.effect == "excluded",
                SettlementItem.rejected.is_(False),
            )
        ).all()
    )
    if not excluded:
        return 0
    reasons = {rid: f"{FAKE_SERVICE_REASON}(抽查结论 {finding_id})" for rid, finding_id in excluded.items()}
    return reject_in_batch(session, batch, reasons, actor=actor, unknown_is_error=False)


def _mark_rejected(session: Session, batch: SettlementBatch, reasons: dict[uuid.UUID, str]) -> None:
    """One UPDATE per thousand rejections, each row given its own reason by a CASE (a VALUES
    list joined in an UPDATE … FROM is not portable to SQLite)."""
    ids = list(reasons)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        session.execute(
            update(SettlementItem)
            .where(SettlementItem.batch_id == batch.id, SettlementItem.redemption_id.in_(chunk))
            .values(
                rejected=True,
                rejection_reason=case(
                    {rid: reasons[rid] for rid in chunk}, value=SettlementItem.redemption_id
                ),
            )
        )


def finance_review(
    session: Session, caller: Principal, batch: SettlementBatch, *, approve: bool, note: str | None
) -> SettlementBatch:
    if approve:
        batch.finance_approved_on = clock.today()
        batch.payment_due = batch_deadlines(session, batch).payment
        _apply(session, caller, batch, "approve", details={"note": note})
        if not lines_of(session, batch):
            # Nothing to pay (no redemptions that month): settled as soon as finance approves.
            batch.settled_on = batch.finance_approved_on
            _apply(session, caller, batch, "settle")
    else:
        _apply(session, caller, batch, "return", details={"note": note})
        batch.civil_submitted_on = None
        batch.finance_review_due = None
    session.flush()
    return batch


def record_payment(
    session: Session,
    caller: Principal,
    batch: SettlementBatch,
    *,
    provider_id: str,
    amount_fen: int,
    reference: str,
) -> SettlementBatch:
    """Pay one provider line: the amount must equal its payable less the clawbacks netted from
    it; the journal moves it out of the provider's payable. The batch is settled when every line is paid."""
    if transition(batch.status, "pay") is None:
        raise InvalidState(f"批次状态为 {batch.status},不能登记支付")
    parsed = parse_id(provider_id)
    line = None
    if parsed is not None:
        line = session.scalars(
            select(SettlementLine)
            .where(SettlementLine.batch_id == batch.id, SettlementLine.provider_id == parsed)
            .with_for_update()
        ).one_or_none()
    if line is None:
        raise NotFound("本批次中没有该服务机构")
    if line.paid:
        raise AlreadyPaid()
    due_fen = line.payable_fen - line.clawback_fen
    if amount_fen != due_fen:
        detail = f"应付 {due_fen} 分"
        if line.clawback_fen:
            detail += f"(应付 {line.payable_fen} 分,抵扣追回款 {line.clawback_fen} 分)"
        raise AmountMismatch(f"{detail},登记 {amount_fen} 分")
    today = clock.today()
    line.paid, line.paid_on, line.payment_reference = True, today, reference
    if amount_fen:
        ledger.post_entry(
            session,
            kind="pay",
            district_code=batch.district_code,
            month=batch.month,
            lines=[
                Line("provider_payable", -amount_fen, provider_id=line.provider_id),
                Line("program_paid", amount_fen),
            ],
            created_by=caller.actor,
        )
    _apply(
        session,
        caller,
        batch,
        "pay",
        details={"provider_id": str(line.provider_id), "amount_fen": amount_fen, "reference": reference},
    )
    session.flush()
    unpaid = session.scalar(
        select(func.count())
        .select_from(SettlementLine)
        .where(SettlementLine.batch_id == batch.id, SettlementLine.paid.is_(False))
    )
    if not unpaid:
        batch.settled_on = today
        _apply(session, caller, batch, "settle")
    session.flush()
    return batch


def lines_of(session: Session, batch: SettlementBatch) -> list[SettlementLine]:
    return list(
        session.scalars(
            select(SettlementLine)
            .where(SettlementLine.batch_id == batch.id)
            .order_by(SettlementLine.provider_id)
        )
    )


def events_of(session: Session, batch: SettlementBatch) -> list[SettlementEvent]:
    return list(
        session.scalars(
            select(SettlementEvent).where(SettlementEvent.batch_id == batch.id).order_by(SettlementEvent.id)
        )
    )


def list_batches(
    session: Session, caller: Principal, *, district_code: str | None, month: Month | None
) -> list[SettlementBatch]:
    district_code = district_filter(caller, district_code)
    query = select(SettlementBatch).order_by(SettlementBatch.month.desc(), SettlementBatch.district_code)
    if district_code is not None:
        query = query.where(SettlementBatch.district_code == district_code)
    if month is not None:
        query = query.where(SettlementBatch.month == month.first_day)
    return list(session.scalars(query))


def in_settlement(session: Session, redemption_id: uuid.UUID) -> bool:
    return session.get(SettlementItem, redemption_id) is not None


def flag_overdue(session: Session, today: date) -> int:
    """The daily job: flag every batch whose current stage is past its deadline, once per
    stage (a batch late in civil review and late again in payment is flagged twice), each
    flag an audit row."""
    calendar = working_calendar(session)
    flagged = 0
    for batch in session.scalars(
        select(SettlementBatch).where(SettlementBatch.status != "settled").with_for_update()
    ):
        due = deadlines(
            Month.of(batch.month),
            calendar,
            civil_submitted_on=batch.civil_submitted_on,
            finance_approved_on=batch.finance_approved_on,
        )
        if not is_overdue(batch.status, due, today) or batch.overdue_stage == batch.status:
            continue
        batch.overdue_flagged_at = clock.now()
        batch.overdue_stage = batch.status
        _record(
            session,
            batch,
            action="flag_overdue",
            from_status=batch.status,
            actor="system:flag_overdue",
            details={"stage": batch.status, "due": str(current_deadline(batch.status, due))},
        )
        flagged += 1
    session.flush()
    return flagged
