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


class InvalidMonth(AppError):
    code, status, title = "INVALID_MONTH", 422, "月份格式应为 YYYY-MM"


class InvalidState(AppError):
    code, status, title = "INVALID_STATE", 409, "当前状态不允许该操作"


class MonthNotEnded(AppError):
    code, status, title = "MONTH_NOT_ENDED", 409, "该月份尚未结束"


class InternalError(AppError):
    code, status, title = "INTERNAL_ERROR", 500, "服务内部错误"


class ServiceUnavailable(AppError):
    code, status, title = "SERVICE_UNAVAILABLE", 503, "服务暂不可用"


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
