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


class StaffSession(Base):
    """A dashboard sign-in: the browser holds a random cookie value, the table its hash.

    Kept after sign-out or expiry (``ended_at``) as the record of who was signed in when."""

    __tablename__ = "staff_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"), index=True)
    # The synchronizer token every form of this session must carry (CSRF).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
