from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime


class ProviderListPublication(Base):
    """One district's published list of one month's added and withdrawn providers (一(四)):
    who published it, when, whether late, and the list exactly as published."""

    __tablename__ = "provider_list_publications"
    __table_args__ = (UniqueConstraint("district_code", "month"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month whose changes it lists
    due_on: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_by: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool]
    entries: Mapped[list[dict]] = mapped_column(JSON)
