"""The staff registry's request and response shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from app.auth.principal import Role
from app.schemas import BeijingTime, DistrictCode, RequestModel, ResponseModel


class StaffCreate(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    role: Role
    district_code: DistrictCode | None = None


class StaffOut(ResponseModel):
    id: str
    name: str
    role: str
    district_code: str | None
    active: bool
    created_at: BeijingTime


class StaffCreated(StaffOut):
    token: str
