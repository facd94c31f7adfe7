"""Elders whose ability assessment ends soon (issue 12 item 3): the district arranges their
re-assessment before the voucher stops (二(二): a month's voucher needs an assessment valid on
its first day)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app import clock
from app.config import get_settings
from app.dashboard.common import PAGE_MAX, Pager, page_size
from app.dashboard.web import ScopedDistrict, User, district_name, render
from app.deps import SessionDep
from app.elders import service as elders
from app.elders.schemas import ExpiringAssessment
from app.rules.identity import mask_name

router = APIRouter()


@router.get("/elders/expiring", name="expiring_assessments")
def expiring(
    request: Request,
    session: SessionDep,
    user: User,
    district: ScopedDistrict,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    within = get_settings().eligibility.assessment_expiry_notice_days
    size = page_size()
    rows, total = elders.expiring_assessments(
        session,
        user.principal,
        district_code=district,
        within_days=within,
        limit=size,
        offset=(page - 1) * size,
    )
    today = clock.today()
    return render(
        request,
        "elders/expiring.html",
        {
            "district": district,
            "district_name": district_name(session, district),
            "within_days": within,
            "pager": Pager(page, size, total),
            "rows": [_row(ExpiringAssessment.of(elder, valid_until, today)) for elder, valid_until in rows],
        },
        session=session,
    )


def _row(item: ExpiringAssessment) -> dict:
    """The API's row as the page shows it, the name masked as well."""
    return {
        "name": mask_name(item.name),
        "id_number": item.id_number_masked,
        "status": item.status,
        "level": item.disability_level,
        "assessed_on": item.assessed_on,
        "valid_until": item.assessment_valid_until,
        "days_left": item.days_left,
    }
