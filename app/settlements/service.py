"""District settlement: build a batch from a month's redemptions, review it in three stages on
the working-day calendar, pay each provider through the journal.

Every change reads its facts (app/settlements/store.py), asks one decision of
app/rules/settlement.py, raises its refusal or applies its outcome in one write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.calendar.service import working_calendar
from app.db import lock_for_transaction
from app.errors import NotFound, error_for
from app.ids import parse_id
from app.models.settlements import SettlementBatch, SettlementEvent, SettlementLine
from app.reference.service import ensure_district
from app.rules.months import Month
from app.rules.refusals import Refusal
from app.rules.settlement import (
    Deadlines,
    Event,
    Outcome,
    decide_build,
    decide_civil_submission,
    decide_finance_review,
    decide_payment,
    decide_review_rejection,
    overdue_flag,
)
from app.rules.settlement_adjustments import (
    OpenLine,
    Rejection,
    clawbacks_netted,
    exclusion_reasons,
    rejection_of,
)
from app.settlements import store
from app.settlements.errors import SettlementExists

Decided = TypeVar("Decided")


def _decided(decision: Refusal | Decided) -> Decided:
    """A decision's outcome, or its refusal raised as the error of the same code."""
    if isinstance(decision, Refusal):
        raise error_for(decision)
    return decision


# --- reads -----------------------------------------------------------------------------------------
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


def batch_deadlines(session: Session, batch: SettlementBatch) -> Deadlines:
    return store.stage_of(batch).due(working_calendar(session))


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


# --- build -----------------------------------------------------------------------------------------
def build_batch(session: Session, caller: Principal, *, district_code: str, month: Month) -> SettlementBatch:
    """Hold every posted redemption of ``month`` whose voucher belongs to an elder of the
    district, one line per provider; reject what audits excluded, net outstanding clawbacks."""
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    now = clock.now()
    stage = _decided(decide_build(month, working_calendar(session), now))
    lock_settlement_month(session, district_code, month)
    batch = store.create_batch(session, district_code, stage, actor=caller.actor, now=now)
    if batch is None:
        raise SettlementExists(f"{district_code} {month} 的结算批次已存在")
    store.hold_redemptions(session, batch)
    apply_audit_exclusions(session, batch, actor=caller.actor)
    net_clawbacks(session, district_code)
    built = Event(
        "build", None, batch.status, {"redemptions": batch.redemptions, "deduction_fen": batch.deduction_fen}
    )
    store.record_events(session, batch, [built], actor=caller.actor, now=now)
    session.flush()
    return batch


# --- review ----------------------------------------------------------------------------------------
def _write(session: Session, batch: SettlementBatch, outcome: Outcome, *, actor: str, now: datetime) -> None:
    """A review decision applied: its rejections while the batch is still in the stage they were
    made in, then its steps."""
    _reject(session, batch, outcome.rejection, actor=actor)
    store.advance(session, batch, outcome, actor=actor, now=now)


def _reject(session: Session, batch: SettlementBatch, rejection: Rejection, *, actor: str) -> None:
    """Rejections written, then clawbacks netted again over the lowered payables."""
    if rejection.reasons:
        store.reject(session, batch, rejection, actor=actor)
        net_clawbacks(session, batch.district_code)


def submit_civil_review(
    session: Session, caller: Principal, batch: SettlementBatch, rejections: Iterable[tuple[str, str]]
) -> SettlementBatch:
    """Record the civil reviewer's rejections (not paid, kept against the provider with the
    reason, journaled back to the program) and pass the batch to finance."""
    requested = [(sent, parse_id(sent), reason) for sent, reason in rejections]
    held = store.held_items(session, batch.id, {parsed for _, parsed, _ in requested if parsed is not None})
    now = clock.now()
    decision = _decided(
        decide_civil_submission(
            store.stage_of(batch),
            caller.role.value,
            requested,
            held,
            today=now.date(),
            calendar=working_calendar(session),
        )
    )
    _write(session, batch, decision, actor=caller.actor, now=now)
    return batch


def reject_during_civil_review(
    session: Session, caller: Principal, batch: SettlementBatch, reasons: dict[uuid.UUID, str]
) -> int:
    """核减 while the batch is under civil review, before it is submitted (the dashboard's
    drill-down). Returns the fen newly rejected (0: nothing new, no event)."""
    held = store.held_items(session, batch.id, reasons)
    decision = _decided(decide_review_rejection(store.stage_of(batch), caller.role.value, reasons, held))
    _write(session, batch, decision, actor=caller.actor, now=clock.now())
    return decision.rejection.total_fen


def finance_review(
    session: Session, caller: Principal, batch: SettlementBatch, *, approve: bool, note: str | None
) -> SettlementBatch:
    """Finance approves the batch for payment or returns it to civil review."""
    now = clock.now()
    decision = _decided(
        decide_finance_review(
            store.stage_of(batch),
            caller.role.value,
            approve=approve,
            note=note,
            has_lines=bool(lines_of(session, batch)),
            today=now.date(),
            calendar=working_calendar(session),
        )
    )
    _write(session, batch, decision, actor=caller.actor, now=now)
    return batch


# --- payment ---------------------------------------------------------------------------------------
def record_payment(
    session: Session,
    caller: Principal,
    batch: SettlementBatch,
    *,
    provider_id: str,
    amount_fen: int,
    reference: str,
) -> SettlementBatch:
    """Pay one provider line: its payable less the clawbacks netted from it; the journal moves it
    out of the provider's payable. The batch is settled when every line is paid."""
    parsed = parse_id(provider_id)
    line = store.line_for_payment(session, batch.id, parsed) if parsed is not None else None
    now = clock.now()
    decision = _decided(
        decide_payment(
            store.stage_of(batch),
            caller.role.value,
            store.payable_line(line),
            amount_fen=amount_fen,
            reference=reference,
            others_unpaid=store.unpaid_lines(session, batch.id, besides=parsed) if line else 0,
            today=now.date(),
        )
    )
    store.record_payment(session, batch, line, decision, actor=caller.actor, now=now)
    return batch


# --- what audits change ----------------------------------------------------------------------------
def apply_audit_exclusions(session: Session, batch: SettlementBatch, *, actor: str) -> int:
    """Reject the batch's redemptions that an audit found to be fake service before they were
    settled. Returns the fen newly rejected."""
    reasons = exclusion_reasons(store.audit_exclusions(session, batch.id))
    if not reasons:
        return 0
    rejection = rejection_of(reasons, store.held_items(session, batch.id, reasons))
    _reject(session, batch, rejection, actor=actor)
    return rejection.total_fen


def net_clawbacks(session: Session, district_code: str) -> None:
    """Net each provider's outstanding clawbacks (fake service found after its money was
    approved) from its lines in the district's batches still under civil review, oldest month
    first. Recomputed whole, so it can be called any time."""
    batches = store.open_batches(session, district_code)
    if not batches:
        return
    lines = [line for batch in batches for line in lines_of(session, batch)]
    netted = clawbacks_netted(
        store.booked_clawbacks(session, district_code),
        store.clawbacks_netted_before(session, district_code),
        [OpenLine(line.batch_id, line.provider_id, line.payable_fen) for line in lines],
    )
    store.set_clawbacks(session, batches, lines, netted)


# --- the daily job ---------------------------------------------------------------------------------
def flag_overdue(session: Session, today: date) -> int:
    """Flag every batch whose current stage is past its deadline, once per stage (a batch late
    in civil review and late again in payment is flagged twice), each flag an audit row."""
    calendar = working_calendar(session)
    flagged = 0
    for batch in session.scalars(
        select(SettlementBatch).where(SettlementBatch.status != "settled").with_for_update()
    ):
        flag = overdue_flag(batch.status, store.stage_of(batch).due(calendar), today, batch.overdue_stage)
        if flag is None:
            continue
        now = clock.now()
        batch.overdue_flagged_at, batch.overdue_stage = now, batch.status
        store.record_events(session, batch, [flag], actor="system:flag_overdue", now=now)
        flagged += 1
    session.flush()
    return flagged


def lock_settlement_month(session: Session, district_code: str, month: Month) -> None:
    """The lock a batch build and an audit finding share (app.audits.findings), so that a
    redemption found to be fake is either seen by the build as excluded or found by the finding
    in the batch."""
    lock_for_transaction(session, f"settlement:{district_code}:{month}")
