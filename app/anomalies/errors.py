"""Errors of the anomalies module (stable codes; rendered by app.errors)."""

from __future__ import annotations

from app.errors import AppError


class AnomalyNotFound(AppError):
    code, status, title = "ANOMALY_NOT_FOUND", 404, "未找到该异常预警"


class AnomalyAlreadyResolved(AppError):
    code, status, title = "ANOMALY_ALREADY_RESOLVED", 409, "该异常预警已处理,不能再次处理"


class ScanMonthNotStarted(AppError):
    code, status, title = "SCAN_MONTH_NOT_STARTED", 409, "该月份尚未开始,不能扫描异常"
