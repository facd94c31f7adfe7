"""Evidence for redemptions (二(四)): upload, list, download, and what a batch still lacks.

An upload reads its facts under the redemption's row lock, asks the pure decision
(``app.rules.evidence.decide_upload``: the file, the redemption, its batch) and writes what it
decided: the file stored by content hash, its record in ``redemption_evidence``, the
redemption's completeness and, when the redemption is already in a batch under civil review,
its ``missing_evidence`` flag, so the batch's count stays true.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import app.evidence.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.errors import NotFound, error_for
from app.evidence.schemas import MissingEvidenceOut
from app.evidence.storage import EvidenceStorage, content_key
from app.ids import parse_id
from app.models.evidence import RedemptionEvidence
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem
from app.models.settlements import SettlementBatch, SettlementItem
from app.rules.evidence import (
    AlreadyUploaded,
    FileUpload,
    NewEvidence,
    UploadFacts,
    decide_upload,
    missing_kinds,
)
from app.rules.refusals import Refusal


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
    sha256 = content_key(data)
    facts, existing = _upload_facts(session, redemption, kind, sha256)
    decision = decide_upload(facts, FileUpload(kind, filename, declared_type, data), max_bytes=max_bytes)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    if isinstance(decision, AlreadyUploaded):
        return Upload(existing, created=False)
    # Stored before the row: a file whose row then rolls back is harmless (content-addressed).
    key = storage.put(data)
    evidence = RedemptionEvidence(
        id=uuid.uuid4(),
        redemption_id=redemption.id,
        provider_id=redemption.provider_id,
        district_code=redemption.district_code,
        kind=kind,
        filename=decision.filename,
        content_type=decision.content_type,
        size_bytes=len(data),
        sha256=sha256,
        storage_key=key,
        uploaded_at=clock.now(),
        uploaded_by=caller.actor,
    )
    _record(session, evidence, decision)
    return Upload(evidence, created=True)


def _upload_facts(
    session: Session, redemption: Redemption, kind: str, sha256: str
) -> tuple[UploadFacts, RedemptionEvidence | None]:
    """What the upload decision reads, and the record of the same content if there is one."""
    # The redemption row lock serialises uploads to one redemption, so that two files of
    # different kinds arriving together cannot each miss the other when completeness is set.
    status, was_complete = session.execute(
        select(Redemption.status, Redemption.evidence_complete)
        .where(Redemption.id == redemption.id)
        .with_for_update()
    ).one()
    # FOR SHARE: a concurrent civil-review submission (FOR UPDATE on the batch) either commits
    # first, and this upload sees the batch closed, or waits until this upload has committed.
    batch_status = session.execute(
        select(SettlementBatch.status)
        .join(SettlementItem, SettlementItem.batch_id == SettlementBatch.id)
        .where(SettlementItem.redemption_id == redemption.id)
        .with_for_update(read=True, of=SettlementBatch)
    ).scalar_one_or_none()
    existing = session.scalars(
        select(RedemptionEvidence).where(
            RedemptionEvidence.redemption_id == redemption.id,
            RedemptionEvidence.kind == kind,
            RedemptionEvidence.sha256 == sha256,
        )
    ).first()
    facts = UploadFacts(
        redemption_status=status,
        category=redemption.category,
        was_complete=was_complete,
        batch_status=batch_status,
        present_kinds=frozenset(present_kinds(session, [redemption.id])[redemption.id]),
        already_uploaded=existing is not None,
    )
    return facts, existing


def _record(session: Session, evidence: RedemptionEvidence, decision: NewEvidence) -> None:
    """The new record, the redemption's completeness and its batch item's flag, as decided."""
    session.add(evidence)
    session.flush()
    redemption_id = evidence.redemption_id
    if decision.completeness_changed:
        session.execute(
            update(Redemption)
            .where(Redemption.id == redemption_id)
            .values(evidence_complete=decision.complete)
        )
    if decision.in_batch:
        session.execute(
            update(SettlementItem)
            .where(SettlementItem.redemption_id == redemption_id)
            .values(missing_evidence=not decision.complete)
        )


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


def missing_in_batch(
    session: Session, batch: SettlementBatch, *, limit: int, offset: int
) -> tuple[list[MissingEvidenceOut], int]:
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
    items = [
        MissingEvidenceOut.of(row, present[row.id], missing_kinds(row.category, present[row.id]))
        for row in rows
    ]
    return items, int(total or 0)
