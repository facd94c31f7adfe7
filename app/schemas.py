"""Schema pieces shared by several modules."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from app.rules.months import BEIJING


def _exact(value: Any) -> Any:
    """Codes are matched as sent: request bodies strip surrounding whitespace from strings
    (``RequestModel``), which must not turn ``"2026-10\\n"`` into a month, as query parameters
    never did. Runs before that stripping."""
    if isinstance(value, str) and value != value.strip():
        raise ValueError("no leading or trailing whitespace allowed")
    return value


# Years 1900-2099: the program's months with room, and no calendar overflow at the edges.
MonthText = Annotated[
    str, BeforeValidator(_exact), StringConstraints(pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$")
]
# Pagination offsets beyond this are a client bug (and would overflow 64-bit SQL integers).
MAX_OFFSET = 10_000_000
DistrictCode = Annotated[str, BeforeValidator(_exact), StringConstraints(pattern=r"^[0-9]{6}$")]
# Instants leave the service in Beijing time with an explicit offset (RFC 3339).
BeijingTime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.astimezone(BEIJING).isoformat(), return_type=str),
]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}.*")


def _iso_text(pattern: re.Pattern[str], form: str, native: type, first_year: int):
    # JSON has no date type, and a number (or a numeric string) is a client bug, not a Unix
    # timestamp: only the ISO text form is accepted (or a native value built in Python). Years
    # are bounded so that no time-zone conversion leaves the calendar, and times start in 2000
    # (Asia/Shanghai before 1901 is local mean time, +08:05:43, not an RFC 3339 offset).
    def check(value: Any) -> Any:
        if isinstance(value, native) or (isinstance(value, str) and pattern.fullmatch(value)):
            year = value.year if isinstance(value, native) else int(value[:4])
            if first_year <= year <= 2099:
                return value
            raise ValueError(f"year must be between {first_year} and 2099")
        raise ValueError(f"expected {form}")

    return check


IsoDate = Annotated[date, BeforeValidator(_iso_text(_ISO_DATE, "a date YYYY-MM-DD", date, 1900))]
IsoDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text(_RFC3339, "an RFC 3339 time with offset", datetime, 2000)),
]


def _refuse_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_nul(item)
    if isinstance(value, list):
        for item in value:
            _refuse_nul(item)
    return value


class RequestModel(BaseModel):
    """Request bodies: unknown fields are refused, so a typo never silently does nothing;
    NUL characters (which PostgreSQL text cannot hold) are refused everywhere."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        return _refuse_nul(data)


class Problem(BaseModel):
    """An error (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


PROBLEM_DESCRIPTIONS = {
    400: "请求头缺失或无效(如 IDEMPOTENCY_KEY_REQUIRED)",
    401: "缺少或无效的身份凭证(UNAUTHENTICATED、INVALID_TOKEN)",
    403: "无权执行该操作",
    404: "资源不存在,或不在调用方可见范围内",
    409: "当前状态不允许该操作",
    422: (
        "请求无效:字段校验失败,或请求体无法解析(非 UTF-8 编码、JSON 嵌套过深、表单损坏),"
        "均为 VALIDATION_ERROR 并附 errors;其余业务校验见各错误码"
    ),
    503: "服务暂不可用,稍后重试",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries so that the OpenAPI document lists every error shape."""
    return {
        status: {
            "model": Problem,
            "description": PROBLEM_DESCRIPTIONS.get(status, "错误(application/problem+json)"),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def rate_text(rate: Decimal) -> str:
    """An exact rate as the contract's decimal string: at least two places, no float on the way
    (0.5 -> "0.50", 0.075 -> "0.075")."""
    places = max(2, -rate.normalize().as_tuple().exponent)
    return f"{rate:.{places}f}"


class ResponseModel(BaseModel):
    """Response bodies, readable straight from ORM rows."""

    model_config = ConfigDict(from_attributes=True)
