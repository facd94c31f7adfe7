"""Anomaly warnings (四(二) 异常交易预警): recorded in-line as a redemption is posted
(app/redemptions), found by the nightly scan (its rules: app/anomalies/scan.py), listed and
resolved by district staff.

The scan only reads redemptions (MVCC on PostgreSQL): point-of-service redemptions are never
blocked by it. Resolving is facts (the warning, locked) → one pure decision
(app.rules.anomaly_review.decide_resolution) → one write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.anomalies.errors import AnomalyAlreadyResolved, AnomalyNotFound
from app.anomalies.scan import NIGHTLY_RULES, Scan
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.config import anomaly_thresholds as thresholds
from app.db import lock_for_transaction
from app.elders.events import on_death_recorded
from app.ids import parse_id
from app.models.anomalies import ANOMALY_STATUSES, Anomaly
from app.models.elders import Elder
from app.models.redemptions import Redemption
from app.models.reference import District
from app.redemptions.lookups import redemptions_by_ids
from app.rules.anomaly_review import decide_resolution
from app.rules.months import Month
from app.rules.refusals import Refusal


# --- scanning ----------------------------------------------------------------------------------
@dataclass
class ScanResult:
    month: Month
    found: dict[str, int] = field(default_factory=lambda: {code: 0 for code, _ in NIGHTLY_RULES})

    @property
    def total(self) -> int:
        return sum(self.found.values())


def scan_month(session: Session, month: Month, *, district_codes: list[str] | None = None) -> ScanResult:
    """Every rule over the month's posted redemptions, district by district (each statement then
    uses the (district_code, month, status) index). Returns the new warnings per rule."""
    lock_for_transaction(session, f"anomaly_scan:{month}")
    t = thresholds()
    now = clock.now()
    if district_codes is None:
        district_codes = list(session.scalars(select(District.code).order_by(District.code)))
    result = ScanResult(month)
    for code in district_codes:
        scan = Scan(session, code, month, t, now)
        for rule, check in NIGHTLY_RULES:
            result.found[rule] += check(scan)
    session.flush()
    return result


@on_death_recorded
def flag_services_after_death(session: Session, elder_id: uuid.UUID, *, now: datetime) -> int:
    """When a death is recorded: flag the elder's services already posted on or after the day of
    death, in every month from that day to now (the nightly scan covers only recent months)."""
    elder = session.execute(select(Elder.district_code, Elder.died_on).where(Elder.id == elder_id)).one()
    if elder.died_on is None:
        return 0
    found, month = 0, Month.of(elder.died_on)
    while month <= Month.containing(now):
        scan = Scan(session, elder.district_code, month, thresholds(), now, detected_by="death")
        found += scan.service_after_death(elder_id)
        month = month.next()
    return found


# --- reading -----------------------------------------------------------------------------------
def get_visible_anomaly(
    session: Session, caller: Principal, anomaly_id: str, *, for_update: bool = False
) -> Anomaly:
    """The anomaly, if the caller sees its district; 404 otherwise (also for another district's)."""
    parsed = parse_id(anomaly_id)
    if parsed is None:
        raise AnomalyNotFound()
    query = select(Anomaly).where(Anomaly.id == parsed)
    if for_update:
        query = query.with_for_update()
    anomaly = session.scalars(query).one_or_none()
    if anomaly is None or not caller.sees_district(anomaly.district_code):
        raise AnomalyNotFound()
    return anomaly


def list_anomalies(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    month: Month | None,
    status: str | None,
    rule: str | None,
    provider_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Anomaly], int]:
    query = select(Anomaly)
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(Anomaly.district_code == district_code)
    if month is not None:
        query = query.where(Anomaly.month == month.first_day)
    if status is not None:
        query = query.where(Anomaly.status == status)
    if rule is not None:
        query = query.where(Anomaly.rule == rule)
    if provider_id is not None:
        parsed = parse_id(provider_id)
        if parsed is None:
            return [], 0
        query = query.where(Anomaly.provider_id == parsed)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(Anomaly.detected_at.desc(), Anomaly.rule, Anomaly.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


def redemptions_of(session: Session, anomalies: list[Anomaly]) -> dict[uuid.UUID, Redemption]:
    """The redemptions the anomalies name, in one query (shown with each warning)."""
    return redemptions_by_ids(session, {a.redemption_id for a in anomalies if a.redemption_id is not None})


def count_by_status(
    session: Session,
    *,
    district_code: str,
    month: Month | None,
    rule: str | None,
    provider_id: uuid.UUID | None = None,
) -> dict[str, int]:
    """How many warnings of each status a district has (with the page's other filters)."""
    query = select(Anomaly.status, func.count()).where(Anomaly.district_code == district_code)
    if provider_id is not None:
        query = query.where(Anomaly.provider_id == provider_id)
    if month is not None:
        query = query.where(Anomaly.month == month.first_day)
    if rule is not None:
        query = query.where(Anomaly.rule == rule)
    counts = dict.fromkeys(ANOMALY_STATUSES, 0)
    for status, count in session.execute(query.group_by(Anomaly.status)):
        counts[status] = int(count)
    return counts


# --- resolving -----------------------------------------------------------------------------------
def resolve(session: Session, caller: Principal, anomaly: Anomaly, *, status: str, note: str) -> Anomaly:
    """Confirm or dismiss an open warning, once. The row is locked (get_visible_anomaly with
    for_update), so two officers resolving at once get one success and one 409."""
    decision = decide_resolution(anomaly.status, status, note=note, actor=caller.actor, now=clock.now())
    if isinstance(decision, Refusal):
        raise AnomalyAlreadyResolved(decision.detail)
    anomaly.status = decision.status
    anomaly.resolved_at = decision.resolved_at
    anomaly.resolved_by = decision.resolved_by
    anomaly.resolution_note = decision.note
    session.flush()
    return anomaly
