"""Tables of the anomalies module: one row per anomaly warning (四(二) 异常交易预警)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, sql_in
from app.rules.anomalies import RULE_CODES

ANOMALY_STATUSES = ("open", "confirmed", "dismissed")
# death: found when the district records a death dated before services already posted.
DETECTED_BY = ("redemption", "nightly", "death")


class Anomaly(Base):
    """A warning raised by a rule of app/rules/anomalies.py, with the figures that triggered it
    (``evidence``) and how the district resolved it.

    ``subject_key`` names what the warning is about within its rule (a redemption's id; a
    provider and item; an elder and day) in hex-UUID form, so that the in-line check and any
    number of nightly rescans meet on the unique (rule, subject_key) and never duplicate.
    ``district_code`` and ``month`` are the redemptions' (the elder's district, the voucher's
    month): the district that settles them is the one that must check the warning.
    """

    __tablename__ = "anomalies"
    __table_args__ = (
        UniqueConstraint("rule", "subject_key"),
        CheckConstraint(sql_in("rule", RULE_CODES), name="rule"),
        CheckConstraint(sql_in("status", ANOMALY_STATUSES), name="status"),
        CheckConstraint(sql_in("detected_by", DETECTED_BY), name="detected_by"),
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved_when_closed"),
        Index(None, "district_code", "month", "status"),
        Index(None, "provider_id"),
        Index(None, "elder_id"),
        Index(None, "redemption_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    month: Mapped[date] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10))
    subject_key: Mapped[str] = mapped_column(String(100))
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("redemptions.id"))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id"))
    elder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("elders.id"))
    evidence: Mapped[dict] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    detected_by: Mapped[str] = mapped_column(String(10))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution_note: Mapped[str | None] = mapped_column(Text)
