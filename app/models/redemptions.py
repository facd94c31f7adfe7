from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ExactDecimal, UtcDateTime, sql_in


class Redemption(Base):
    """One use of a voucher at the point of service. ``district_code`` is the elder's district
    (the one that settles it); the provider may be listed in another district."""

    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint(sql_in("status", ("posted", "reversed")), name="status"),
        CheckConstraint("amount_fen > 0 AND ltci_paid_fen >= 0", name="amounts_positive"),
        CheckConstraint("eligible_fen = amount_fen - ltci_paid_fen", name="eligible_is_after_ltci"),
        CheckConstraint(
            "deduction_fen > 0 AND deduction_fen <= eligible_fen",
            name="deduction_in_range",
        ),
        CheckConstraint("self_pay_fen = eligible_fen - deduction_fen", name="self_pay"),
        Index(None, "district_code", "month", "status"),
        Index(None, "provider_id", "month"),
        Index(None, "elder_id", "month"),
        Index(None, "voucher_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    month: Mapped[date] = mapped_column(Date)
    voucher_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vouchers.id"))
    elder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("elders.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    item: Mapped[int] = mapped_column(ForeignKey("catalogue_items.item"))
    category: Mapped[str] = mapped_column(String(16))
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    ltci_paid_fen: Mapped[int] = mapped_column(BigInteger)
    eligible_fen: Mapped[int] = mapped_column(BigInteger)
    deduction_fen: Mapped[int] = mapped_column(BigInteger)
    self_pay_fen: Mapped[int] = mapped_column(BigInteger)
    served_at: Mapped[datetime] = mapped_column(UtcDateTime)
    receipt_no: Mapped[str | None] = mapped_column(String(64))
    warnings: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    # Kept by the evidence upload (app/evidence/service.py), so that building a batch of a
    # million redemptions copies a column instead of checking each one's files.
    evidence_complete: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class IdempotencyKey(Base):
    """A provider's request key, claimed in the same transaction as the journal write, with the
    response it got (successes and refusals alike) for replays."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("provider_id", "key"),)

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict] = mapped_column(JSON)
    # Kept at least until the month is settled (settlement purges keys of settled months).
    month: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
