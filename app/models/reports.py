"""Tables of the reports module: the record of each progress report a district submitted."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, sql_in

REPORT_KINDS = ("quarterly", "annual")


class ReportSubmission(Base):
    """A district's report as submitted to the city (三(二) quarterly, 三(三) annual summary): who,
    when, whether after the due day, the district's own words, and the figures as they stood
    (the report can be regenerated later, and would then show later corrections)."""

    __tablename__ = "report_submissions"
    __table_args__ = (
        UniqueConstraint("district_code", "kind", "year", "quarter"),
        CheckConstraint(sql_in("kind", REPORT_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'quarterly' AND quarter BETWEEN 1 AND 4) OR (kind = 'annual' AND quarter = 0)",
            name="quarter_of_kind",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(SmallInteger)
    # 1-4 for a quarterly report; 0 for the annual summary (a NULL would escape the unique key).
    quarter: Mapped[int] = mapped_column(SmallInteger)
    due_on: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_by: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool]
    summary: Mapped[str | None] = mapped_column(Text)
    figures: Mapped[dict] = mapped_column(JSON)
