"""Schema pieces shared by several modules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, StringConstraints

from app.rules.months import BEIJING

MonthText = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
DistrictCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
# Instants leave the service in Beijing time with an explicit offset (RFC 3339).
BeijingTime = Annotated[
    datetime,
    PlainSerializer(
        lambda value: value.astimezone(BEIJING).isoformat(), return_type=str
    ),
]


class RequestModel(BaseModel):
    """Request bodies: unknown fields are refused, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Problem(BaseModel):
    """An error (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries so that the OpenAPI document lists every error shape."""
    return {
        status: {
            "model": Problem,
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
