from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, new_id


class StaffMember(Base):
    """A civil-affairs, finance or audit officer. Only the token's hash is kept."""

    __tablename__ = "staff_members"
    __table_args__ = (
        CheckConstraint(
            "role IN ('city_admin', 'district_civil', 'district_finance', 'auditor')",
            name="role",
        ),
        CheckConstraint(
            "(role IN ('district_civil', 'district_finance')) = (district_code IS NOT NULL)",
            name="district_roles_have_district",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
