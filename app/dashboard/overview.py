"""The month overview of a district (the dashboard's home page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.config import get_settings
from app.dashboard.charts import daily_bar_chart
from app.dashboard.web import ScopedDistrict, User, district_name, parse_month, render
from app.deps import SessionDep
from app.elders import service as elders
from app.reports.overview import month_overview

router = APIRouter()


@router.get("/", name="overview")
def overview(
    request: Request,
    session: SessionDep,
    user: User,
    district: ScopedDistrict,
    month: Annotated[str | None, Query(max_length=7)] = None,
):
    shown = parse_month(month)
    data = month_overview(session, district, shown)
    within = get_settings().eligibility.assessment_expiry_notice_days
    _rows, expiring = elders.expiring_assessments(
        session, user.principal, district_code=district, within_days=within, limit=1, offset=0
    )
    return render(
        request,
        "overview.html",
        {
            "district": district,
            "district_name": district_name(session, district),
            "month": shown,
            "data": data,
            "chart": daily_bar_chart(data.daily),
            "expiring": {"within_days": within, "total": expiring},
        },
        session=session,
    )
