"""Errors of the evidence module (the older ones still live in app/errors.py), and the error
each refusal of the upload rules (app/rules/evidence.py) is answered with."""

from __future__ import annotations

from app.errors import (
    AppError,
)


class EvidenceFileMissing(AppError):
    """The record exists but its file is not in storage (lost disk, storage moved): an operations
    fault the caller is told about plainly, not a 500."""

    code, status, title = "EVIDENCE_FILE_MISSING", 404, "凭证文件缺失"
