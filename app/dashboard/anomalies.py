"""Anomaly warnings pages (issue 7 item 4, issue 15): a district's warnings as a compact table
(one row a warning) filtered by status, rule, provider and month, with exports of the filter; a
detail page per warning with its evidence, the redemptions it names and the form that resolves
it (核查属实 / 核查排除), once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.anomalies import service as anomalies
from app.auth.sessions import SignedIn
from app.dashboard import list_exports
from app.dashboard.anomalies_views import RESOLUTION_TITLES, TITLES, anomaly_views, rule_title
from app.dashboard.common import (
    CIVIL_ROLES,
    NOTE_MAX,
    PAGE_MAX,
    Pager,
    may_act,
    page_size,
    require_civil_officer,
    required_text,
    valid_back_page,
)
from app.dashboard.web import (
    FormUser,
    ScopedDistrict,
    User,
    city_wide,
    district_name,
    parse_month,
    redirect,
    render,
    require_confirmation,
)
from app.deps import SessionDep
from app.errors import ValidationFailed
from app.ids import parse_id
from app.models.providers import Provider
from app.routing import TransactionRetryRoute
from app.rules import anomalies as rules
from app.rules.months import Month

router = APIRouter(route_class=TransactionRetryRoute)

# --- GET /anomalies --------------------------------------------------------------------------

AnomalyStatusFilter = Literal["open", "confirmed", "dismissed", "all"]


def _rule_filter(rule: str | None) -> str | None:
    if not rule:
        return None
    if rule not in rules.RULES:
        raise ValidationFailed(f"未知的预警规则: {rule[:40]}")
    return rule


@dataclass(frozen=True)
class AnomalyQuery:
    """The list's filters: month, rule, status, provider."""

    district: str
    month: Month | None
    rule: str | None
    status: str
    provider: str | None

    def link_query(self, *, with_district: bool) -> dict[str, str | None]:
        return {
            "district": self.district if with_district else None,
            "month": str(self.month) if self.month else None,
            "rule": self.rule,
            "status": self.status,
            "provider": self.provider,
        }

    def search(self, session: Session, user: SignedIn, *, limit: int, offset: int):
        return anomalies.list_anomalies(
            session,
            user.principal,
            district_code=self.district,
            month=self.month,
            status=None if self.status == "all" else self.status,
            rule=self.rule,
            provider_id=self.provider,
            limit=limit,
            offset=offset,
        )


def anomaly_query(
    district: ScopedDistrict,
    month: Annotated[str | None, Query(max_length=7)] = None,
    rule: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[AnomalyStatusFilter, Query()] = "open",
    provider: Annotated[str | None, Query(max_length=36)] = None,
) -> AnomalyQuery:
    if provider and parse_id(provider) is None:
        raise ValidationFailed("服务机构编号不正确")
    return AnomalyQuery(district, parse_month(month) if month else None, _rule_filter(rule), status, provider or None)  # fmt: skip


AnomalyFilters = Annotated[AnomalyQuery, Depends(anomaly_query)]


def _provider_options(session: Session, district: str) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Provider.id, Provider.name).where(Provider.district_code == district).order_by(Provider.name)
    )
    return [(str(pid), name) for pid, name in rows]


@router.get("/anomalies", name="anomalies")
def anomaly_list(
    request: Request,
    session: SessionDep,
    user: User,
    f: AnomalyFilters,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    size = page_size()
    rows, total = f.search(session, user, limit=size, offset=(page - 1) * size)
    counts = anomalies.count_by_status(
        session, district_code=f.district, month=f.month, rule=f.rule, provider_id=parse_id(f.provider or "")
    )
    return render(
        request,
        "anomalies/list.html",
        {
            "district": f.district,
            "district_name": district_name(session, f.district),
            "month": f.month,
            "f": f,
            "status": f.status,
            "counts": counts,
            "anomalies": anomaly_views(session, rows),
            "pager": Pager(page, size, total),
            "query": f.link_query(with_district=city_wide(user)),
            "provider_options": _provider_options(session, f.district),
            "rules": rules.RULES,
            "T": TITLES,
        },
        session=session,
    )


@router.get("/anomalies/export.{file_format}", name="anomalies_export")
def anomaly_export(session: SessionDep, user: User, f: AnomalyFilters, file_format: str):
    def search(read: Session, limit: int, offset: int):
        return anomaly_views(read, f.search(read, user, limit=limit, offset=offset)[0])

    return list_exports.anomalies_response(session, search, f.district, file_format)


@router.get("/anomalies/{anomaly_id}", name="anomaly")
def anomaly_detail(
    request: Request,
    session: SessionDep,
    user: User,
    anomaly_id: str,
    back: AnomalyFilters,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    anomaly = anomalies.get_visible_anomaly(session, user.principal, anomaly_id)
    [view] = anomaly_views(session, [anomaly])
    query = back.link_query(with_district=city_wide(user))
    if city_wide(user):
        query["district"] = anomaly.district_code
    return render(
        request,
        "anomalies/detail.html",
        {
            "district": anomaly.district_code,
            "district_name": district_name(session, anomaly.district_code),
            "a": view,
            "back": {**query, "page": page if page > 1 else None},
            "can_act": may_act(user, CIVIL_ROLES),
            "T": TITLES,
        },
        session=session,
    )


# --- POST /anomalies/{id}/resolve ------------------------------------------------------------


def _back_query(
    user: SignedIn,
    district_code: str,
    month: str | None,
    rule: str | None,
    status: str | None,
    page: str | None,
    provider: str | None = None,
) -> dict[str, str | None]:
    """The list's filters a form came from, kept only when valid (they go back into a URL)."""
    try:
        month = str(Month.parse(month)) if month else None
    except ValueError:
        month = None
    return {
        "district": district_code if city_wide(user) else None,
        "month": month,
        "rule": rule if rule in rules.RULES else None,
        "status": status if status in ("open", "confirmed", "dismissed", "all") else None,
        "provider": provider if provider and parse_id(provider) else None,
        "page": valid_back_page(page),
    }


@router.post("/anomalies/{anomaly_id}/resolve", name="resolve_anomaly")
def resolve_anomaly(
    request: Request,
    session: SessionDep,
    user: FormUser,
    anomaly_id: str,
    resolution: Annotated[Literal["confirmed", "dismissed"], Form()],
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    confirm: Annotated[str | None, Form()] = None,
    back_month: Annotated[str | None, Form(max_length=7)] = None,
    back_rule: Annotated[str | None, Form(max_length=40)] = None,
    back_status: Annotated[str | None, Form(max_length=10)] = None,
    back_page: Annotated[str | None, Form(max_length=6)] = None,
    back_provider: Annotated[str | None, Form(max_length=36)] = None,
):
    require_civil_officer(user)
    require_confirmation(confirm)
    text = required_text(note, "核查说明")
    anomaly = anomalies.get_visible_anomaly(session, user.principal, anomaly_id, for_update=True)
    anomalies.resolve(session, user.principal, anomaly, status=resolution, note=text)
    return redirect(
        request,
        "/anomalies",
        flash=f"已将异常预警“{rule_title(anomaly.rule)}”处理为:{RESOLUTION_TITLES[resolution]}",
        **_back_query(
            user, anomaly.district_code, back_month, back_rule, back_status, back_page, back_provider
        ),
    )
