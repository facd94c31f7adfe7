from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StringConstraints

from app.models.providers import Provider
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

    @classmethod
    def of(cls, provider: Provider) -> Self:
        return cls(
            id=str(provider.id),
            name=provider.name,
            kind=provider.kind,
            district_code=provider.district_code,
            credit_code=provider.credit_code,
            parent_id=str(provider.parent_id) if provider.parent_id else None,
            status=provider.status,
            created_at=provider.created_at,
        )


class ProviderCreated(ProviderOut):
    api_key: str  # shown once: only its hash is stored

    @classmethod
    def of_new(cls, provider: Provider, api_key: str) -> Self:
        return cls(**ProviderOut.of(provider).model_dump(), api_key=api_key)


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

    @classmethod
    def of(cls, credit_code: str, registrations: list[Provider]) -> Self:
        return cls(credit_code=credit_code, registrations=[ProviderOut.of(p) for p in registrations])
