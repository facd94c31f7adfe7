from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerPK, UtcDateTime, new_id, sql_in

PROVIDER_KINDS = (
    "institution",  # 养老机构
    "regional_center",  # 街道(乡镇)区域养老服务中心
    "partner",  # 区域养老服务中心链接的专业服务商
    "station",  # 社区养老服务驿站
    "home_care_company",  # 居家社区养老服务企业 (including online ones)
    "assessment_agency",  # 评估经办机构
)
PROVIDER_STATUSES = ("listed", "withdrawn", "suspended", "disqualified")


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (
        CheckConstraint(sql_in("kind", PROVIDER_KINDS), name="kind"),
        CheckConstraint(sql_in("status", PROVIDER_STATUSES), name="status"),
        CheckConstraint("(kind = 'partner') = (parent_id IS NOT NULL)", name="partner_has_parent"),
        # A company serving several districts registers once in each district's list.
        UniqueConstraint("district_code", "credit_code"),
        # The organisation across districts: blacklist, agency-or-provider (一(四)).
        Index(None, "credit_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(20))
    credit_code: Mapped[str] = mapped_column(String(18))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class ProviderStatusChange(Base):
    """The listing history: every status a provider had, who set it, when and why."""

    __tablename__ = "provider_status_changes"
    __table_args__ = (Index(None, "provider_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
