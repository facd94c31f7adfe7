"""Errors of the settlements (stable codes, Chinese titles)."""

from __future__ import annotations

from app.errors import AppError


# --- settlement ------------------------------------------------------------------------------
class SettlementExists(AppError):
    code, status, title = "SETTLEMENT_EXISTS", 409, "该区该月的结算批次已存在"


class AmountMismatch(AppError):
    code, status, title = "AMOUNT_MISMATCH", 422, "支付金额与应付金额不一致"


class InvalidRejection(AppError):
    code, status, title = "INVALID_REJECTION", 422, "核减的核销记录不在本批次中"


class AlreadyPaid(AppError):
    code, status, title = "ALREADY_PAID", 409, "该服务机构本批次已支付"
