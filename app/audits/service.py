"""Audit samples (四(二): districts spot-check 1 % of the elders who redeemed): drawn once,
stored with their whole population, and verifiable by anyone from the published seed.

Drawing is facts (the population: app/audits/population.py) → one pure decision
(app.rules.sampling.plan_draw, with a fresh random seed) → one write (the sample and its units).
Findings on the drawn elders are app/audits/findings.py.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.audits.population import population_of
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.errors import MonthNotEnded, NotFound
from app.ids import parse_id
from app.models.audits import AuditFinding, AuditSample, AuditSampleUnit
from app.models.elders import Elder
from app.models.redemptions import Redemption
from app.reference.service import ensure_district
from app.rules import sampling
from app.rules.months import Month
from app.rules.refusals import Refusal


@dataclass(frozen=True)
class Drawn:
    sample: AuditSample
    created: bool


# --- drawing ---------------------------------------------------------------------------------
def draw_sample(session: Session, caller: Principal, *, district_code: str, month: Month, kind: str) -> Drawn:
    """The sample of this district, month and kind: drawn now with a fresh random seed if it
    does not exist, else the one drawn before (never drawn twice)."""
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    existing = _find(session, district_code, month, kind)
    if existing is not None:
        return Drawn(existing, created=False)
    now = clock.now()
    units = population_of(session, district_code, month, kind)
    plan = sampling.plan_draw(month, units, secrets.token_hex(32), now)
    if isinstance(plan, Refusal):
        raise MonthNotEnded(plan.detail)
    return _store(session, caller, plan, district_code=district_code, month=month, kind=kind, now=now)


def _store(
    session: Session,
    caller: Principal,
    plan: sampling.DrawPlan,
    *,
    district_code: str,
    month: Month,
    kind: str,
    now: datetime,
) -> Drawn:
    sample = AuditSample(
        id=uuid.uuid4(),
        district_code=district_code,
        month=month.first_day,
        kind=kind,
        method=sampling.METHOD,
        seed=plan.seed,
        population=len(plan.population),
        sample_size=len(plan.drawn),
        population_sha256=plan.population_sha256,
        drawn_at=now,
        drawn_by=caller.actor,
    )
    try:
        # The unique (district, month, kind) settles two officers asking at the same moment.
        with session.begin_nested():
            session.add(sample)
            session.flush()
    except IntegrityError:
        return Drawn(_find(session, district_code, month, kind), created=False)
    if plan.population:
        position = plan.positions()
        session.execute(
            insert(AuditSampleUnit),
            [
                {
                    "sample_id": sample.id,
                    "elder_id": uuid.UUID(unit.elder_id),
                    "stratum": unit.stratum,
                    "drawn": unit.elder_id in position,
                    "draw_position": position.get(unit.elder_id),
                }
                for unit in plan.population
            ],
        )
    return Drawn(sample, created=True)


def _find(session: Session, district_code: str, month: Month, kind: str) -> AuditSample | None:
    return session.scalars(
        select(AuditSample).where(
            AuditSample.district_code == district_code,
            AuditSample.month == month.first_day,
            AuditSample.kind == kind,
        )
    ).one_or_none()


# --- reading -----------------------------------------------------------------------------------
def get_visible_sample(session: Session, caller: Principal, sample_id: str) -> AuditSample:
    parsed = parse_id(sample_id)
    sample = session.get(AuditSample, parsed) if parsed else None
    if sample is None or not caller.sees_district(sample.district_code):
        raise NotFound("未找到该抽查样本")
    return sample


def list_samples(
    session: Session, caller: Principal, *, district_code: str | None, month: Month | None, kind: str | None
) -> list[AuditSample]:
    query = select(AuditSample).order_by(
        AuditSample.month.desc(), AuditSample.district_code, AuditSample.kind
    )
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(AuditSample.district_code == district_code)
    if month is not None:
        query = query.where(AuditSample.month == month.first_day)
    if kind is not None:
        query = query.where(AuditSample.kind == kind)
    return list(session.scalars(query))


def drawn_elder_ids(session: Session, sample: AuditSample) -> list[str]:
    return [
        str(elder_id)
        for elder_id in session.scalars(
            select(AuditSampleUnit.elder_id)
            .where(AuditSampleUnit.sample_id == sample.id, AuditSampleUnit.drawn.is_(True))
            .order_by(AuditSampleUnit.draw_position)
        )
    ]


def drawn_elders(session: Session, sample: AuditSample) -> list[tuple[uuid.UUID, str, str]]:
    """The drawn elders in draw order as (id, name, ID number), for callers that mask them."""
    rows = session.execute(
        select(Elder.id, Elder.name, Elder.id_number)
        .join(AuditSampleUnit, AuditSampleUnit.elder_id == Elder.id)
        .where(AuditSampleUnit.sample_id == sample.id, AuditSampleUnit.drawn.is_(True))
        .order_by(AuditSampleUnit.draw_position)
    )
    return [(elder_id, name, id_number) for elder_id, name, id_number in rows]


def stored_population(session: Session, sample: AuditSample) -> list[sampling.Unit]:
    return [
        sampling.Unit(str(elder_id), stratum)
        for elder_id, stratum in session.execute(
            select(AuditSampleUnit.elder_id, AuditSampleUnit.stratum)
            .where(AuditSampleUnit.sample_id == sample.id)
            .order_by(AuditSampleUnit.elder_id)
        )
    ]


def verify(session: Session, sample: AuditSample) -> sampling.Verification:
    """Recompute the draw from the published seed and the stored population, and the
    population from today's data (app.rules.sampling.verify)."""
    stored = sampling.StoredSample(
        method=sample.method,
        seed=sample.seed,
        population=sample.population,
        sample_size=sample.sample_size,
        population_sha256=sample.population_sha256,
    )
    live = population_of(session, sample.district_code, Month.of(sample.month), sample.kind)
    return sampling.verify(stored, stored_population(session, sample), drawn_elder_ids(session, sample), live)


def findings_count(session: Session, sample: AuditSample) -> int:
    """How many of the sample's elders have a finding recorded."""
    return findings_counts(session, [sample])[sample.id]


def findings_counts(session: Session, samples: list[AuditSample]) -> dict[uuid.UUID, int]:
    """findings_count of several samples in one query (sample id -> elders with a finding)."""
    if not samples:
        return {}
    counts = dict.fromkeys((s.id for s in samples), 0)
    for sample_id, elders in session.execute(
        select(AuditFinding.sample_id, func.count(func.distinct(AuditFinding.elder_id)))
        .where(AuditFinding.sample_id.in_(list(counts)))
        .group_by(AuditFinding.sample_id)
    ):
        counts[sample_id] = int(elders)
    return counts


# --- the dashboard's page of a sample ------------------------------------------------------------
def drawn_units(session: Session, sample: AuditSample, *, limit: int, offset: int) -> list[AuditSampleUnit]:
    """A page of the sample's drawn elders, in draw order, with their strata."""
    return list(
        session.scalars(
            select(AuditSampleUnit)
            .where(AuditSampleUnit.sample_id == sample.id, AuditSampleUnit.drawn.is_(True))
            .order_by(AuditSampleUnit.draw_position)
            .limit(limit)
            .offset(offset)
        )
    )


def sampled_redemptions(
    session: Session, sample: AuditSample, elder_ids: list[uuid.UUID]
) -> list[Redemption]:
    """The posted redemptions of the sample's district and month of these elders (the ones a
    finding may name), served first first."""
    if not elder_ids:
        return []
    return list(
        session.scalars(
            select(Redemption)
            .where(
                Redemption.elder_id.in_(elder_ids),
                Redemption.month == sample.month,
                Redemption.district_code == sample.district_code,
                Redemption.status == "posted",
            )
            .order_by(Redemption.elder_id, Redemption.served_at, Redemption.id)
        )
    )
