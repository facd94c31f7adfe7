"""Evidence a provider uploads for a redemption (二(四)): service record, receipt, redemption
proof, and for institutional care the residence agreement."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, sql_in
from app.rules.evidence import EVIDENCE_KINDS


class RedemptionEvidence(Base):
    __tablename__ = "redemption_evidence"
    __table_args__ = (
        CheckConstraint(sql_in("kind", EVIDENCE_KINDS), name="kind"),
        CheckConstraint("size_bytes > 0", name="not_empty"),
        Index(None, "redemption_id", "kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    kind: Mapped[str] = mapped_column(String(24))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    uploaded_by: Mapped[str] = mapped_column(String(64))
