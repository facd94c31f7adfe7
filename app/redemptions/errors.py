"""Errors of the redemptions (stable codes, Chinese titles)."""

from __future__ import annotations

from app.errors import AppError


# --- point of service ------------------------------------------------------------------------
class IdempotencyKeyRequired(AppError):
    code, status, title = (
        "IDEMPOTENCY_KEY_REQUIRED",
        400,
        "缺少或无效的 Idempotency-Key 请求头",
    )


class IdempotencyKeyReused(AppError):
    code, status, title = (
        "IDEMPOTENCY_KEY_REUSED",
        422,
        "同一 Idempotency-Key 已用于不同的请求",
    )


class NoActiveVoucher(AppError):
    code, status, title = "NO_ACTIVE_VOUCHER", 409, "当前没有有效的电子消费券"


class VoucherExhausted(AppError):
    code, status, title = "VOUCHER_EXHAUSTED", 409, "电子消费券余额已用完"


class ElderNotEligible(AppError):
    code, status, title = "ELDER_NOT_ELIGIBLE", 409, "老年人当前不具备补贴资格"


class ProviderNotListed(AppError):
    code, status, title = "PROVIDER_NOT_LISTED", 403, "服务机构不在补贴服务名单内"


class ItemNotAllowed(AppError):
    code, status, title = "ITEM_NOT_ALLOWED", 422, "该类服务机构不得提供此项目"


class NotRedeemable(AppError):
    code, status, title = "NOT_REDEEMABLE", 422, "该服务不得使用电子消费券核销"


class IdNotChecked(AppError):
    code, status, title = "ID_NOT_CHECKED", 422, "服务前须核验老年人身份证或养老助残卡"


class InvalidAmount(AppError):
    code, status, title = "INVALID_AMOUNT", 422, "消费金额无效"


class UnknownItem(AppError):
    code, status, title = "UNKNOWN_ITEM", 422, "补贴项目清单中没有该项目"


class ServedAtOutOfRange(AppError):
    code, status, title = (
        "SERVED_AT_OUT_OF_RANGE",
        422,
        "服务时间须在消费券当月且不晚于当前时间",
    )


class MonthClosed(AppError):
    code, status, title = "MONTH_CLOSED", 409, "消费券所属月份已结束"


class AlreadyReversed(AppError):
    code, status, title = "ALREADY_REVERSED", 409, "该笔核销已撤销"


class VoucherClosed(AppError):
    code, status, title = "VOUCHER_CLOSED", 409, "电子消费券已作废"


class InSettlement(AppError):
    code, status, title = "IN_SETTLEMENT", 409, "该笔核销已进入结算,不能撤销"
