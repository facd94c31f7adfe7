"""Providers page (issue 7 item 4): a district's providers by listing status, each with its
sanctions — a blacklist entry, open rectification orders (overdue ones marked) and the
escalations of orders not rectified — and the form that closes an order as rectified.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.dashboard import labels, list_exports
from app.dashboard.common import (
    CIVIL_ROLES,
    PAGE_MAX,
    Pager,
    may_act,
    page_size,
    require_civil_officer,
    required_text,
)
from app.dashboard.web import (
    FormUser,
    ScopedDistrict,
    User,
    city_wide,
    districts,
    redirect,
    render,
    require_confirmation,
)
from app.deps import SessionDep
from app.models.providers import Provider
from app.models.sanctions import BlacklistEntry, RectificationOrder
from app.providers import service as providers
from app.routing import TransactionRetryRoute
from app.rules.listing import ListingStatus
from app.rules.months import BEIJING
from app.rules.sanctions import RectificationStatus, is_overdue
from app.sanctions import blacklist
from app.sanctions import service as rectifications

router = APIRouter(route_class=TransactionRetryRoute)

LISTING_STATUSES = ("listed", "withdrawn", "suspended", "disqualified")

# --- Chinese names ---------------------------------------------------------------------------

RECTIFICATION_SOURCE_TITLES = {"manual": "区民政局责令", "automatic": "抽查问题达到阈值自动发出"}
ESCALATION_TITLES = {"suspend": "暂停参与资格", "disqualify": "取消参与资格"}
# The tables the template reads, as ``T``.
TITLES = {"rectification_source": RECTIFICATION_SOURCE_TITLES, "escalation": ESCALATION_TITLES}

# --- GET /providers --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderView:
    id: str
    status: str
    source: str
    reason: str
    opened_on: date
    due_on: date
    overdue: bool
    closed_at: datetime | None
    escalation_action: str | None

    @classmethod
    def of(cls, order: RectificationOrder, today: date) -> OrderView:
        return cls(
            id=str(order.id),
            status=order.status,
            source=order.source,
            reason=order.reason,
            opened_on=order.opened_on,
            due_on=order.due_on,
            overdue=is_overdue(RectificationStatus(order.status), order.due_on, today),
            closed_at=order.closed_at,
            escalation_action=order.escalation_action,
        )


@dataclass(frozen=True)
class BlacklistView:
    listed_on: date
    district: str
    reason: str

    @classmethod
    def of(cls, entry: BlacklistEntry, district_names: dict[str, str]) -> BlacklistView:
        return cls(
            listed_on=entry.listed_at.astimezone(BEIJING).date(),
            district=district_names.get(entry.district_code, entry.district_code),
            reason=entry.reason,
        )


@dataclass(frozen=True)
class ProviderView:
    id: str
    name: str
    kind: str
    status: str
    credit_code: str
    blacklist: BlacklistView | None
    open_orders: list[OrderView]
    escalations: list[OrderView]


ProviderStatusFilter = Literal["listed", "withdrawn", "suspended", "disqualified", "all"]
ProviderKindFilter = Literal[
    "institution", "regional_center", "partner", "station", "home_care_company", "assessment_agency", ""
]


@dataclass(frozen=True)
class ProviderQuery:
    """The providers list's filters: a name or credit code, a kind, a listing status."""

    district: str
    q: str | None
    kind: str | None
    status: str

    def link_query(self, *, with_district: bool) -> dict[str, str | None]:
        return {
            "district": self.district if with_district else None,
            "q": self.q,
            "kind": self.kind,
            "status": None if self.status == "all" else self.status,
        }

    def search(self, session: Session, *, limit: int | None, offset: int = 0):
        return providers.search_providers(
            session,
            self.district,
            status=None if self.status == "all" else ListingStatus(self.status).value,
            kind=self.kind,
            text=self.q,
            limit=limit,
            offset=offset,
        )


def provider_query(
    district: ScopedDistrict,
    q: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[ProviderKindFilter | None, Query()] = None,
    status: Annotated[ProviderStatusFilter, Query()] = "all",
) -> ProviderQuery:
    return ProviderQuery(district, (q or "").strip() or None, kind or None, status)


ProviderFilters = Annotated[ProviderQuery, Depends(provider_query)]


@router.get("/providers", name="providers")
def provider_list(
    request: Request,
    session: SessionDep,
    user: User,
    f: ProviderFilters,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    size = page_size()
    shown, total, by_status = f.search(session, limit=size, offset=(page - 1) * size)
    counts = {code: by_status.get(code, 0) for code in LISTING_STATUSES}
    # Blacklist entries name the district that listed the provider, which may be another one.
    district_names = dict(districts(session))
    return render(
        request,
        "providers/list.html",
        {
            "district": f.district,
            "district_name": district_names.get(f.district, f.district),
            "status": f.status,
            "f": f,
            "query": f.link_query(with_district=city_wide(user)),
            "counts": counts,
            "total": sum(counts.values()),
            "providers": _provider_views(session, shown, district_names),
            "pager": Pager(page, size, total),
            "can_act": may_act(user, CIVIL_ROLES),
            "kinds": labels.PROVIDER_KIND_TITLES,
            "T": TITLES,
        },
        session=session,
    )


@router.get("/providers/export.{file_format}", name="providers_export")
def provider_export(session: SessionDep, user: User, f: ProviderFilters, file_format: str):
    return list_exports.providers_response(
        session,
        lambda read, limit, offset: f.search(read, limit=limit, offset=offset)[0],
        f.district,
        file_format,
    )


def _provider_views(
    session: Session, shown: list[Provider], district_names: dict[str, str]
) -> list[ProviderView]:
    """The page's providers with their sanctions (two queries for the whole page)."""
    entries = blacklist.active_entries_of(session, {p.credit_code for p in shown})
    orders = rectifications.rectifications_of_providers(
        session, {p.id for p in shown}, (RectificationStatus.OPEN, RectificationStatus.ESCALATED)
    )
    today = clock.today()
    open_by: dict[uuid.UUID, list[OrderView]] = {}
    escalated_by: dict[uuid.UUID, list[OrderView]] = {}
    for o in orders:
        (open_by if o.status == RectificationStatus.OPEN.value else escalated_by).setdefault(
            o.provider_id, []
        ).append(OrderView.of(o, today))
    return [
        ProviderView(
            id=str(p.id),
            name=p.name,
            kind=p.kind,
            status=p.status,
            credit_code=p.credit_code,
            blacklist=BlacklistView.of(entry, district_names)
            if (entry := entries.get(p.credit_code))
            else None,
            open_orders=open_by.get(p.id, []),
            escalations=escalated_by.get(p.id, []),
        )
        for p in shown
    ]


# --- POST /rectifications/{id}/close ---------------------------------------------------------


@router.post("/rectifications/{order_id}/close", name="close_rectification")
def close_rectification(
    request: Request,
    session: SessionDep,
    user: FormUser,
    order_id: str,
    note: Annotated[str, Form(max_length=500)] = "",
    confirm: Annotated[str | None, Form()] = None,
    back_status: Annotated[str | None, Form(max_length=12)] = None,
):
    require_civil_officer(user)
    require_confirmation(confirm)
    text = required_text(note, "整改完成情况")
    order = rectifications.get_visible_order(session, user.principal, order_id, for_update=True)
    rectifications.close_rectification(session, user.principal, order, note=text)
    name = session.scalar(select(Provider.name).where(Provider.id == order.provider_id))
    return redirect(
        request,
        "/providers",
        flash=f"已确认“{name}”整改完成,整改通知已结束",
        district=order.district_code if city_wide(user) else None,
        status=back_status if back_status in (*LISTING_STATUSES, "all") else None,
    )
