"""Reports page (issue 12 item 7): the reports a district owes this year (三(二) quarterly by
3/25, 6/25, 9/25, 12/25; 三(三) the annual work summary by 12/10) with their due days and
submissions, the XLSX of each, and the form that records a submission."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request

from app import clock
from app.auth.principal import Role
from app.dashboard.common import may_act, require_role
from app.dashboard.web import (
    FormUser,
    ScopedDistrict,
    User,
    district_name,
    redirect,
    render,
    require_confirmation,
    scoped_district,
)
from app.deps import SessionDep
from app.reports import annual as annual_reports
from app.reports import service as quarterly_reports
from app.reports import submissions
from app.reports.xlsx import (
    annual_filename,
    quarterly_filename,
    write_annual_xlsx,
    write_quarterly_xlsx,
    xlsx_download,
)
from app.routing import TransactionRetryRoute

router = APIRouter(route_class=TransactionRetryRoute)

# 各区民政部门、财政部门 report; a city admin may record a report on a district's behalf.
SUBMITTER_ROLES = frozenset({Role.DISTRICT_CIVIL, Role.DISTRICT_FINANCE, Role.CITY_ADMIN})
Year = Annotated[int, Query(ge=2000, le=2099)]


@router.get("/reports", name="reports")
def reports_page(
    request: Request, session: SessionDep, user: User, district: ScopedDistrict, year: Year | None = None
):
    shown = year or clock.today().year
    rows = submissions.schedule(session, user.principal, district_code=district, year=shown)
    return render(
        request,
        "reports/list.html",
        {
            "district": district,
            "district_name": district_name(session, district),
            "year": shown,
            "rows": rows,
            "can_submit": may_act(user, SUBMITTER_ROLES),
            "today": clock.today(),
        },
        session=session,
    )


@router.post("/reports/submit", name="submit_report")
def submit_report(
    request: Request,
    session: SessionDep,
    user: FormUser,
    year: Annotated[int, Form(ge=2000, le=2099)],
    report: Annotated[Literal["Q1", "Q2", "Q3", "Q4", "annual"], Form()],
    summary: Annotated[str, Form(max_length=20_000)] = "",
    confirm: Annotated[str | None, Form()] = None,
    district: Annotated[str | None, Form(max_length=6)] = None,
):
    require_role(user, SUBMITTER_ROLES, "只有区民政局、区财政局工作人员可以报送报告")
    require_confirmation(confirm)
    district = scoped_district(session, user, district)
    kind, quarter = ("annual", None) if report == "annual" else ("quarterly", int(report[1]))
    submissions.submit(
        session,
        user.principal,
        district_code=district,
        kind=kind,
        year=year,
        quarter=quarter,
        summary=summary.strip() or None,
    )
    return redirect(request, "/reports", flash="报告已报送并留存报送记录", district=district, year=year)


@router.get("/reports/quarterly.xlsx", name="quarterly_xlsx")
def quarterly_xlsx(
    session: SessionDep,
    user: User,
    district: ScopedDistrict,
    year: Year,
    quarter: Annotated[int, Query(ge=1, le=4)],
):
    report = quarterly_reports.quarterly_report(
        session, user.principal, district_code=district, year=year, quarter=quarter
    )
    return xlsx_download(write_quarterly_xlsx, report, quarterly_filename)


@router.get("/reports/annual.xlsx", name="annual_xlsx")
def annual_xlsx(session: SessionDep, user: User, district: ScopedDistrict, year: Year):
    report = annual_reports.annual_report(session, user.principal, district_code=district, year=year)
    return xlsx_download(write_annual_xlsx, report, annual_filename)
