"""Tables of the sanctions module: the blacklist (失信联合惩戒) and rectification orders (限期整改).

Suspensions and disqualifications are listing statuses: they live in ``provider_status_changes``
(app/providers), never here. Rows here are written when a sanction is imposed and once more when
it ends (lifted, rectified, escalated); they are never deleted, so each row is its own history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, new_id, sql_in
from app.rules.sanctions import EscalationAction, RectificationStatus

RECTIFICATION_SOURCES = ("manual", "automatic")


class BlacklistEntry(Base):
    """An organisation (by unified social credit code) on the joint-punishment list. While the
    entry is not lifted, no registration with that code may be created or (re-)listed in any
    district."""

    __tablename__ = "provider_blacklist"
    __table_args__ = (
        # One active entry per organisation; lifted entries stay as history.
        Index(
            "uq_provider_blacklist_active_credit_code",
            "credit_code",
            unique=True,
            postgresql_where=text("lifted_at IS NULL"),
            sqlite_where=text("lifted_at IS NULL"),
        ),
        Index(None, "district_code", "listed_at"),
        CheckConstraint(
            "(lifted_at IS NULL AND lifted_by IS NULL AND lift_reason IS NULL)"
            " OR (lifted_at IS NOT NULL AND lifted_by IS NOT NULL AND lift_reason IS NOT NULL)",
            name="lifted_together",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    # The registration the district found at fault, and that district (who sees the entry).
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    listed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    listed_by: Mapped[str] = mapped_column(String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lift_reason: Mapped[str | None] = mapped_column(Text)


class RectificationOrder(Base):
    """A rectification order (限期整改) with its due day, opened by a district or automatically
    after enough serious audit findings, closed once as rectified or escalated."""

    __tablename__ = "rectification_orders"
    __table_args__ = (
        CheckConstraint(sql_in("status", tuple(RectificationStatus)), name="status"),
        CheckConstraint(sql_in("source", RECTIFICATION_SOURCES), name="source"),
        CheckConstraint(sql_in("escalation_action", tuple(EscalationAction)), name="escalation_action"),
        CheckConstraint("working_days >= 1 AND due_on > opened_on", name="due"),
        CheckConstraint(
            "(status = 'open' AND closed_at IS NULL AND closed_by IS NULL AND close_note IS NULL)"
            " OR (status <> 'open' AND closed_at IS NOT NULL AND closed_by IS NOT NULL"
            " AND close_note IS NOT NULL)",
            name="closed_together",
        ),
        CheckConstraint("(status = 'escalated') = (escalation_action IS NOT NULL)", name="escalated_action"),
        # At most one open order per provider: the automatic trigger fires once while one is open.
        Index(
            "uq_rectification_orders_open_provider_id",
            "provider_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index(None, "district_code", "opened_at"),
        Index(None, "provider_id", "opened_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))  # the provider's
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    working_days: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[date] = mapped_column(Date)  # Beijing date
    due_on: Mapped[date] = mapped_column(Date)  # fixed when opened: it is what the provider is told
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_by: Mapped[str] = mapped_column(String(64))
    # Automatic orders: the finding that reached the threshold.
    trigger_finding_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("audit_findings.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    close_note: Mapped[str | None] = mapped_column(Text)
    escalation_action: Mapped[str | None] = mapped_column(String(10))


class RectificationOrderFinding(Base):
    """A serious audit finding answered by an order: those counted when it opened and those
    recorded while it was open. A finding belongs to at most one order, so that no finding
    counts towards two automatic orders."""

    __tablename__ = "rectification_order_findings"

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_findings.id"), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rectification_orders.id"), index=True)
