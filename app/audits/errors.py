"""Errors of audit samples and findings (stable codes, Chinese titles)."""

from __future__ import annotations

from app.errors import AppError


class ElderNotSampled(AppError):
    code, status, title = "ELDER_NOT_SAMPLED", 422, "该老年人不在本次抽查样本中"


class InvalidFinding(AppError):
    code, status, title = "INVALID_FINDING", 422, "抽查结论涉及的核销记录无效"
