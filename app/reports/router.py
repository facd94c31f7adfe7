"""District progress reports (staff: district staff their own district, city-wide roles any)."""

from __future__ import annotations

import tempfile
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.deps import SessionDep, StaffPrincipal
from app.reports import service
from app.reports.schemas import QuarterlyReportOut
from app.reports.xlsx import (
    XLSX_MEDIA_TYPE,
    content_disposition,
    file_chunks,
    quarterly_filename,
    write_quarterly_xlsx,
)
from app.routing import TransactionRetryRoute
from app.schemas import DistrictCode, problem_responses

router = APIRouter(
    prefix="/reports",
    route_class=TransactionRetryRoute,
    tags=["reports"],
    responses=problem_responses(401, 403, 422),
)

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


@router.get(
    "/quarterly.xlsx",
    response_class=StreamingResponse,
    summary="区季度进展报告 XLSX",
    responses={
        200: {
            "description": "XLSX:各月及本季度指标",
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
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
    out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    try:
        write_quarterly_xlsx(report, out)
    except BaseException:
        out.close()
        raise
    filename, fallback = quarterly_filename(report)
    return StreamingResponse(
        file_chunks(out),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": content_disposition(filename, fallback)},
    )
