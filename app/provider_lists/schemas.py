from __future__ import annotations

from datetime import date
from typing import Literal

from app.schemas import BeijingTime, DistrictCode, MonthText, RequestModel, ResponseModel


class ProviderListPublish(RequestModel):
    district_code: DistrictCode
    month: MonthText


class ListEntryOut(ResponseModel):
    provider_id: str
    name: str
    kind: str
    kind_title: str
    credit_code: str
    change: Literal["added", "withdrawn"]
    change_title: str
    to_status: str
    changed_on: date
    changed_at: BeijingTime
    reason: str


class PublicationStateOut(ResponseModel):
    id: str | None
    due_on: date
    published: bool
    published_at: BeijingTime | None
    published_by: str | None
    late: bool
    xlsx_url: str | None


class ProviderListOut(ResponseModel):
    district_code: str
    month: str
    first_list: bool
    complete: bool
    added: int
    withdrawn: int
    entries: list[ListEntryOut]
    publication: PublicationStateOut


class PublicationOut(ResponseModel):
    id: str
    district_code: str
    month: str
    due_on: date
    published_at: BeijingTime
    published_by: str
    late: bool
    added: int
    withdrawn: int
    entries: list[ListEntryOut]
    xlsx_url: str
