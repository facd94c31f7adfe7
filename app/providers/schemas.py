from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from app.rules.listing import ListingStatus
from app.schemas import BeijingTime, DistrictCode, RequestModel, ResponseModel


class ProviderKind(StrEnum):
    INSTITUTION = "institution"
    REGIONAL_CENTER = "regional_center"
    PARTNER = "partner"
    STATION = "station"
    HOME_CARE_COMPANY = "home_care_company"
    ASSESSMENT_AGENCY = "assessment_agency"


class ProviderCreate(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    kind: ProviderKind
    district_code: DistrictCode
    credit_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    parent_id: str | None = None


class ProviderStatusUpdate(RequestModel):
    status: ListingStatus
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ProviderOut(ResponseModel):
    id: str
    name: str
    kind: str
    district_code: str
    credit_code: str
    parent_id: str | None
    status: str
    created_at: BeijingTime


class ProviderCreated(ProviderOut):
    api_key: str


class ApiKeyOut(ResponseModel):
    id: str
    api_key: str


class StatusChangeOut(ResponseModel):
    from_status: str | None
    to_status: str
    reason: str
    changed_by: str
    changed_at: BeijingTime


class AgencyConflictOut(ResponseModel):
    credit_code: str
    registrations: list[ProviderOut] = Field(
        description="该组织在各区的全部登记(评估经办机构与养老服务机构并存)"
    )
