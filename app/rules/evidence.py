"""Evidence for redemptions (二(四)): which files a redemption needs, which files are accepted,
and whether an upload is recorded, as pure rules.

A provider attaches files to its own posted redemptions until the civil reviewer has submitted
the review of the batch holding them (docs/decisions.md). A file is checked by size and by its
magic bytes; the same content for the same redemption and kind is recorded once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from app.rules.refusals import Refusal

EVIDENCE_KINDS = ("service_record", "receipt", "redemption_proof", "residence_agreement", "id_photo")
EVIDENCE_TITLES = {
    "service_record": "服务记录",
    "receipt": "收费单据",
    "redemption_proof": "核销凭证",
    "residence_agreement": "入住协议",
    "id_photo": "身份证或养老助残卡照片",
}
# 二(四): institutions upload 入住协议、服务情况、消费金额、核销凭证; home and community
# providers 服务项目、服务情况、消费金额、收费单据、核销凭证. The amount is in the redemption itself.
# 四(三): before a service the provider checks and photographs the elder's ID card or 养老助残卡
# (核实、拍摄老年人身份证或养老助残卡), so home and community services also need that photo; an
# institution's residents are identified by their residence agreement (docs/decisions.md).
REQUIRED_EVIDENCE = {
    "institution": ("residence_agreement", "service_record", "redemption_proof"),
    "home_community": ("id_photo", "service_record", "receipt", "redemption_proof"),
}


def evidence_complete(category: str, present_kinds: set[str] | frozenset[str]) -> bool:
    """Whether a redemption of ``category`` with files of ``present_kinds`` has everything
    二(四) requires (a category with no requirement is always complete)."""
    return set(REQUIRED_EVIDENCE.get(category, ())) <= set(present_kinds)


def missing_kinds(category: str, present: set[str]) -> list[str]:
    """The kinds 二(四) and 四(三) require of ``category`` that are not ``present``, in order."""
    return [kind for kind in REQUIRED_EVIDENCE.get(category, ()) if kind not in present]


# --- accepted files --------------------------------------------------------------------------
PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
ALLOWED_CONTENT_TYPES = (PDF, JPEG, PNG)
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
# What clients send for these types besides the canonical name.
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF, "image/x-png": PNG}
# A declared type that says nothing: the magic bytes decide alone.
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"\\/]")


def sniff_content_type(data: bytes) -> str | None:
    """The type by magic bytes: PDF, JPEG or PNG; None for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def content_type_or_refusal(data: bytes, declared_type: str | None, *, max_bytes: int) -> str | Refusal:
    """The stored content type of an upload, or the refusal: empty, too large, not an allowed
    type by its magic bytes, or declared as another type than the bytes are."""
    if not data:
        return Refusal("EVIDENCE_EMPTY", "上传的文件为空")
    if len(data) > max_bytes:
        return Refusal("EVIDENCE_TOO_LARGE", f"文件不得超过 {max_bytes} 字节")
    actual = sniff_content_type(data)
    if actual is None:
        return Refusal("EVIDENCE_TYPE_NOT_ALLOWED", "文件内容不是 PDF、JPEG 或 PNG")
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    declared = _ALIASES.get(declared, declared)
    if declared not in _GENERIC_TYPES and declared != actual:
        return Refusal("EVIDENCE_TYPE_NOT_ALLOWED", f"声明的类型 {declared} 与文件内容({actual})不符")
    return actual


def clean_filename(filename: str | None, *, kind: str, content_type: str) -> str:
    """The client's file name without any path, control characters or quotes, at most 255
    characters; a generated one when nothing is left."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        name = f"{kind}{EXTENSIONS[content_type]}"
    return name[-255:]


# --- the upload decision ---------------------------------------------------------------------
# Batches in this status still accept evidence (the civil reviewer has not submitted).
OPEN_BATCH_STATUS = "civil_review"


@dataclass(frozen=True)
class FileUpload:
    """What the provider sent."""

    kind: str
    filename: str | None
    declared_type: str | None
    data: bytes


@dataclass(frozen=True)
class UploadFacts:
    """The redemption as read under its row lock (uploads to it run one at a time)."""

    redemption_status: str
    category: str
    was_complete: bool
    batch_status: str | None  # the settlement batch holding the redemption, if one does
    present_kinds: frozenset[str]
    already_uploaded: bool  # the same content, for the same redemption and kind


@dataclass(frozen=True)
class AlreadyUploaded:
    """Recorded before: the existing record is the answer."""


@dataclass(frozen=True)
class NewEvidence:
    content_type: str
    filename: str
    complete: bool  # the redemption has every required kind with this file
    completeness_changed: bool  # the redemption's flag is to be updated
    in_batch: bool  # the batch item's missing-evidence flag is to follow


def decide_upload(
    facts: UploadFacts, upload: FileUpload, *, max_bytes: int
) -> Refusal | AlreadyUploaded | NewEvidence:
    """The file is checked first, then whether the redemption still takes evidence."""
    content_type = content_type_or_refusal(upload.data, upload.declared_type, max_bytes=max_bytes)
    if isinstance(content_type, Refusal):
        return content_type
    if facts.redemption_status != "posted":
        return Refusal("ALREADY_REVERSED", "已撤销的核销不能上传凭证")
    if facts.batch_status is not None and facts.batch_status != OPEN_BATCH_STATUS:
        return Refusal("EVIDENCE_LOCKED", "该笔核销所在的结算批次已提交民政审核,不能再补充凭证")
    if facts.already_uploaded:
        return AlreadyUploaded()
    complete = evidence_complete(facts.category, facts.present_kinds | {upload.kind})
    return NewEvidence(
        content_type=content_type,
        filename=clean_filename(upload.filename, kind=upload.kind, content_type=content_type),
        complete=complete,
        completeness_changed=complete != facts.was_complete,
        in_batch=facts.batch_status is not None,
    )
