"""Evidence a provider uploads for a redemption (二(四)): service record, receipt, redemption
proof, and for institutional care the residence agreement."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Uuid, and_, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime, sql_in

EVIDENCE_KINDS = ("service_record", "receipt", "redemption_proof", "residence_agreement")
# 二(四): institutions upload 入住协议、服务情况、消费金额、核销凭证; home and community
# providers 服务项目、服务情况、消费金额、收费单据、核销凭证. The amount is in the redemption itself.
REQUIRED_EVIDENCE = {
    "institution": ("residence_agreement", "service_record", "redemption_proof"),
    "home_community": ("service_record", "receipt", "redemption_proof"),
}


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


def required_evidence_missing():
    """SQL: true when the redemption in the enclosing query lacks a kind its category requires
    (a category with no requirement never lacks anything).

    The kinds present are counted in one grouped pass over the evidence table (which is small
    next to the redemptions) and joined, rather than probed once per redemption.
    """
    from sqlalchemy import case, literal

    from app.redemptions.models import Redemption

    required_kind = or_(
        *[
            and_(Redemption.category == category, RedemptionEvidence.kind.in_(kinds))
            for category, kinds in REQUIRED_EVIDENCE.items()
        ]
    )
    present = (
        select(func.count(func.distinct(RedemptionEvidence.kind)))
        .where(RedemptionEvidence.redemption_id == Redemption.id, required_kind)
        .correlate(Redemption)
        .scalar_subquery()
    )
    required_count = case(
        *[(Redemption.category == category, len(kinds)) for category, kinds in REQUIRED_EVIDENCE.items()],
        else_=literal(0),
    )
    has_any = (
        select(RedemptionEvidence.id)
        .where(RedemptionEvidence.redemption_id == Redemption.id)
        .correlate(Redemption)
        .exists()
    )
    # Most redemptions have no evidence at all when the batch is built: decide those with one
    # cheap EXISTS probe, and count kinds only where something was uploaded.
    return case((~has_any, required_count > 0), else_=present < required_count)
