"""The supervision examples of the demo's previous month: the patterns the anomaly rules exist
for, planted as redemptions in one district, and a rectification order (整改) for the provider
behind the night services."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from app.auth.principal import Principal, Role
from app.demo.data import BUSY_DAY_PROVIDER, NIGHT_PROVIDER, OVERLAPPING_SERVICES, PRICE_PROVIDER
from app.demo.redemptions import redeem, upload_evidence
from app.models.providers import Provider
from app.rules.months import BEIJING, Month
from app.sanctions import service as sanctions

# The thirteen services to one elder in a day: (item, amount) in turn.
BUSY_DAY_MENU = [(7, 800), (38, 1200), (46, 1200), (13, 2000), (17, 1500)]


def plant_anomalies(
    session: Session, providers: list[Provider], elders: list[uuid.UUID], month: Month, rng: random.Random
) -> int:
    """Patterns the anomaly rules exist for (docs/anomalies.md), in ``month``: three night home
    services, three prices far above the reference, thirteen services to one elder in one day,
    and two elders served by two providers within half an hour. Each planted elder is a
    different one, taken before the random redemptions so that the vouchers have the balance.
    Returns how many were posted."""
    posted = 0
    for number, (provider_index, elder, item, amount, served_at, evidence) in enumerate(
        _planted(elders, month, rng)
    ):
        provider = providers[provider_index]
        redemption_id = redeem(
            session,
            provider,
            key=f"demo-{month}-planted-{number}",
            elder_id=elder,
            item=item,
            amount_fen=amount,
            served_at=served_at,
            recorded_at=served_at + timedelta(minutes=20),
        )
        if redemption_id is not None:
            posted += 1
            if evidence:
                upload_evidence(session, provider, redemption_id, served_at + timedelta(minutes=30))
    return posted


def _planted(
    elders: list[uuid.UUID], month: Month, rng: random.Random
) -> list[tuple[int, uuid.UUID, int, int, datetime, bool]]:
    """(provider index, elder, item, amount, served_at, evidence uploaded) of each planted service."""
    chosen = rng.sample(elders, min(9, len(elders)))
    night, price, busy, overlap = chosen[0:3], chosen[3:6], chosen[6:7], chosen[7:9]
    last = month.last_day.day

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(month.first_day.replace(day=min(day, last)), time(hour, minute), BEIJING)

    plan = []
    for elder, served in zip(night, (at(6, 23, 20), at(13, 22, 45), at(20, 5, 10)), strict=False):
        plan.append((NIGHT_PROVIDER, elder, 22, 4500, served, False))  # 清洁居室 at night, no record
    for elder, day in zip(price, (9, 16, 23), strict=False):
        plan.append((PRICE_PROVIDER, elder, 17, 2800, at(day, 10), True))  # 洗发, reference max 20 yuan
    for elder in busy:
        for n in range(13):
            item, amount = BUSY_DAY_MENU[n % len(BUSY_DAY_MENU)]
            plan.append((BUSY_DAY_PROVIDER, elder, item, amount, at(11, 8) + timedelta(minutes=40 * n), True))
    for elder, (day, hour), services in zip(overlap, ((12, 9), (19, 14)), OVERLAPPING_SERVICES, strict=False):
        for minute, (provider_index, item, amount) in zip((30, 45), services, strict=True):
            plan.append((provider_index, elder, item, amount, at(day, hour, minute), True))
    return plan


def open_rectification(
    session: Session, staff: dict[str, Principal], provider: Provider, month: Month
) -> None:
    """The district's civil officer orders ``provider`` to rectify its night services."""
    officer = next(
        p
        for p in staff.values()
        if p.role is Role.DISTRICT_CIVIL and p.district_code == provider.district_code
    )
    sanctions.open_rectification(
        session,
        officer,
        provider,
        reason=f"{month} 多笔夜间上门服务预警,服务记录与核销凭证缺失,责令限期整改并补充服务记录",
        working_days=None,
    )
