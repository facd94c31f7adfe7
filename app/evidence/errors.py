"""Errors of the evidence module (the older ones still live in app/errors.py), and the error
each refusal of the upload rules (app/rules/evidence.py) is answered with."""

from __future__ import annotations

from app.errors import (
    AlreadyReversed,
    AppError,
    EvidenceEmpty,
    EvidenceLocked,
    EvidenceTooLarge,
    EvidenceTypeNotAllowed,
)
from app.rules.refusal import Refusal


class EvidenceFileMissing(AppError):
    """The record exists but its file is not in storage (lost disk, storage moved): an operations
    fault the caller is told about plainly, not a 500."""

    code, status, title = "EVIDENCE_FILE_MISSING", 404, "凭证文件缺失"


_REFUSALS: dict[str, type[AppError]] = {
    error.code: error
    for error in (AlreadyReversed, EvidenceEmpty, EvidenceLocked, EvidenceTooLarge, EvidenceTypeNotAllowed)
}


def refused(refusal: Refusal) -> AppError:
    return _REFUSALS[refusal.code](refusal.detail)
