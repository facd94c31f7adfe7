"""Errors of the reports module."""

from __future__ import annotations

from app.errors import AppError


class ReportAlreadySubmitted(AppError):
    code, status, title = "REPORT_ALREADY_SUBMITTED", 409, "该报告已报送"


class ReportNotDue(AppError):
    code, status, title = "REPORT_NOT_DUE", 409, "报告期尚未开始"
