"""A settlement batch's reads and writes: the facts its decisions (app.rules.settlement) need, and
each decision applied. Whatever touches a batch's redemptions is set-based SQL in bounded
statements, whatever the volume; the few provider lines are ORM rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, case, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.ledger import service as ledger
from app.models.audits import AuditFindingRedemption
from app.models.redemptions import Redemption
from app.models.settlements import SettlementBatch, SettlementEvent, SettlementItem, SettlementLine
from app.reference.service import policy_for_month
from app.rules.months import BEIJING, Month
from app.rules.settlement import Event, Outcome, Paid, PayableLine, Stage, split_funding
from app.rules.settlement_adjustments import HeldItem, Rejection

IN_LIST_MAX = 1000  # ids per IN (…): PostgreSQL's driver takes at most 65,535 bind parameters


def _chunks(ids: list[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), IN_LIST_MAX):
        yield ids[start : start + IN_LIST_MAX]


# --- the stage and the history -----------------------------------------------------------------
def stage_of(batch: SettlementBatch) -> Stage:
    return Stage(
        status=batch.status,
        month=Month.of(batch.month),
        civil_review_due=batch.civil_review_due,
        civil_submitted_on=batch.civil_submitted_on,
        finance_review_due=batch.finance_review_due,
        finance_approved_on=batch.finance_approved_on,
        payment_due=batch.payment_due,
        settled_on=batch.settled_on,
    )


# The batch's columns a review step sets (the civil review deadline is set once, at build).
STAGE_COLUMNS = (
    "status",
    "civil_submitted_on",
    "finance_review_due",
    "finance_approved_on",
    "payment_due",
    "settled_on",
)


def record_events(
    session: Session, batch: SettlementBatch, events: Iterable[Event], *, actor: str, now: datetime
) -> None:
    for event in events:
        session.add(
            SettlementEvent(
                batch_id=batch.id,
                action=event.action,
                from_status=event.from_status,
                to_status=event.to_status,
                actor=actor,
                at=now,
                on_day=now.astimezone(BEIJING).date(),
                details=event.details,
            )
        )


def advance(session: Session, batch: SettlementBatch, outcome: Outcome, *, actor: str, now: datetime) -> None:
    """The batch's new stage, with the history rows of the steps that led there."""
    for column in STAGE_COLUMNS:
        setattr(batch, column, getattr(outcome.stage, column))
    record_events(session, batch, outcome.events, actor=actor, now=now)
    session.flush()


# --- build -------------------------------------------------------------------------------------
# A new batch's counts and amounts: zero until hold_redemptions fills them in.
TOTAL_COLUMNS = (
    "redemptions",
    "elders",
    "providers",
    "amount_fen",
    "deduction_fen",
    "rejected_fen",
    "payable_fen",
    "clawback_fen",
    "central_fen",
    "city_fen",
    "district_fen",
)


def create_batch(
    session: Session, district_code: str, stage: Stage, *, actor: str, now: datetime
) -> SettlementBatch | None:
    """An empty batch in its first stage; None when the district-month has one already (the
    unique (district_code, month) closes the race of two officers building at once)."""
    batch = SettlementBatch(
        id=uuid.uuid4(),
        district_code=district_code,
        month=stage.month.first_day,
        status=stage.status,
        civil_review_due=stage.civil_review_due,
        **dict.fromkeys(TOTAL_COLUMNS, 0),
        created_at=now,
        created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:
        return None
    return batch


# The columns hold_redemptions inserts, in the order of its selects.
ITEM_COLUMNS = ("redemption_id", "batch_id", "provider_id", "deduction_fen", "rejected", "missing_evidence")
LINE_COLUMNS = (
    "batch_id",
    "provider_id",
    "redemptions",
    "deduction_fen",
    "rejected_fen",
    "payable_fen",
    "paid",
)


def hold_redemptions(session: Session, batch: SettlementBatch) -> None:
    """Hold every posted redemption of the batch's district and month: one item each, one line
    per provider, the batch's totals. Three statements, whatever the volume.

    No "not already held" test: a redemption belongs to one district and month, and a
    district-month has one batch (unique), so the items' primary key is never contended — and an
    anti-join against a freshly analysed, empty items table can make PostgreSQL rescan it once
    per row."""
    held = and_(
        Redemption.district_code == batch.district_code,
        Redemption.month == batch.month,
        Redemption.status == "posted",
    )
    items = select(
        Redemption.id,
        literal(batch.id),
        Redemption.provider_id,
        Redemption.deduction_fen,
        literal(False),
        ~Redemption.evidence_complete,
    ).where(held)
    session.execute(insert(SettlementItem).from_select(ITEM_COLUMNS, items))
    session.execute(insert(SettlementLine).from_select(LINE_COLUMNS, _lines_of_items(batch.id)))
    # Totals straight from the redemptions (same filter), not by joining the items back.
    totals = select(
        func.count(),
        func.count(func.distinct(Redemption.elder_id)),
        func.count(func.distinct(Redemption.provider_id)),
        func.coalesce(func.sum(Redemption.amount_fen), 0),
        func.coalesce(func.sum(Redemption.deduction_fen), 0),
    ).where(held)
    counted = [int(value) for value in session.execute(totals).one()]
    batch.redemptions, batch.elders, batch.providers, batch.amount_fen, batch.deduction_fen = counted
    refresh_money(session, batch)
    session.flush()


def _lines_of_items(batch_id: uuid.UUID):
    """One unpaid line per provider of the batch's items, nothing rejected yet."""
    return (
        select(
            SettlementItem.batch_id,
            SettlementItem.provider_id,
            func.count(),
            func.sum(SettlementItem.deduction_fen),
            literal(0),
            func.sum(SettlementItem.deduction_fen),
            literal(False),
        )
        .where(SettlementItem.batch_id == batch_id)
        .group_by(SettlementItem.batch_id, SettlementItem.provider_id)
    )


def refresh_money(session: Session, batch: SettlementBatch) -> None:
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


# --- rejections ----------------------------------------------------------------------------------
def held_items(session: Session, batch_id: uuid.UUID, redemption_ids: Iterable[uuid.UUID]) -> dict:
    """Those of ``redemption_ids`` the batch holds: redemption -> HeldItem."""
    held: dict[uuid.UUID, HeldItem] = {}
    for chunk in _chunks(list(redemption_ids)):
        rows = session.execute(
            select(
                SettlementItem.redemption_id,
                SettlementItem.provider_id,
                SettlementItem.deduction_fen,
                SettlementItem.rejected,
            ).where(SettlementItem.batch_id == batch_id, SettlementItem.redemption_id.in_(chunk))
        )
        held.update((row[0], HeldItem(row[1], row[2], row[3])) for row in rows)
    return held


def audit_exclusions(session: Session, batch_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID]:
    """The batch's redemptions, not rejected yet, that an audit found to be fake service before
    they were settled (effect ``excluded``): redemption -> finding. The findings are few: one
    small join, not a per-row probe."""
    return dict(
        session.execute(
            select(SettlementItem.redemption_id, AuditFindingRedemption.finding_id)
            .join(
                AuditFindingRedemption, AuditFindingRedemption.redemption_id == SettlementItem.redemption_id
            )
            .where(
                SettlementItem.batch_id == batch_id,
                AuditFindingRedemption.effect == "excluded",
                SettlementItem.rejected.is_(False),
            )
        ).all()
    )


def reject(session: Session, batch: SettlementBatch, rejection: Rejection, *, actor: str) -> None:
    """Items marked with their reasons, provider lines and batch totals reduced, one ``reject``
    journal entry. The batch's netted clawbacks are cleared: the caller nets them again."""
    _mark_rejected(session, batch.id, rejection.reasons)
    # Cleared first so that no line's clawback exceeds its lowered payable in between (CHECK
    # clawback_in_range).
    session.execute(update(SettlementLine).where(SettlementLine.batch_id == batch.id).values(clawback_fen=0))
    batch.clawback_fen = 0
    for provider_id, amount in rejection.by_provider.items():
        session.execute(
            update(SettlementLine)
            .where(SettlementLine.batch_id == batch.id, SettlementLine.provider_id == provider_id)
            .values(
                rejected_fen=SettlementLine.rejected_fen + amount,
                payable_fen=SettlementLine.payable_fen - amount,
            )
        )
    ledger.post_entry(
        session,
        kind="reject",
        district_code=batch.district_code,
        month=batch.month,
        lines=rejection.journal_lines(),
        created_by=actor,
    )
    batch.rejected_fen += rejection.total_fen
    refresh_money(session, batch)
    session.flush()


def _mark_rejected(session: Session, batch_id: uuid.UUID, reasons: dict[uuid.UUID, str]) -> None:
    """One UPDATE per thousand rejections, each row given its own reason by a CASE (a VALUES
    list joined in an UPDATE … FROM is not portable to SQLite)."""
    for chunk in _chunks(list(reasons)):
        session.execute(
            update(SettlementItem)
            .where(SettlementItem.batch_id == batch_id, SettlementItem.redemption_id.in_(chunk))
            .values(
                rejected=True,
                rejection_reason=case(
                    {rid: reasons[rid] for rid in chunk}, value=SettlementItem.redemption_id
                ),
            )
        )


# --- clawbacks ------------------------------------------------------------------------------------
def booked_clawbacks(session: Session, district_code: str) -> dict[uuid.UUID, int]:
    """Per provider, the clawbacks audits booked in the district (fake service already approved)."""
    rows = session.execute(
        select(AuditFindingRedemption.provider_id, func.sum(AuditFindingRedemption.deduction_fen))
        .where(
            AuditFindingRedemption.district_code == district_code,
            AuditFindingRedemption.effect == "clawback",
        )
        .group_by(AuditFindingRedemption.provider_id)
    )
    return {provider_id: int(fen) for provider_id, fen in rows}


def clawbacks_netted_before(session: Session, district_code: str) -> dict[uuid.UUID, int]:
    """Per provider, the clawbacks netted by the district's batches past civil review (final)."""
    rows = session.execute(
        select(SettlementLine.provider_id, func.sum(SettlementLine.clawback_fen))
        .join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
        .where(SettlementBatch.district_code == district_code, SettlementBatch.status != "civil_review")
        .group_by(SettlementLine.provider_id)
    )
    return {provider_id: int(fen or 0) for provider_id, fen in rows}


def open_batches(session: Session, district_code: str) -> list[SettlementBatch]:
    """The district's batches under civil review, oldest month first: where clawbacks are netted."""
    return list(
        session.scalars(
            select(SettlementBatch)
            .where(SettlementBatch.district_code == district_code, SettlementBatch.status == "civil_review")
            .order_by(SettlementBatch.month)
        )
    )


def set_clawbacks(
    session: Session,
    batches: list[SettlementBatch],
    lines: list[SettlementLine],
    netted: dict[tuple[uuid.UUID, uuid.UUID], int],
) -> None:
    """Each open line's netted clawback, and each open batch's sum of them."""
    totals = dict.fromkeys((batch.id for batch in batches), 0)
    for line in lines:
        line.clawback_fen = netted[(line.batch_id, line.provider_id)]
        totals[line.batch_id] += line.clawback_fen
    for batch in batches:
        batch.clawback_fen = totals[batch.id]
    session.flush()


# --- payment -----------------------------------------------------------------------------------
def line_for_payment(session: Session, batch_id: uuid.UUID, provider_id: uuid.UUID) -> SettlementLine | None:
    """The provider's line in the batch, locked until the payment is recorded."""
    return session.scalars(
        select(SettlementLine)
        .where(SettlementLine.batch_id == batch_id, SettlementLine.provider_id == provider_id)
        .with_for_update()
    ).one_or_none()


def payable_line(line: SettlementLine | None) -> PayableLine | None:
    if line is None:
        return None
    return PayableLine(line.provider_id, line.payable_fen, line.clawback_fen, line.paid)


def unpaid_lines(session: Session, batch_id: uuid.UUID, *, besides: uuid.UUID) -> int:
    """How many of the batch's lines, other than provider ``besides``'s, are not paid yet."""
    return session.scalar(
        select(func.count())
        .select_from(SettlementLine)
        .where(
            SettlementLine.batch_id == batch_id,
            SettlementLine.paid.is_(False),
            SettlementLine.provider_id != besides,
        )
    )


def record_payment(
    session: Session,
    batch: SettlementBatch,
    line: SettlementLine,
    payment: Paid,
    *,
    actor: str,
    now: datetime,
) -> None:
    """The line paid, the journal moving the amount out of the provider's payable, the step."""
    line.paid, line.paid_on, line.payment_reference = True, payment.paid_on, payment.reference
    journal = payment.journal_lines()
    if journal:
        ledger.post_entry(
            session,
            kind="pay",
            district_code=batch.district_code,
            month=batch.month,
            lines=journal,
            created_by=actor,
        )
    advance(session, batch, payment.outcome, actor=actor, now=now)
