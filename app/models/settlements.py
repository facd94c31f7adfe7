from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerPK, UtcDateTime, sql_in

BATCH_STATUSES = ("civil_review", "finance_review", "payment", "settled")


class SettlementBatch(Base):
    """One district's settlement of one month's redemptions (二(五))."""

    __tablename__ = "settlement_batches"
    __table_args__ = (
        UniqueConstraint("district_code", "month"),
        CheckConstraint(sql_in("status", BATCH_STATUSES), name="status"),
        CheckConstraint("payable_fen = deduction_fen - rejected_fen", name="payable"),
        CheckConstraint(
            "central_fen + city_fen + district_fen = payable_fen", name="funding_sums_to_payable"
        ),
        CheckConstraint("clawback_fen >= 0 AND clawback_fen <= payable_fen", name="clawback_in_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    month: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    civil_review_due: Mapped[date] = mapped_column(Date)
    finance_review_due: Mapped[date | None] = mapped_column(Date)
    payment_due: Mapped[date | None] = mapped_column(Date)
    civil_submitted_on: Mapped[date | None] = mapped_column(Date)
    finance_approved_on: Mapped[date | None] = mapped_column(Date)
    settled_on: Mapped[date | None] = mapped_column(Date)
    # Set by the daily overdue job, once per stage: the stage flagged last and when (whether
    # the batch is overdue now is recomputed on every read from the clock).
    overdue_flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    overdue_stage: Mapped[str | None] = mapped_column(String(16))
    redemptions: Mapped[int] = mapped_column(Integer)
    elders: Mapped[int] = mapped_column(Integer)
    providers: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    deduction_fen: Mapped[int] = mapped_column(BigInteger)
    rejected_fen: Mapped[int] = mapped_column(BigInteger)
    payable_fen: Mapped[int] = mapped_column(BigInteger)
    central_fen: Mapped[int] = mapped_column(BigInteger)
    city_fen: Mapped[int] = mapped_column(BigInteger)
    district_fen: Mapped[int] = mapped_column(BigInteger)
    # Clawbacks of earlier months netted from this batch's payments (sum of the lines').
    clawback_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class SettlementItem(Base):
    """A redemption held by a batch. A redemption is in at most one batch (primary key)."""

    __tablename__ = "settlement_items"
    __table_args__ = (
        Index(None, "batch_id", "provider_id"),
        CheckConstraint("rejected OR rejection_reason IS NULL", name="reason_only_when_rejected"),
    )

    # No foreign keys here: the rows are copied from redemptions by the batch's own INSERT …
    # SELECT in the transaction that creates the batch, so the checks could never fail, and on
    # a million-row month they cost more than everything else (see bench/README.md).
    redemption_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    deduction_fen: Mapped[int] = mapped_column(BigInteger)
    rejected: Mapped[bool]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    missing_evidence: Mapped[bool]


class SettlementLine(Base):
    """What one provider is owed by one batch."""

    __tablename__ = "settlement_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "provider_id"),
        CheckConstraint("payable_fen = deduction_fen - rejected_fen", name="payable"),
        CheckConstraint("clawback_fen >= 0 AND clawback_fen <= payable_fen", name="clawback_in_range"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement_batches.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    redemptions: Mapped[int] = mapped_column(Integer)
    deduction_fen: Mapped[int] = mapped_column(BigInteger)
    rejected_fen: Mapped[int] = mapped_column(BigInteger)
    payable_fen: Mapped[int] = mapped_column(BigInteger)
    # Clawbacks (fake service found after payment) netted from this payment: the provider is
    # paid payable_fen - clawback_fen.
    clawback_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    paid: Mapped[bool]
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(64))


class SettlementEvent(Base):
    """The audit trail: every transition of a batch, who, when and what."""

    __tablename__ = "settlement_events"
    __table_args__ = (Index(None, "batch_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement_batches.id"))
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    on_day: Mapped[date] = mapped_column(Date)  # the Beijing date, for "late or early"
    details: Mapped[dict] = mapped_column(JSON)
