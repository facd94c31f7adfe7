"""Request and response shapes of the provider lists; each response is built here (``of``).
The URL of a publication's XLSX comes from the router (its route name), never from here."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from app.models.provider_lists import ProviderListPublication
from app.provider_lists.service import MonthList
from app.rules.months import Month
from app.rules.provider_list import is_late
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


def _counts(entries: list[dict]) -> dict[str, int]:
    return {
        "added": sum(e["change"] == "added" for e in entries),
        "withdrawn": sum(e["change"] == "withdrawn" for e in entries),
    }


class PublicationStateOut(ResponseModel):
    id: str | None
    due_on: date
    published: bool
    published_at: BeijingTime | None
    published_by: str | None
    late: bool
    xlsx_url: str | None

    @classmethod
    def of(cls, listing: MonthList, xlsx_url: str | None) -> Self:
        publication = listing.publication
        if publication is None:
            return cls(
                id=None,
                due_on=listing.due_on,
                published=False,
                published_at=None,
                published_by=None,
                late=is_late(listing.due_on, None, listing.today),
                xlsx_url=None,
            )
        return cls(
            id=str(publication.id),
            due_on=publication.due_on,
            published=True,
            published_at=publication.published_at,
            published_by=publication.published_by,
            late=publication.late,
            xlsx_url=xlsx_url,
        )


class ProviderListOut(ResponseModel):
    district_code: str
    month: str
    first_list: bool
    complete: bool
    added: int
    withdrawn: int
    entries: list[ListEntryOut]
    publication: PublicationStateOut

    @classmethod
    def of(cls, listing: MonthList, xlsx_url: str | None) -> Self:
        """``xlsx_url``: the XLSX of the publication, when the list is published."""
        return cls(
            district_code=listing.district_code,
            month=str(listing.month),
            first_list=listing.first_list,
            complete=listing.complete,
            **_counts(listing.entries),
            entries=listing.entries,
            publication=PublicationStateOut.of(listing, xlsx_url),
        )


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

    @classmethod
    def of(cls, publication: ProviderListPublication, xlsx_url: str) -> Self:
        """The publication as it was published (its stored list)."""
        entries = list(publication.entries)
        return cls(
            id=str(publication.id),
            district_code=publication.district_code,
            month=str(Month.of(publication.month)),
            due_on=publication.due_on,
            published_at=publication.published_at,
            published_by=publication.published_by,
            late=publication.late,
            **_counts(entries),
            entries=entries,
            xlsx_url=xlsx_url,
        )
