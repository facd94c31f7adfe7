"""Audit samples and their findings (四(二), attachment 5 五(四)).

A sample is drawn once per district, month and kind and never again (unique). Its population is
stored with it, so that anyone can recompute the draw from the published seed
(app/rules/sampling.py, docs/audit-sampling.md); the drawn elders are the members.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
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

from app.db import Base, UtcDateTime, sql_in
from app.rules.sampling import SAMPLE_KINDS

FINDING_OUTCOMES = ("genuine", "fake_service", "poor_quality", "low_satisfaction")
# What a fake-service finding did to each redemption it names: excluded from a settlement not
# yet reviewed, or booked as a clawback because it had already passed civil review.
FINDING_EFFECTS = ("none", "excluded", "clawback")


class AuditSample(Base):
    __tablename__ = "audit_samples"
    __table_args__ = (
        UniqueConstraint("district_code", "month", "kind"),
        CheckConstraint(sql_in("kind", SAMPLE_KINDS), name="kind"),
        CheckConstraint("sample_size >= 0 AND sample_size <= population", name="size"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    month: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12))
    method: Mapped[str] = mapped_column(String(40))  # app.rules.sampling.METHOD at draw time
    seed: Mapped[str] = mapped_column(String(64))  # hex, 32 random bytes
    population: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    population_sha256: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime)
    drawn_by: Mapped[str] = mapped_column(String(64))


class AuditSampleUnit(Base):
    """One elder of a sample's population, with its stratum; ``drawn`` for the sampled ones.
    No foreign key to elders: the rows are the published record of the population, written once."""

    __tablename__ = "audit_sample_units"
    __table_args__ = (Index(None, "sample_id", "drawn"),)

    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_samples.id"), primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    stratum: Mapped[str] = mapped_column(String(64))
    drawn: Mapped[bool]
    draw_position: Mapped[int | None] = mapped_column(Integer)  # 0 … sample_size - 1, in draw order


class AuditFinding(Base):
    """What the district found when it checked one sampled elder's services."""

    __tablename__ = "audit_findings"
    __table_args__ = (
        CheckConstraint(sql_in("outcome", FINDING_OUTCOMES), name="outcome"),
        Index(None, "district_code", "month"),
        Index(None, "provider_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_samples.id"), index=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    month: Mapped[date] = mapped_column(Date)
    # The provider the finding is about (the one of its redemptions; None when it names none).
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    excluded_fen: Mapped[int] = mapped_column(BigInteger)
    clawback_fen: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class AuditFindingRedemption(Base):
    """A redemption a finding concerns, and what the finding did to it."""

    __tablename__ = "audit_finding_redemptions"
    __table_args__ = (
        CheckConstraint(sql_in("effect", FINDING_EFFECTS), name="effect"),
        # A redemption is excluded or clawed back at most once, whatever the findings.
        Index(
            "uq_audit_finding_redemptions_acted_on",
            "redemption_id",
            unique=True,
            postgresql_where=text("effect <> 'none'"),
            sqlite_where=text("effect <> 'none'"),
        ),
    )

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_findings.id"), primary_key=True)
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"), primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    deduction_fen: Mapped[int] = mapped_column(BigInteger)
    effect: Mapped[str] = mapped_column(String(10))
