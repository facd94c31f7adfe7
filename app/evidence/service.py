"""Evidence for redemptions (二(四)): upload, list, download, and what a batch still lacks.

A provider attaches files to its own redemptions until the civil reviewer has submitted the
review of the batch holding them (see docs/decisions.md). Files are checked by size and by
their magic bytes, stored by content hash, and recorded in ``redemption_evidence``; when the
redemption is already in a batch under civil review, its ``missing_evidence`` flag is
recomputed so the batch's count stays true.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.errors import (
    AlreadyReversed,
    EvidenceEmpty,
    EvidenceLocked,
    EvidenceTooLarge,
    EvidenceTypeNotAllowed,
    NotFound,
)
from app.evidence.storage import EvidenceStorage, content_key
from app.ids import parse_id
from app.models.evidence import RedemptionEvidence
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem
from app.models.settlements import SettlementBatch, SettlementItem
from app.rules.evidence import REQUIRED_EVIDENCE, evidence_complete

log = logging.getLogger(__name__)

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
ALLOWED_CONTENT_TYPES = (PDF, JPEG, PNG)
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
# What clients send for these types besides the canonical name.
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF, "image/x-png": PNG}
# A declared type that says nothing: the magic bytes decide alone.
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
# Batches in this status still accept evidence (the civil reviewer has not submitted).
OPEN_BATCH_STATUS = "civil_review"


def sniff_content_type(data: bytes) -> str | None:
    """The type by magic bytes: PDF, JPEG or PNG; None for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def check_content(data: bytes, declared_type: str | None, *, max_bytes: int) -> str:
    """The stored content type of an upload, or the refusal: empty, too large, not an allowed
    type by its magic bytes, or declared as another type than the bytes are."""
    if not data:
        raise EvidenceEmpty("上传的文件为空")
    if len(data) > max_bytes:
        raise EvidenceTooLarge(f"文件不得超过 {max_bytes} 字节")
    actual = sniff_content_type(data)
    if actual is None:
        raise EvidenceTypeNotAllowed("文件内容不是 PDF、JPEG 或 PNG")
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    declared = _ALIASES.get(declared, declared)
    if declared not in _GENERIC_TYPES and declared != actual:
        raise EvidenceTypeNotAllowed(f"声明的类型 {declared} 与文件内容({actual})不符")
    return actual


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/]")


def clean_filename(filename: str | None, *, kind: str, content_type: str) -> str:
    """The client's file name without any path, control characters or quotes, at most 255
    characters; a generated one when nothing is left."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        name = f"{kind}{EXTENSIONS[content_type]}"
    return name[-255:]


@dataclass(frozen=True)
class Upload:
    evidence: RedemptionEvidence
    created: bool


def upload(
    session: Session,
    caller: Principal,
    redemption: Redemption,
    *,
    kind: str,
    filename: str | None,
    declared_type: str | None,
    data: bytes,
    max_bytes: int,
    storage: EvidenceStorage,
) -> Upload:
    """Attach a file to the caller's own redemption. The same content for the same redemption
    and kind is recorded once (the existing record is returned, ``created`` false)."""
    content_type = check_content(data, declared_type, max_bytes=max_bytes)
    # The redemption row lock serialises uploads to one redemption, so that two files of
    # different kinds arriving together cannot each miss the other when completeness is set.
    status, was_complete = session.execute(
        select(Redemption.status, Redemption.evidence_complete)
        .where(Redemption.id == redemption.id)
        .with_for_update()
    ).one()
    if status != "posted":
        raise AlreadyReversed("已撤销的核销不能上传凭证")
    # FOR SHARE: a concurrent civil-review submission (FOR UPDATE on the batch) either commits
    # first, and this upload sees the batch closed, or waits until this upload has committed.
    batch_status = session.execute(
        select(SettlementBatch.status)
        .join(SettlementItem, SettlementItem.batch_id == SettlementBatch.id)
        .where(SettlementItem.redemption_id == redemption.id)
        .with_for_update(read=True, of=SettlementBatch)
    ).scalar_one_or_none()
    if batch_status is not None and batch_status != OPEN_BATCH_STATUS:
        raise EvidenceLocked("该笔核销所在的结算批次已提交民政审核,不能再补充凭证")
    sha256 = content_key(data)
    existing = session.scalars(
        select(RedemptionEvidence).where(
            RedemptionEvidence.redemption_id == redemption.id,
            RedemptionEvidence.kind == kind,
            RedemptionEvidence.sha256 == sha256,
        )
    ).first()
    if existing is not None:
        return Upload(existing, created=False)
    key = storage.put(data)
    evidence = RedemptionEvidence(
        id=uuid.uuid4(),
        redemption_id=redemption.id,
        provider_id=redemption.provider_id,
        district_code=redemption.district_code,
        kind=kind,
        filename=clean_filename(filename, kind=kind, content_type=content_type),
        content_type=content_type,
        size_bytes=len(data),
        sha256=sha256,
        storage_key=key,
        uploaded_at=clock.now(),
        uploaded_by=caller.actor,
    )
    session.add(evidence)
    session.flush()
    present = set(
        session.scalars(
            select(RedemptionEvidence.kind)
            .where(RedemptionEvidence.redemption_id == redemption.id)
            .distinct()
        )
    )
    complete = evidence_complete(redemption.category, present)
    if complete != was_complete:
        session.execute(
            update(Redemption).where(Redemption.id == redemption.id).values(evidence_complete=complete)
        )
    if batch_status is not None:
        session.execute(
            update(SettlementItem)
            .where(SettlementItem.redemption_id == redemption.id)
            .values(missing_evidence=not complete)
        )
    return Upload(evidence, created=True)


def list_for_redemption(session: Session, redemption: Redemption) -> list[RedemptionEvidence]:
    return list(
        session.scalars(
            select(RedemptionEvidence)
            .where(RedemptionEvidence.redemption_id == redemption.id)
            .order_by(RedemptionEvidence.uploaded_at, RedemptionEvidence.id)
        )
    )


def get_visible_evidence(session: Session, caller: Principal, evidence_id: str) -> RedemptionEvidence:
    """The evidence, if the caller may see its redemption: the provider that uploaded it, or
    staff of the redemption's district (and city-wide roles). Otherwise 404."""
    parsed = parse_id(evidence_id)
    evidence = session.get(RedemptionEvidence, parsed) if parsed else None
    if evidence is None:
        raise NotFound("未找到该凭证")
    if caller.provider_id is not None:
        if evidence.provider_id != caller.provider_id:
            raise NotFound("未找到该凭证")
    elif not caller.sees_district(evidence.district_code):
        raise NotFound("未找到该凭证")
    return evidence


def present_kinds(session: Session, redemption_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The evidence kinds each redemption has, in one query (the redemptions of one page)."""
    present: dict[uuid.UUID, set[str]] = defaultdict(set)
    if redemption_ids:
        for redemption_id, kind in session.execute(
            select(RedemptionEvidence.redemption_id, RedemptionEvidence.kind)
            .where(RedemptionEvidence.redemption_id.in_(redemption_ids))
            .distinct()
        ):
            present[redemption_id].add(kind)
    return present


def missing_kinds(category: str, present: set[str]) -> list[str]:
    """The kinds 二(四) and 四(三) require of ``category`` that are not ``present``, in order."""
    return [kind for kind in REQUIRED_EVIDENCE.get(category, ()) if kind not in present]


def missing_in_batch(
    session: Session, batch: SettlementBatch, *, limit: int, offset: int
) -> tuple[list[dict], int]:
    """The batch's redemptions flagged as lacking required evidence, a page at a time, each
    with the kinds it has and the kinds it still lacks."""
    flagged = (SettlementItem.batch_id == batch.id, SettlementItem.missing_evidence.is_(True))
    total = session.scalar(select(func.count()).select_from(SettlementItem).where(*flagged))
    rows = session.execute(
        select(
            Redemption.id,
            Redemption.provider_id,
            Provider.name.label("provider_name"),
            Redemption.item,
            CatalogueItem.name.label("item_name"),
            Redemption.category,
            Redemption.served_at,
            Redemption.deduction_fen,
            SettlementItem.rejected,
        )
        .select_from(SettlementItem)
        .join(Redemption, Redemption.id == SettlementItem.redemption_id)
        .join(Provider, Provider.id == Redemption.provider_id)
        .join(CatalogueItem, CatalogueItem.item == Redemption.item)
        .where(*flagged)
        .order_by(Provider.name, Redemption.served_at, Redemption.id)
        .limit(limit)
        .offset(offset)
    ).all()
    present = present_kinds(session, [row.id for row in rows])
    items = []
    for row in rows:
        have = present[row.id]
        items.append(
            {
                "redemption_id": str(row.id),
                "provider_id": str(row.provider_id),
                "provider_name": row.provider_name,
                "item": row.item,
                "item_name": row.item_name,
                "category": row.category,
                "served_at": row.served_at,
                "deduction_fen": row.deduction_fen,
                "rejected": row.rejected,
                "present_kinds": sorted(have),
                "missing_kinds": missing_kinds(row.category, have),
            }
        )
    return items, int(total or 0)
