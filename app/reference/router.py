from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import AnyPrincipal, SessionDep
from app.reference import service
from app.reference.schemas import (
    CatalogueItemOut,
    DistrictOut,
    FundingShares,
    PolicyOut,
)
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import MonthText, problem_responses, rate_text

router = APIRouter(
    route_class=TransactionRetryRoute,
    tags=["reference"],
    responses=problem_responses(401, 422),
)


@router.get("/districts", response_model=list[DistrictOut], summary="北京市各区")
def list_districts(session: SessionDep, _caller: AnyPrincipal):
    return service.list_districts(session)


@router.get("/catalogue", response_model=list[CatalogueItemOut], summary="补贴项目清单(附件1)")
def list_catalogue(session: SessionDep, _caller: AnyPrincipal):
    return service.list_catalogue(session)


@router.get(
    "/policy",
    response_model=PolicyOut,
    summary="某月生效的补贴政策",
    responses=problem_responses(404),
)
def get_policy(session: SessionDep, _caller: AnyPrincipal, month: Annotated[MonthText, Query()]):
    parsed = Month.parse(month)
    terms = service.policy_for_month(session, parsed)
    period = service.program_period(session)
    return PolicyOut(
        month=str(parsed),
        home_community_rate=rate_text(terms.home_community_rate),
        institution_rate=rate_text(terms.institution_rate),
        monthly_cap_fen=terms.monthly_cap_fen,
        funding=FundingShares(
            central=rate_text(terms.central_share),
            city=rate_text(terms.city_share),
            district=rate_text(terms.district_share),
        ),
        effective_from=str(terms.effective_from),
        program_first_month=str(period.first_month),
        program_last_month=str(period.last_month),
    )
