"""The redemptions list's filters: read from the query string, checked, turned into the domain's
``RedemptionFilters`` and back into a query for links (paging, exports). A full ID number never
goes back into a URL: the page swaps it for the elder's id before anything is shown."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from fastapi import Depends, Query

from app.dashboard.common import PAGE_MAX
from app.dashboard.web import ScopedDistrict, parse_month
from app.errors import ValidationFailed
from app.ids import parse_id
from app.redemptions.queries import RedemptionFilters
from app.rules.months import Month

# The widest date range one list searches (months, inclusive): the index is by month.
MAX_MONTHS = 12
# An elder id that matches no one: a full ID number that found no elder of the district.
NO_ELDER = "none"

StatusFilter = Literal["posted", "reversed", "all"]


@dataclass(frozen=True)
class ListQuery:
    """The raw filters, as the form and the links carry them."""

    district: str
    month: str | None
    date_from: date | None
    date_to: date | None
    elder: str | None
    elder_id: str | None
    provider: str | None
    item: int | None
    amount_min: str | None
    amount_max: str | None
    status: str
    evidence: str | None

    def link_query(self, *, with_district: bool) -> dict[str, object]:
        """The filters for a link (paging, export): never the typed text when it is an ID number."""
        return {
            "district": self.district if with_district else None,
            "month": self.month,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "elder": self.elder,
            "elder_id": self.elder_id,
            "provider": self.provider,
            "item": self.item,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "status": None if self.status == "all" else self.status,
            "evidence": self.evidence,
        }


def list_query(
    district: ScopedDistrict,
    month: Annotated[str | None, Query(max_length=7)] = None,
    date_from: Annotated[str | None, Query(max_length=10)] = None,
    date_to: Annotated[str | None, Query(max_length=10)] = None,
    elder: Annotated[str | None, Query(max_length=64)] = None,
    elder_id: Annotated[str | None, Query(max_length=36)] = None,
    provider: Annotated[str | None, Query(max_length=36)] = None,
    item: Annotated[str | None, Query(max_length=3)] = None,
    amount_min: Annotated[str | None, Query(max_length=14)] = None,
    amount_max: Annotated[str | None, Query(max_length=14)] = None,
    status: Annotated[StatusFilter, Query()] = "all",
    evidence: Annotated[Literal["missing", ""] | None, Query()] = None,
) -> ListQuery:
    return ListQuery(
        district=district,
        month=str(parse_month(month)) if month else None,
        date_from=_day(date_from, "服务日期起"),
        date_to=_day(date_to, "服务日期止"),
        elder=(elder or "").strip() or None,
        elder_id=elder_id or None,
        provider=provider or None,
        item=_item(item),
        amount_min=(amount_min or "").strip() or None,
        amount_max=(amount_max or "").strip() or None,
        status=status,
        evidence=evidence or None,
    )


def _day(text: str | None, what: str) -> date | None:
    """A date field of the form (blank when the browser submits it empty)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{what}应为日期 YYYY-MM-DD") from None


def _item(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 999:
        raise ValidationFailed("服务项目编号应为 1–999")
    return int(text)


Listed = Annotated[ListQuery, Depends(list_query)]
PageNumber = Annotated[int, Query(ge=1, le=PAGE_MAX)]


def fen_of(text: str | None, what: str) -> int | None:
    """A yuan amount typed in the form ("12", "12.5", "1,200.00") as fen."""
    if text is None:
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(f"{what}应为金额(元),如 120 或 120.50") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValidationFailed(f"{what}应为不小于 0、至多两位小数的金额(元)")
    return int(value * 100)


def months_of(q: ListQuery) -> tuple[Month, Month]:
    """The months searched: the date range's (at most MAX_MONTHS), else the month picked."""
    if q.date_from or q.date_to:
        start, end = q.date_from or q.date_to, q.date_to or q.date_from
        if end < start:
            raise ValidationFailed("服务日期的开始日期不能晚于结束日期")
        first, last = Month.of(start), Month.of(end)
        if first.months_until(last) >= MAX_MONTHS:
            raise ValidationFailed(f"服务日期范围最长 {MAX_MONTHS} 个月")
        return first, last
    month = parse_month(q.month)
    return month, month


def _uuid_or_none(text: str | None, what: str) -> uuid.UUID | None:
    if text is None:
        return None
    parsed = parse_id(text)
    if parsed is None:
        raise ValidationFailed(f"{what}编号不正确")
    return parsed


def domain_filters(q: ListQuery) -> RedemptionFilters:
    amount_min = fen_of(q.amount_min, "最低消费金额")
    amount_max = fen_of(q.amount_max, "最高消费金额")
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        raise ValidationFailed("最低消费金额不能高于最高消费金额")
    no_elder = q.elder_id == NO_ELDER
    return RedemptionFilters(
        district_code=q.district,
        months=months_of(q),
        served_from=q.date_from,
        served_to=q.date_to,
        elder_id=uuid.UUID(int=0) if no_elder else _uuid_or_none(q.elder_id, "老年人"),
        elder_name=q.elder,
        provider_id=_uuid_or_none(q.provider, "服务机构"),
        item=q.item,
        amount_min_fen=amount_min,
        amount_max_fen=amount_max,
        status=None if q.status == "all" else q.status,
        missing_evidence=q.evidence == "missing",
    )
