"""District progress reports (staff: district staff their own district, city-wide roles any)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse

from app.auth.principal import Principal, Role
from app.deps import SessionDep, StaffPrincipal, require_roles
from app.exports import XLSX_MEDIA_TYPE
from app.reports import annual, service, submissions
from app.reports.schemas import (
    AnnualReportOut,
    QuarterlyReportOut,
    ReportSubmissionOut,
    ReportSubmit,
    ScheduledReportOut,
    scheduled_report_out,
    submission_out,
)
from app.reports.xlsx import (
    annual_filename,
    quarterly_filename,
    write_annual_xlsx,
    write_quarterly_xlsx,
    xlsx_download,
)
from app.routing import TransactionRetryRoute
from app.schemas import DistrictCode, problem_responses

router = APIRouter(
    prefix="/reports",
    route_class=TransactionRetryRoute,
    tags=["reports"],
    responses=problem_responses(401, 403, 422),
)

# 各区民政部门、财政部门 report (三(二), 三(三)); a city admin may record a report on a district's behalf.
ReportSubmitter = Annotated[
    Principal, Depends(require_roles(Role.CITY_ADMIN, Role.DISTRICT_CIVIL, Role.DISTRICT_FINANCE))
]
DistrictQuery = Annotated[DistrictCode, Query(description="行政区划代码")]
YearQuery = Annotated[int, Query(ge=2000, le=2099, description="年度,如 2026")]
QuarterQuery = Annotated[int, Query(ge=1, le=4, description="季度 1-4")]


@router.get("/quarterly", response_model=QuarterlyReportOut, summary="区季度进展报告")
def quarterly_report(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: DistrictQuery,
    year: YearQuery,
    quarter: QuarterQuery,
):
    return service.quarterly_report(session, caller, district_code=district_code, year=year, quarter=quarter)


def _xlsx_responses(description: str) -> dict:
    return {
        200: {
            "description": description,
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


@router.get(
    "/quarterly.xlsx",
    response_class=StreamingResponse,
    summary="区季度进展报告 XLSX",
    responses=_xlsx_responses("XLSX:各月及本季度指标"),
)
def quarterly_report_xlsx(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: DistrictQuery,
    year: YearQuery,
    quarter: QuarterQuery,
):
    report = service.quarterly_report(
        session, caller, district_code=district_code, year=year, quarter=quarter
    )
    return xlsx_download(write_quarterly_xlsx, report, quarterly_filename)


@router.get("/annual", response_model=AnnualReportOut, summary="区年度工作总结(数据部分;12月10日前报送)")
def annual_report(session: SessionDep, caller: StaffPrincipal, district_code: DistrictQuery, year: YearQuery):
    return annual.annual_report(session, caller, district_code=district_code, year=year)


@router.get(
    "/annual.xlsx",
    response_class=StreamingResponse,
    summary="区年度工作总结 XLSX",
    responses=_xlsx_responses("XLSX:本年各月及全年指标、监督管理情况"),
)
def annual_report_xlsx(
    session: SessionDep, caller: StaffPrincipal, district_code: DistrictQuery, year: YearQuery
):
    report = annual.annual_report(session, caller, district_code=district_code, year=year)
    return xlsx_download(write_annual_xlsx, report, annual_filename)


@router.post(
    "/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportSubmissionOut,
    summary="报送季度报告或年度工作总结(记录报送人、时间、是否逾期及当时数据)",
    responses=problem_responses(409),
)
def submit_report(body: ReportSubmit, session: SessionDep, caller: ReportSubmitter):
    submission = submissions.submit(
        session,
        caller,
        district_code=body.district_code,
        kind=body.kind,
        year=body.year,
        quarter=body.quarter,
        summary=body.summary,
    )
    return submission_out(submission)


@router.get(
    "/submissions",
    response_model=list[ScheduledReportOut],
    summary="某年应报送的报告及报送情况(区工作人员本区;市级全部)",
)
def report_schedule(
    session: SessionDep,
    caller: StaffPrincipal,
    year: YearQuery,
    district_code: Annotated[DistrictCode | None, Query(description="行政区划代码")] = None,
):
    rows = submissions.schedule(session, caller, district_code=district_code, year=year)
    return [scheduled_report_out(row) for row in rows]
