"""API shapes of the anomalies module."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import StringConstraints

from app.ids import parse_id
from app.models.anomalies import Anomaly
from app.models.redemptions import Redemption
from app.rules.anomalies import RULES
from app.rules.months import Month
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


# --- built from the tables -------------------------------------------------------------------------
def _evidence_out(evidence: dict | None) -> dict[str, Any]:
    # Ids built in SQL are hex on SQLite and hyphenated on PostgreSQL: show one form.
    out = {}
    for key, value in (evidence or {}).items():
        parsed = parse_id(value) if key.endswith("_id") and isinstance(value, str) else None
        out[key] = str(parsed) if parsed is not None else value
    return out


def _text(value) -> str | None:
    return str(value) if value is not None else None


def anomaly_out(anomaly: Anomaly, redemption: Redemption | None) -> AnomalyOut:
    """The warning with the redemption it names, if any, as it stands now."""
    return AnomalyOut(
        id=str(anomaly.id),
        district_code=anomaly.district_code,
        month=str(Month.of(anomaly.month)),
        rule=anomaly.rule,
        rule_title=RULES[anomaly.rule].title,
        status=anomaly.status,
        redemption_id=_text(anomaly.redemption_id),
        provider_id=_text(anomaly.provider_id),
        elder_id=_text(anomaly.elder_id),
        evidence=_evidence_out(anomaly.evidence),
        redemption=None
        if redemption is None
        else AnomalyRedemption(
            id=str(redemption.id),
            item=redemption.item,
            amount_fen=redemption.amount_fen,
            deduction_fen=redemption.deduction_fen,
            served_at=redemption.served_at,
            created_at=redemption.created_at,
            status=redemption.status,
        ),
        detected_at=anomaly.detected_at,
        detected_by=anomaly.detected_by,
        resolved_at=anomaly.resolved_at,
        resolved_by=anomaly.resolved_by,
        resolution_note=anomaly.resolution_note,
    )
