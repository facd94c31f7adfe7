"""The assessment record (attachment 5 二(二)): who assessed whom, when, how, the 26 item scores
and the result worked out by app.rules.assessment, and the district's decision.

A record is written at submission and once more at its decision (approved or rejected); it is
never edited after that and never deleted, so the records of an elder are its assessment history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, new_id, sql_in
from app.rules.assessment import MAX_TOTAL
from app.rules.eligibility import DisabilityLevel

ASSESSMENT_STATUSES = ("submitted", "approved", "rejected")
VISITS = ("on_site", "home")  # 集中定点评估, 上门评估 (attachment 5 一)


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(sql_in("status", ASSESSMENT_STATUSES), name="status"),
        CheckConstraint(sql_in("visit", VISITS), name="visit"),
        CheckConstraint(sql_in("base_level", tuple(DisabilityLevel)), name="base_level"),
        CheckConstraint(sql_in("final_level", tuple(DisabilityLevel)), name="final_level"),
        CheckConstraint(
            f"total >= 0 AND total <= {MAX_TOTAL} AND total = self_care_total + basic_mobility_total"
            " + mental_state_total + perception_social_total",
            name="total",
        ),
        CheckConstraint("valid_until >= assessed_on", name="validity"),
        CheckConstraint(
            "(status = 'submitted' AND decided_at IS NULL AND decided_by IS NULL AND decision_note IS NULL)"
            " OR (status = 'approved' AND decided_at IS NOT NULL AND decided_by IS NOT NULL)"
            " OR (status = 'rejected' AND decided_at IS NOT NULL AND decided_by IS NOT NULL"
            " AND decision_note IS NOT NULL)",
            name="decided_together",
        ),
        # At most one record awaiting a decision per elder: a second would race the first.
        Index(
            "uq_assessments_submitted_elder_id",
            "elder_id",
            unique=True,
            postgresql_where=text("status = 'submitted'"),
            sqlite_where=text("status = 'submitted'"),
        ),
        Index(None, "elder_id", "assessed_on"),
        Index(None, "district_code", "assessed_on"),
        Index(None, "agency_id", "assessed_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    elder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("elders.id"))
    # The elder's district: the one whose civil-affairs bureau approves the result (attachment 5 二(三)).
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    assessor_name: Mapped[str] = mapped_column(String(64))
    assessor_certificate_no: Mapped[str] = mapped_column(String(64))  # 评估人员工作证号
    # The organisation the assessor works for (often a hospital): the conflict-of-interest check
    # looks it up among the providers by this code.
    assessor_organisation_credit_code: Mapped[str] = mapped_column(String(18))
    assessed_on: Mapped[date] = mapped_column(Date)
    visit: Mapped[str] = mapped_column(String(8))
    scores: Mapped[dict[str, int]] = mapped_column(JSON)  # item code -> score, table order
    self_care_total: Mapped[int] = mapped_column(Integer)
    basic_mobility_total: Mapped[int] = mapped_column(Integer)
    mental_state_total: Mapped[int] = mapped_column(Integer)
    perception_social_total: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    base_level: Mapped[str] = mapped_column(String(10))  # C.3, from the total
    final_level: Mapped[str] = mapped_column(String(10))  # C.5, after the adjustments
    adjustments: Mapped[list[str]] = mapped_column(JSON)  # app.rules.assessment.Adjustment codes
    # The C.4 facts as given, so that the result can be recomputed from the record alone.
    coma: Mapped[bool]
    dementia: Mapped[bool]
    mental_disorder: Mapped[bool]
    dementia_or_mental_disorder: Mapped[bool]
    risk_events_30d: Mapped[Any] = mapped_column(JSON)  # a count, or counts per A.2.14 kind
    risk_events_total: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[date] = mapped_column(Date)  # app.rules.eligibility.assessment_valid_until
    status: Mapped[str] = mapped_column(String(10))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Assessment {self.id} {self.district_code} {self.status}>"
