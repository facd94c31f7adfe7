"""One elder's page: the masked identity and facts, the status and its history (who, when, why),
vouchers, redemptions (paginated), assessments and programme enrolments, and the forms a
district civil officer may use on it (posted to elders_actions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app import clock
from app.assessments import service as assessments
from app.auth.principal import Role
from app.dashboard import elders_views as views
from app.dashboard import labels
from app.dashboard.common import (
    CIVIL_ROLES,
    PAGE_MAX,
    Pager,
    actor_names,
    load_names,
    may_act,
    page_size,
    redemption_view,
)
from app.dashboard.web import User, city_wide, district_name, render
from app.deps import SessionDep
from app.elders import enrolments, history, service
from app.elders.eligibility import assessment_valid_until_of, current_eligibility
from app.models.elders import Elder
from app.redemptions import service as redemptions
from app.rules.eligibility import ALLOWANCE_TIERS, REASON_TITLES, Benefit
from app.rules.identity import mask_name
from app.vouchers import service as vouchers

router = APIRouter()


@router.get("/elders/{elder_id}", name="elder_detail")
def elder_detail(
    request: Request,
    session: SessionDep,
    user: User,
    elder_id: str,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    elder = service.get_visible_elder(session, user.principal, elder_id)
    today = clock.today()
    return render(
        request,
        "elders/detail.html",
        {
            "district": elder.district_code,
            "district_name": district_name(session, elder.district_code),
            "elder": views.elder_row(elder, today),
            "facts": _facts(elder, today),
            "history": _history(session, elder),
            "vouchers": [
                vouchers.voucher_out(v, clock.now()) for v in vouchers.list_vouchers(session, elder.id, None)
            ],
            "redemptions": _redemptions(session, user, elder, page),
            "assessments": _assessments(session, elder),
            "enrolments": _enrolments(session, elder),
            "may_act": may_act(user, CIVIL_ROLES),
            "is_city_admin": may_act(user, frozenset({Role.CITY_ADMIN})),
            "back_district": elder.district_code if city_wide(user) else None,
            "views": views,
            "benefits": list(Benefit),
            "tiers": ALLOWANCE_TIERS,
        },
        session=session,
    )


def _facts(elder: Elder, today) -> dict:
    eligibility = current_eligibility(elder, today)
    return {
        "residency": elder.residency,
        "benefits": list(elder.benefits),
        "tier": elder.disability_allowance_tier,
        "eligible": eligibility.eligible,
        "reasons": [REASON_TITLES.get(code, code) for code in eligibility.reasons],
        "valid_until": assessment_valid_until_of(elder),
        "created_at": elder.created_at,
        "approved_at": elder.approved_at,
        "suspended_at": elder.suspended_at,
        "last_voucher_month": elder.last_voucher_month,
        "died_on": elder.died_on,
    }


def _history(session, elder: Elder) -> list[dict]:
    changes = history.status_history(session, elder)
    names = actor_names(
        session,
        [c.changed_by for c in changes],
        titles=views.ACTOR_TITLES,
        system_title=labels.SUPERVISION_SYSTEM_ACTOR_TITLE,
    )
    return [
        {
            "at": c.changed_at,
            "from_status": c.from_status,
            "to_status": c.to_status,
            "reason": views.CHANGE_REASON_TITLES.get(c.reason or "", c.reason or "—"),
            "note": c.note,
            "by": names.get(c.changed_by, c.changed_by),
        }
        for c in reversed(changes)
    ]


def _redemptions(session, user, elder: Elder, page: int) -> dict:
    size = page_size()
    rows, total = redemptions.list_redemptions(
        session,
        user.principal,
        month=None,
        provider_id=None,
        elder_id=str(elder.id),
        district_code=elder.district_code,
        limit=size,
        offset=(page - 1) * size,
    )
    names = load_names(session, provider_ids={r.provider_id for r in rows}, items={r.item for r in rows})
    return {"pager": Pager(page, size, total), "rows": [redemption_view(r, names) for r in rows]}


def _assessments(session, elder: Elder) -> list[dict]:
    found = assessments.elder_assessments(session, elder)
    agencies = assessments.agency_names(session, found)
    return [
        {
            "assessed_on": a.assessed_on,
            "agency": agencies.get(a.agency_id, "—"),
            "assessor": mask_name(a.assessor_name),
            "level": a.final_level,
            "total": a.total,
            "valid_until": a.valid_until,
            "status": a.status,
        }
        for a in found
    ]


def _enrolments(session, elder: Elder) -> list[dict]:
    found = enrolments.list_enrolments(session, elder)
    names = load_names(session, provider_ids={e.provider_id for e in found})
    return [
        {
            "kind": e.kind,
            "provider": names.provider(e.provider_id),
            "starts_on": e.starts_on,
            "ends_on": e.ends_on,
        }
        for e in found
    ]
