"""The elders workbench (issue 15): the district's elders with search and filters, the pending
applications one tab away, and the elders whose ability assessment ends soon (issue 12 item 3:
the district arranges their re-assessment before the voucher stops, 二(二)).

Searching by a full ID number posts the number (never in a URL): a match opens the elder's page,
and the list only ever shows the number masked. Detail and actions: elders_detail, elders_actions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from app import clock
from app.config import get_settings
from app.dashboard import elders_actions, elders_detail
from app.dashboard.common import PAGE_MAX, Pager, page_size
from app.dashboard.elders_views import (
    CHANGE_REASON_TITLES,
    clean_filters,
    elder_row,
    search_echo,
)
from app.dashboard.web import (
    FormUser,
    ScopedDistrict,
    User,
    city_wide,
    district_name,
    href,
    render,
    scoped_district,
    set_flash,
)
from app.deps import SessionDep
from app.elders import queries
from app.elders import service as elders
from app.elders.schemas import ExpiringAssessment
from app.models.elders import ELDER_STATUSES
from app.rules.eligibility import REASON_TITLES
from app.rules.identity import mask_name, normalise_id_number

router = APIRouter()

Text = Annotated[str | None, Query(max_length=64)]
Code = Annotated[str | None, Query(max_length=40)]


def expiry_days() -> int:
    return get_settings().eligibility.assessment_expiry_notice_days


@router.get("/elders", name="elders")
def elder_list(
    request: Request,
    session: SessionDep,
    user: User,
    district: ScopedDistrict,
    q: Text = None,
    status: Code = None,
    level: Code = None,
    reason: Code = None,
    expiring: Annotated[int | None, Query(ge=0, le=1)] = None,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    within = expiry_days()
    filters = clean_filters(q, status, level, reason, within if expiring else None)
    size = page_size()
    rows, total = queries.search_elders(
        session, user.principal, district_code=district, filters=filters, limit=size, offset=(page - 1) * size
    )
    counts = queries.status_counts(session, user.principal, district_code=district, filters=filters)
    today = clock.today()
    shown = search_echo(filters.text)
    # The query the tabs, the pager and the filters keep (a full ID number never: only masked).
    keep = {
        "district": district if city_wide(user) else None,
        "q": shown or None,
        "level": filters.level,
        "reason": filters.reason,
        "expiring": 1 if filters.expiring_within else None,
    }
    return render(
        request,
        "elders/list.html",
        {
            "district": district,
            "district_name": district_name(session, district),
            "filters": filters,
            "search_text": shown,
            "within_days": within,
            "statuses": ELDER_STATUSES,
            "counts": counts,
            "all_count": sum(counts.values()),
            "reason_titles": REASON_TITLES,
            "change_titles": CHANGE_REASON_TITLES,
            "keep": keep,
            "page_query": {**keep, "status": filters.status},
            "pager": Pager(page, size, total),
            "rows": [elder_row(elder, today) for elder in rows],
        },
        session=session,
    )


@router.post("/elders/search", name="search_elders")
def search(
    request: Request,
    session: SessionDep,
    user: FormUser,
    q: Annotated[str, Form(max_length=64)] = "",
    district: Annotated[str | None, Form(max_length=6)] = None,
    status: Annotated[str | None, Form(max_length=40)] = None,
    level: Annotated[str | None, Form(max_length=40)] = None,
    reason: Annotated[str | None, Form(max_length=40)] = None,
    expiring: Annotated[str | None, Form(max_length=1)] = None,
) -> RedirectResponse:
    """The search form: a full ID number opens its elder (or says none is found) without ever
    putting the number in a URL; anything else shows the list filtered by it."""
    code = scoped_district(session, user, district or None)
    picked = code if city_wide(user) else None
    full = normalise_id_number(q)
    if full is not None:
        found = elders.find_by_id_number(session, full)
        # City-wide roles find the elder in any district, the others in their own.
        if found is not None and (picked is not None or found.district_code == code):
            there = found.district_code if picked else None
            return RedirectResponse(href(request, f"/elders/{found.id}", district=there), status_code=303)
        response = RedirectResponse(href(request, "/elders", district=picked), status_code=303)
        set_flash(response, "error", "未找到该身份证号码对应的老年人")
        return response
    filters = clean_filters(q, status, level, reason, 1 if expiring == "1" else None)
    target = href(
        request,
        "/elders",
        district=picked,
        q=filters.text,
        status=filters.status,
        level=filters.level,
        reason=filters.reason,
        expiring=1 if filters.expiring_within else None,
    )
    return RedirectResponse(target, status_code=303)


@router.get("/elders/expiring", name="expiring_assessments")
def expiring(
    request: Request,
    session: SessionDep,
    user: User,
    district: ScopedDistrict,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    within = expiry_days()
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
        "id": item.elder_id,
        "name": mask_name(item.name),
        "id_number": item.id_number_masked,
        "status": item.status,
        "level": item.disability_level,
        "assessed_on": item.assessed_on,
        "valid_until": item.assessment_valid_until,
        "days_left": item.days_left,
    }


# After the fixed paths: /elders/{elder_id} and its forms.
router.include_router(elders_detail.router)
router.include_router(elders_actions.router)
