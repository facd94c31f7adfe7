"""Response shapes of evidence; each is built here from its rows (``of``). The download URL of a
file comes from the router (its route name), never from here."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from sqlalchemy import Row

from app.models.evidence import RedemptionEvidence
from app.schemas import BeijingTime, ResponseModel


class EvidenceKind(StrEnum):
    SERVICE_RECORD = "service_record"  # 服务情况(服务记录)
    RECEIPT = "receipt"  # 收费单据
    REDEMPTION_PROOF = "redemption_proof"  # 电子消费券核销凭证
    RESIDENCE_AGREEMENT = "residence_agreement"  # 入住协议(机构养老)
    ID_PHOTO = "id_photo"  # 服务前拍摄的老年人身份证或养老助残卡照片(四(三))


class EvidenceOut(ResponseModel):
    id: str
    redemption_id: str
    provider_id: str
    kind: EvidenceKind
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: BeijingTime
    uploaded_by: str
    content_url: str

    @classmethod
    def of(cls, evidence: RedemptionEvidence, content_url: str) -> Self:
        return cls(
            id=str(evidence.id),
            redemption_id=str(evidence.redemption_id),
            provider_id=str(evidence.provider_id),
            kind=EvidenceKind(evidence.kind),
            filename=evidence.filename,
            content_type=evidence.content_type,
            size_bytes=evidence.size_bytes,
            sha256=evidence.sha256,
            uploaded_at=evidence.uploaded_at,
            uploaded_by=evidence.uploaded_by,
            content_url=content_url,
        )


class MissingEvidenceOut(ResponseModel):
    redemption_id: str
    provider_id: str
    provider_name: str
    item: int
    item_name: str
    category: str
    served_at: BeijingTime
    deduction_fen: int
    rejected: bool
    present_kinds: list[EvidenceKind]
    missing_kinds: list[EvidenceKind]

    @classmethod
    def of(cls, row: Row, present: set[str], missing: list[str]) -> Self:
        """``row``: the flagged redemption with its provider's and item's names (the service's
        query); ``present``: the kinds it has; ``missing``: the required kinds it lacks."""
        return cls(
            redemption_id=str(row.id),
            provider_id=str(row.provider_id),
            provider_name=row.provider_name,
            item=row.item,
            item_name=row.item_name,
            category=row.category,
            served_at=row.served_at,
            deduction_fen=row.deduction_fen,
            rejected=row.rejected,
            present_kinds=sorted(present),
            missing_kinds=missing,
        )


class MissingEvidencePage(ResponseModel):
    settlement_id: str
    items: list[MissingEvidenceOut]
    total: int
    limit: int
    offset: int
