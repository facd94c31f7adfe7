"""The double-entry journal. Rows are only ever inserted (triggers refuse UPDATE, and DELETE on
PostgreSQL); a correction is a new entry."""

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
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerPK, UtcDateTime, sql_in

ENTRY_KINDS = ("issue", "redeem", "reverse", "expire", "revoke", "reject", "pay", "clawback")
ACCOUNTS = (
    "voucher",  # an elder's voucher balance (one account per voucher)
    "provider_payable",  # what the program owes a provider for its redemptions
    "program_issued",  # the program's commitment: debited when vouchers are issued
    "program_released",  # face value that came back unused (expired or revoked)
    "program_rejected",  # deductions the district refused to pay at review
    "program_paid",  # what the district paid out to providers
    "program_clawback",  # paid deductions taken back after a fake-service finding
)


class JournalEntry(Base):
    """One money movement. Its lines sum to zero."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        CheckConstraint(sql_in("kind", ENTRY_KINDS), name="kind"),
        Index(None, "district_code", "month"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    kind: Mapped[str] = mapped_column(String(10))
    month: Mapped[date] = mapped_column(Date)  # the voucher month the movement belongs to
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    job_run_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint(sql_in("account", ACCOUNTS), name="account"),
        CheckConstraint("amount_fen <> 0", name="non_zero"),
        CheckConstraint("(account = 'voucher') = (voucher_id IS NOT NULL)", name="voucher_account"),
        CheckConstraint(
            "(account = 'provider_payable') = (provider_id IS NOT NULL)",
            name="provider_account",
        ),
        Index(None, "voucher_id"),
        Index(None, "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    district_code: Mapped[str] = mapped_column(String(6))
    account: Mapped[str] = mapped_column(String(20))
    voucher_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    provider_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # Signed: a voucher line is positive when its balance grows.
    amount_fen: Mapped[int] = mapped_column(BigInteger)
