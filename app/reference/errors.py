"""Errors of the reference (stable codes, Chinese titles)."""

from __future__ import annotations

from app.errors import AppError


class UnknownDistrict(AppError):
    code, status, title = "UNKNOWN_DISTRICT", 422, "行政区划代码不存在"


# --- reference data --------------------------------------------------------------------------
class NoPolicyForMonth(AppError):
    code, status, title = "NO_POLICY_FOR_MONTH", 404, "该月份不在补贴项目实施期内"
