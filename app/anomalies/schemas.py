"""API shapes of the anomalies module."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import StringConstraints

from app.schemas import BeijingTime, RequestModel, ResponseModel


class Resolution(StrEnum):
    CONFIRMED = "confirmed"  # 经核查属实
    DISMISSED = "dismissed"  # 经核查排除


class AnomalyResolve(RequestModel):
    status: Resolution
    note: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AnomalyRedemption(ResponseModel):
    """The redemption a warning is about, as it stands now."""

    id: str
    item: int
    amount_fen: int
    deduction_fen: int
    served_at: BeijingTime
    created_at: BeijingTime
    status: str


class AnomalyOut(ResponseModel):
    id: str
    district_code: str
    month: str
    rule: str
    rule_title: str
    status: str
    redemption_id: str | None
    provider_id: str | None
    elder_id: str | None
    evidence: dict[str, Any]
    redemption: AnomalyRedemption | None
    detected_at: BeijingTime
    detected_by: str
    resolved_at: BeijingTime | None
    resolved_by: str | None
    resolution_note: str | None


class AnomalyPage(ResponseModel):
    items: list[AnomalyOut]
    total: int
    limit: int
    offset: int


class AnomalyScanOut(ResponseModel):
    month: str
    new_anomalies: int
    by_rule: dict[str, int]
    job_run_id: int
