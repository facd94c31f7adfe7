"""Errors of the jobs (stable codes, Chinese titles)."""

from __future__ import annotations

from app.errors import AppError


class MonthNotCurrent(AppError):
    code, status, title = "MONTH_NOT_CURRENT", 409, "只能发放当月的电子消费券"
