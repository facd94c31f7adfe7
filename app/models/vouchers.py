from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, sql_in

VOUCHER_STATUSES = ("active", "expired", "revoked")
# monthly: one per elder and natural month (二(三)); assessment: one-off, pays the assessment
# service fee (catalogue item 1) when the result is moderate or worse (attachment 5).
VOUCHER_KINDS = ("monthly", "assessment")


class Voucher(Base):
    """An elder's e-voucher for one natural month. ``balance_fen`` is a cache of the journal,
    updated in the same transaction as every journal entry that moves it."""

    __tablename__ = "vouchers"
    __table_args__ = (
        # Exactly one monthly voucher per elder per month, whoever issues it and however often.
        UniqueConstraint("elder_id", "month", "kind"),
        CheckConstraint("balance_fen >= 0", name="balance_not_negative"),
        CheckConstraint("balance_fen <= face_value_fen", name="balance_within_face_value"),
        CheckConstraint(sql_in("status", VOUCHER_STATUSES), name="status"),
        CheckConstraint(sql_in("kind", VOUCHER_KINDS), name="kind"),
        # The month alone, not (month, status): expiry changes the status, and an UPDATE that
        # touches no indexed column can stay on its page (HOT) — as every redemption's balance
        # update does, given the page space that fillfactor leaves.
        Index(None, "month"),
        Index(None, "district_code", "month"),
        {"postgresql_with": {"fillfactor": 85}},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Copied from the elder (whose own district_code is a foreign key): no second check here,
    # it would cost every month's set-based issue a lookup per voucher.
    district_code: Mapped[str] = mapped_column(String(6))
    elder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("elders.id"))
    kind: Mapped[str] = mapped_column(String(10))
    month: Mapped[date] = mapped_column(Date)
    face_value_fen: Mapped[int] = mapped_column(BigInteger)
    balance_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)  # exclusive: 00:00 on the next 1st
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The job run that issued it (NULL when issued at approval); lets the run journal exactly
    # the vouchers it inserted, set-based.
    issue_job_run_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The assessment an assessment voucher pays for (NULL for monthly vouchers).
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
