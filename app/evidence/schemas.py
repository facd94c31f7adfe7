from __future__ import annotations

from enum import StrEnum

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


class MissingEvidencePage(ResponseModel):
    settlement_id: str
    items: list[MissingEvidenceOut]
    total: int
    limit: int
    offset: int
