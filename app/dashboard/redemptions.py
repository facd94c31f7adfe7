"""Redemptions page (issue 15): a district's redemptions, filtered server-side (elder by name or
full ID number, provider, item, service dates, amount range, status, missing evidence) and paged,
with the current filter's XLSX and CSV exports. Elder names are masked; an ID number typed in
the search box is swapped for the elder's id by a redirect, so it never shows in a page or URL.

The routes are included by the providers page's router (app/dashboard/providers.py), which the
dashboard registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.dashboard import list_exports
from app.dashboard.common import Pager, page_size
from app.dashboard.redemptions_filters import (
    NO_ELDER,
    Listed,
    ListQuery,
    PageNumber,
    domain_filters,
)
from app.dashboard.web import User, city_wide, district_name, redirect, render
from app.deps import SessionDep
from app.ids import parse_id
from app.models.elders import Elder
from app.models.providers import Provider
from app.models.reference import CatalogueItem
from app.redemptions import queries
from app.routing import TransactionRetryRoute
from app.rules.identity import mask_id_number, mask_name

router = APIRouter(route_class=TransactionRetryRoute)


@dataclass(frozen=True)
class RowView:
    id: str
    served_at: datetime
    provider_id: str
    provider: str
    elder: str
    item: int
    item_name: str
    amount_fen: int
    ltci_paid_fen: int
    deduction_fen: int
    status: str
    evidence_complete: bool


def _row_view(r: queries.RedemptionRow) -> RowView:
    return RowView(
        id=str(r.id),
        served_at=r.served_at,
        provider_id=str(r.provider_id),
        provider=r.provider_name,
        elder=mask_name(r.elder_name),
        item=r.item,
        item_name=r.item_name,
        amount_fen=r.amount_fen,
        ltci_paid_fen=r.ltci_paid_fen,
        deduction_fen=r.deduction_fen,
        status=r.status,
        evidence_complete=r.evidence_complete,
    )


def _id_number_redirect(request: Request, session: Session, user, q: ListQuery):
    """A full ID number typed in the search box: the same list by the elder's id (or none)."""
    if not q.elder or not queries.looks_like_id_number(q.elder):
        return None
    elder_id = queries.elder_by_id_number(session, q.district, q.elder)
    query = q.link_query(with_district=city_wide(user))
    query.update(elder=None, elder_id=str(elder_id) if elder_id else NO_ELDER)
    return redirect(request, request.url.path.removeprefix(request.scope.get("root_path", "")), **query)


def _chosen_elder(session: Session, q: ListQuery) -> str | None:
    """The elder the list is narrowed to, masked (name and ID number)."""
    if q.elder_id is None:
        return None
    if q.elder_id == NO_ELDER:
        return "该身份证号未匹配到本区老年人"
    f = domain_filters(q)
    row = session.execute(
        select(Elder.name, Elder.id_number).where(Elder.id == f.elder_id, Elder.district_code == q.district)
    ).first()
    return f"{mask_name(row[0])}({mask_id_number(row[1])})" if row else "未找到该老年人"


def _options(session: Session, district: str, provider: str | None) -> dict:
    """The provider and item choices of the filter form."""
    providers = session.execute(
        select(Provider.id, Provider.name).where(Provider.district_code == district).order_by(Provider.name)
    ).all()
    options = [(str(pid), name) for pid, name in providers]
    chosen = parse_id(provider) if provider else None
    if chosen is not None and provider not in {pid for pid, _ in options}:
        # A provider of another district that served this district's elders.
        name = session.scalar(select(Provider.name).where(Provider.id == chosen))
        if name:
            options.insert(0, (provider, name))
    items = session.execute(select(CatalogueItem.item, CatalogueItem.name).order_by(CatalogueItem.item)).all()
    return {"provider_options": options, "item_options": [tuple(i) for i in items]}


@router.get("/redemptions", name="redemptions")
def redemption_list(request: Request, session: SessionDep, user: User, q: Listed, page: PageNumber = 1):
    if (moved := _id_number_redirect(request, session, user, q)) is not None:
        return moved
    f = domain_filters(q)
    size = page_size()
    totals = queries.totals_of(session, f)
    pager = Pager(page, size, totals.count)
    rows = queries.page_of(session, f, limit=size, offset=pager.offset)
    query = q.link_query(with_district=city_wide(user))
    return render(
        request,
        "redemptions/list.html",
        {
            "district": q.district,
            "district_name": district_name(session, q.district),
            "fq": q,
            "months": f.months,
            "month": str(f.months[0]) if f.months[0] == f.months[1] else None,
            "chosen_elder": _chosen_elder(session, q),
            "totals": totals,
            "rows": [_row_view(r) for r in rows],
            "pager": pager,
            "query": query,
            **_options(session, q.district, q.provider),
        },
        session=session,
    )


@router.get("/redemptions/export.{file_format}", name="redemptions_export")
def redemption_export(request: Request, session: SessionDep, user: User, q: Listed, file_format: str):
    if (moved := _id_number_redirect(request, session, user, q)) is not None:
        return moved
    f = domain_filters(q)
    return list_exports.redemptions_response(session, f, file_format)
