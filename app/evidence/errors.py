"""Errors of evidence uploads (stable codes, Chinese titles); the refusals of the upload rules
(app/rules/evidence.py) are answered with them by code (app.errors.error_for)."""

from __future__ import annotations

from app.errors import AppError


class EvidenceFileMissing(AppError):
    """The record exists but its file is not in storage (lost disk, storage moved): an operations
    fault the caller is told about plainly, not a 500."""

    code, status, title = "EVIDENCE_FILE_MISSING", 404, "凭证文件缺失"


# --- evidence and provider list publication ----------------------------------------------------
class EvidenceTooLarge(AppError):
    code, status, title = "EVIDENCE_TOO_LARGE", 422, "凭证文件超过大小上限"


class EvidenceTypeNotAllowed(AppError):
    code, status, title = "EVIDENCE_TYPE_NOT_ALLOWED", 422, "凭证文件类型不被允许(仅限 PDF、JPEG、PNG)"


class EvidenceEmpty(AppError):
    code, status, title = "EVIDENCE_EMPTY", 422, "凭证文件为空"


class EvidenceLocked(AppError):
    code, status, title = "EVIDENCE_LOCKED", 409, "结算批次已提交民政审核,不能再补充凭证"
