from __future__ import annotations

from datetime import date

from app.schemas import BeijingTime, MonthText, RequestModel, ResponseModel


class JobMonth(RequestModel):
    month: MonthText


class IssueOut(ResponseModel):
    month: str
    issued: int
    already_issued: int
    job_run_id: int


class ExpireOut(ResponseModel):
    month: str
    expired: int
    released_fen: int
    job_run_id: int


class EligibilityRefreshOut(ResponseModel):
    day: date
    changed: int
    job_run_id: int


class JobRunOut(ResponseModel):
    id: int
    job: str
    period: str
    status: str
    trigger: str
    counts: dict
    started_at: BeijingTime
    finished_at: BeijingTime | None
