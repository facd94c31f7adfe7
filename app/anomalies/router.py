"""Anomaly warnings (四(二)): list and resolve, by district and month.

Staff see the warnings of the districts they see (district staff their own, auditors and city
admins all); providers see none. A district's civil-affairs staff (or a city admin) resolve them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from app.anomalies import service
from app.anomalies.schemas import AnomalyOut, AnomalyPage, AnomalyResolve, anomaly_out
from app.deps import RegistryOfficer, SessionDep, StaffPrincipal
from app.models.anomalies import Anomaly
from app.routing import TransactionRetryRoute
from app.rules.anomalies import RULE_CODES
from app.rules.months import Month
from app.schemas import MAX_OFFSET, DistrictCode, MonthText, problem_responses

router = APIRouter(
    prefix="/anomalies",
    route_class=TransactionRetryRoute,
    tags=["anomalies"],
    responses=problem_responses(401, 403, 404, 422),
)

RuleCode = Literal[RULE_CODES]  # type: ignore[valid-type]


def _with_redemption(session, anomaly: Anomaly) -> AnomalyOut:
    return anomaly_out(anomaly, service.redemptions_of(session, [anomaly]).get(anomaly.redemption_id))


def visible_anomaly(
    anomaly_id: str, request: Request, session: SessionDep, caller: StaffPrincipal
) -> Anomaly:
    # Resolving locks the row (two officers at once: one succeeds, one gets 409); reads don't.
    writing = request.method not in ("GET", "HEAD")
    return service.get_visible_anomaly(session, caller, anomaly_id, for_update=writing)


VisibleAnomaly = Annotated[Anomaly, Depends(visible_anomaly)]


@router.get("", response_model=AnomalyPage, summary="异常交易预警列表(按区、月份、状态)")
def list_anomalies(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    month: Annotated[MonthText | None, Query()] = None,
    status: Annotated[Literal["open", "confirmed", "dismissed"] | None, Query()] = None,
    rule: Annotated[RuleCode | None, Query()] = None,
    provider_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    rows, total = service.list_anomalies(
        session,
        caller,
        district_code=district_code,
        month=Month.parse(month) if month else None,
        status=status,
        rule=rule,
        provider_id=provider_id,
        limit=limit,
        offset=offset,
    )
    redemptions = service.redemptions_of(session, rows)
    return AnomalyPage(
        items=[anomaly_out(a, redemptions.get(a.redemption_id)) for a in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{anomaly_id}", response_model=AnomalyOut, summary="异常交易预警详情")
def get_anomaly(anomaly: VisibleAnomaly, session: SessionDep):
    return _with_redemption(session, anomaly)


@router.post(
    "/{anomaly_id}/resolve",
    response_model=AnomalyOut,
    summary="处理异常交易预警(核查属实或排除,须填写核查说明)",
    responses=problem_responses(409),
)
def resolve_anomaly(
    caller: RegistryOfficer, body: AnomalyResolve, anomaly: VisibleAnomaly, session: SessionDep
):
    service.resolve(session, caller, anomaly, status=body.status.value, note=body.note)
    return _with_redemption(session, anomaly)
