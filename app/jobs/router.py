from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.anomalies.schemas import AnomalyScanOut
from app.deps import CityAdmin, SessionDep, StaffPrincipal
from app.jobs import service
from app.jobs.schemas import EligibilityRefreshOut, ExpireOut, IssueOut, JobMonth, JobRunOut
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import problem_responses

router = APIRouter(
    route_class=TransactionRetryRoute,
    prefix="/jobs",
    tags=["jobs"],
    responses=problem_responses(401, 403, 422),
)


@router.post(
    "/issue",
    response_model=IssueOut,
    summary="发放当月电子消费券(可重复执行)",
    responses=problem_responses(409),
)
def issue(body: JobMonth, session: SessionDep, caller: CityAdmin):
    result, run = service.run_issue(session, Month.parse(body.month), trigger=f"api:{caller.actor}")
    return IssueOut(
        month=str(result.month),
        issued=result.issued,
        already_issued=result.already_issued,
        job_run_id=run.id,
    )


@router.post(
    "/expire",
    response_model=ExpireOut,
    summary="某月电子消费券到期失效(可重复执行)",
    responses=problem_responses(409),
)
def expire(body: JobMonth, session: SessionDep, caller: CityAdmin):
    result, run = service.run_expire(session, Month.parse(body.month), trigger=f"api:{caller.actor}")
    return ExpireOut(
        month=str(result.month),
        expired=result.expired,
        released_fen=result.released_fen,
        job_run_id=run.id,
    )


@router.post(
    "/anomaly-scan",
    response_model=AnomalyScanOut,
    summary="扫描某月核销的异常交易预警(可重复执行,不会重复预警)",
    responses=problem_responses(409),
)
def anomaly_scan(body: JobMonth, session: SessionDep, caller: CityAdmin):
    result, run = service.run_anomaly_scan(session, Month.parse(body.month), trigger=f"api:{caller.actor}")
    return AnomalyScanOut(
        month=str(result.month), new_anomalies=result.total, by_rule=result.found, job_run_id=run.id
    )


@router.post(
    "/refresh-eligibility",
    response_model=EligibilityRefreshOut,
    summary="按今日重新判定老年人资格(每日任务;可重复执行)",
)
def refresh_eligibility(session: SessionDep, caller: CityAdmin):
    changed, run = service.run_refresh_eligibility(session, trigger=f"api:{caller.actor}")
    return EligibilityRefreshOut(day=run.period, changed=changed, job_run_id=run.id)


@router.get("/runs", response_model=list[JobRunOut], summary="任务执行记录")
def runs(
    session: SessionDep,
    _caller: StaffPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    return [
        JobRunOut(
            id=run.id,
            job=run.job,
            period=str(Month.of(run.period)),
            status=run.status,
            trigger=run.trigger,
            counts=run.counts,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )
        for run in service.list_runs(session, limit=limit)
    ]
