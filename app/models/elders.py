from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerPK, UtcDateTime, new_id, sql_in
from app.rules.eligibility import ALLOWANCE_TIERS, DisabilityLevel, Residency

ELDER_STATUSES = ("pending", "approved", "suspended")
# assessed_below_moderate: set by an approved assessment (app/assessments), not chosen by hand.
SUSPENSION_REASONS = ("deceased", "moved_out", "no_longer_eligible", "other", "assessed_below_moderate")


class Elder(Base):
    """An applicant for the monthly voucher.

    ``id_number`` is kept in full so that a point-of-service lookup can find the elder; it is
    masked in every response (``app.rules.identity.mask_id_number``) and never logged.
    """

    __tablename__ = "elders"
    __table_args__ = (
        CheckConstraint(sql_in("status", ELDER_STATUSES), name="status"),
        CheckConstraint(sql_in("residency", tuple(Residency)), name="residency"),
        CheckConstraint(sql_in("disability_level", tuple(DisabilityLevel)), name="disability_level"),
        CheckConstraint(
            "suspension_reason IS NULL OR " + sql_in("suspension_reason", SUSPENSION_REASONS),
            name="suspension_reason",
        ),
        CheckConstraint(
            "disability_allowance_tier IS NULL OR disability_allowance_tier IN "
            f"({', '.join(str(tier) for tier in ALLOWANCE_TIERS)})",
            name="disability_allowance_tier",
        ),
        Index(None, "district_code", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    birth_date: Mapped[date] = mapped_column(Date)
    residency: Mapped[str] = mapped_column(String(24))
    disability_level: Mapped[str] = mapped_column(String(10))
    assessed_on: Mapped[date] = mapped_column(Date)
    benefits: Mapped[list[str]] = mapped_column(JSON)
    # The 失能老年人护理补贴 tier (yuan/month) held when applying; kept after the elder leaves the
    # allowance (一(八)3), because the 400/600 tiers exempt from a new assessment (二(二)).
    disability_allowance_tier: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(10))
    # Eligibility as last computed by app.rules.eligibility (at application, change, approval).
    eligible: Mapped[bool]
    ineligible_reasons: Mapped[list[str]] = mapped_column(JSON)
    eligibility_checked_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    suspension_reason: Mapped[str | None] = mapped_column(String(24))
    # The last month that still gets a voucher: the month the district confirmed the change
    # (二(三) "于次月停发"). NULL while the elder is not suspended.
    last_voucher_month: Mapped[date | None] = mapped_column(Date)
    # The day of death (Beijing date) when suspended as deceased: a service on or after it is an
    # anomaly (SERVICE_AFTER_DEATH). Cleared only by a city admin's correction.
    died_on: Mapped[date | None] = mapped_column(Date)

    def __repr__(self) -> str:  # never the ID number or the name
        return f"<Elder {self.id} {self.district_code} {self.status}>"


class ElderStatusChange(Base):
    """Every status an elder had: application, approval, suspension, with who and why."""

    __tablename__ = "elder_status_changes"
    __table_args__ = (Index(None, "elder_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("elders.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ElderEnrolment(Base):
    """An elder's place in a government-funded programme whose services the voucher may not pay
    for (一(八)4 station basic services, 一(八)5 family care beds)."""

    __tablename__ = "elder_enrolments"
    __table_args__ = (
        CheckConstraint(sql_in("kind", ("station_basic_services", "family_care_bed")), name="kind"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period"),
        Index(None, "elder_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    elder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("elders.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    kind: Mapped[str] = mapped_column(String(24))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
