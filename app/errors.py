"""Typed errors with a stable machine ``code`` and a Chinese ``title``, and the one renderer.

Services raise these; the handlers in :func:`install_error_handlers` turn every failure, ours
or the framework's, into ``application/problem+json`` (RFC 9457). Nothing else builds errors.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.rules.refusals import Refusal

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


# Every error class by its code (codes are unique: tests/test_errors.py), so that a decision's
# Refusal becomes its error without a table per domain.
_ERRORS_BY_CODE: dict[str, type[AppError]] = {}


class AppError(Exception):
    code: ClassVar[str] = "ERROR"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "请求无法处理"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _ERRORS_BY_CODE[cls.code] = cls

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        return {
            "type": f"https://voucher.beijing.example/problems/{self.code.lower().replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }


def error_for(refusal: Refusal) -> AppError:
    """The error that answers a pure decision's refusal: the class of the same code, with the
    refusal's message (its title when it has none) and extra problem members."""
    return _ERRORS_BY_CODE[refusal.code](refusal.detail, **dict(refusal.extra))


# --- cross-cutting ---------------------------------------------------------------------------
class ValidationFailed(AppError):
    code, status, title = "VALIDATION_ERROR", 422, "请求参数校验失败"


class NotFound(AppError):
    code, status, title = "NOT_FOUND", 404, "资源不存在"


class MethodNotAllowed(AppError):
    code, status, title = "METHOD_NOT_ALLOWED", 405, "不支持该请求方法"


class Unauthenticated(AppError):
    code, status, title = "UNAUTHENTICATED", 401, "缺少身份凭证"


class InvalidToken(AppError):
    code, status, title = "INVALID_TOKEN", 401, "身份凭证无效"


class Forbidden(AppError):
    code, status, title = "FORBIDDEN", 403, "无权执行该操作"


class DistrictOutOfScope(AppError):
    code, status, title = "DISTRICT_OUT_OF_SCOPE", 403, "无权操作其他区的数据"


class UnknownDistrict(AppError):
    code, status, title = "UNKNOWN_DISTRICT", 422, "行政区划代码不存在"


class InvalidMonth(AppError):
    code, status, title = "INVALID_MONTH", 422, "月份格式应为 YYYY-MM"


class InvalidState(AppError):
    code, status, title = "INVALID_STATE", 409, "当前状态不允许该操作"


class InternalError(AppError):
    code, status, title = "INTERNAL_ERROR", 500, "服务内部错误"


class ServiceUnavailable(AppError):
    code, status, title = "SERVICE_UNAVAILABLE", 503, "服务暂不可用"


# --- reference data --------------------------------------------------------------------------
class NoPolicyForMonth(AppError):
    code, status, title = "NO_POLICY_FOR_MONTH", 404, "该月份不在补贴项目实施期内"


# --- staff and providers ---------------------------------------------------------------------
class InvalidRole(AppError):
    code, status, title = "INVALID_ROLE", 422, "角色与行政区不匹配"


class InvalidCreditCode(AppError):
    code, status, title = "INVALID_CREDIT_CODE", 422, "统一社会信用代码校验失败"


class ProviderExists(AppError):
    code, status, title = "PROVIDER_EXISTS", 409, "该服务机构已在本区登记"


class InvalidParent(AppError):
    code, status, title = "INVALID_PARENT", 422, "上级区域养老服务中心无效"


class InvalidStatusTransition(AppError):
    code, status, title = "INVALID_STATUS_TRANSITION", 409, "服务机构状态变更不被允许"


# --- elders ----------------------------------------------------------------------------------
class InvalidIdNumber(AppError):
    code, status, title = "INVALID_ID_NUMBER", 422, "身份证号码校验失败"


class ElderExists(AppError):
    code, status, title = "ELDER_EXISTS", 409, "该身份证号码已提交申请"


class NotEligible(AppError):
    code, status, title = "NOT_ELIGIBLE", 409, "老年人不符合补贴条件"


class InvalidAssessmentDate(AppError):
    code, status, title = "INVALID_ASSESSMENT_DATE", 422, "评估日期无效"


class ElderNotFound(AppError):
    code, status, title = "ELDER_NOT_FOUND", 404, "未找到该老年人"


def problem_response(error: AppError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error.problem(),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is never echoed back: it may be an ID number or a name.
    return [
        {
            "loc": list(err.get("loc", ())),
            "type": err.get("type"),
            "msg": err.get("msg"),
        }
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {}
        where = ".".join(str(part) for part in first.get("loc", []))
        return problem_response(
            ValidationFailed(f"{where}: {first.get('msg')}" if first else None, errors=errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return problem_response(NotFound())
        if exc.status_code == 405:
            return problem_response(MethodNotAllowed())
        if exc.status_code == 400:
            # FastAPI's "There was an error parsing the body": bytes that are not UTF-8, JSON
            # nested deeper than the parser allows, a broken multipart form. Bad input like any
            # other, with the same code; the input itself is never echoed.
            return problem_response(
                ValidationFailed(
                    "body: 请求体无法解析(须为 UTF-8 编码、嵌套层数有限的 JSON 或表单)",
                    errors=[
                        {
                            "loc": ["body"],
                            "type": "body_unreadable",
                            "msg": "request body could not be parsed",
                        }
                    ],
                )
            )
        error = AppError(str(exc.detail))
        return JSONResponse(
            {**error.problem(), "status": exc.status_code, "code": "HTTP_ERROR"},
            status_code=exc.status_code,
            media_type=PROBLEM_JSON,
        )

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return problem_response(
            ServiceUnavailable("数据库暂不可用，请稍后重试"), headers={"Retry-After": "1"}
        )

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(_request: Request, _exc: PoolTimeoutError) -> JSONResponse:
        log.error("no database connection free in time")
        return problem_response(ServiceUnavailable("服务繁忙，请稍后重试"), headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error: %s", type(exc).__name__)
        return problem_response(InternalError())


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


class MonthNotEnded(AppError):
    code, status, title = "MONTH_NOT_ENDED", 409, "该月份尚未结束"


class InvalidEnrolment(AppError):
    code, status, title = "INVALID_ENROLMENT", 422, "项目登记信息无效"


class MonthNotCurrent(AppError):
    code, status, title = "MONTH_NOT_CURRENT", 409, "只能发放当月的电子消费券"


# --- settlement ------------------------------------------------------------------------------
class SettlementExists(AppError):
    code, status, title = "SETTLEMENT_EXISTS", 409, "该区该月的结算批次已存在"


class AmountMismatch(AppError):
    code, status, title = "AMOUNT_MISMATCH", 422, "支付金额与应付金额不一致"


class InvalidRejection(AppError):
    code, status, title = "INVALID_REJECTION", 422, "核减的核销记录不在本批次中"


class AlreadyPaid(AppError):
    code, status, title = "ALREADY_PAID", 409, "该服务机构本批次已支付"


# --- evidence and provider list publication ----------------------------------------------------
class EvidenceTooLarge(AppError):
    code, status, title = "EVIDENCE_TOO_LARGE", 422, "凭证文件超过大小上限"


class EvidenceTypeNotAllowed(AppError):
    code, status, title = "EVIDENCE_TYPE_NOT_ALLOWED", 422, "凭证文件类型不被允许(仅限 PDF、JPEG、PNG)"


class EvidenceEmpty(AppError):
    code, status, title = "EVIDENCE_EMPTY", 422, "凭证文件为空"


class EvidenceLocked(AppError):
    code, status, title = "EVIDENCE_LOCKED", 409, "结算批次已提交民政审核,不能再补充凭证"


class ListAlreadyPublished(AppError):
    code, status, title = "LIST_ALREADY_PUBLISHED", 409, "该区该月的服务机构变动名单已公布"
