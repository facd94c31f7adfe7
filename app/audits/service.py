"""Audit samples (drawn once, verifiable) and findings (with their effect on the money).

The draw itself is the pure function app.rules.sampling.draw; this module gathers the
population, stores it with the sample, and records findings. A fake-service finding excludes
the redemptions not yet past civil review from settlement, and books a clawback for the ones
that are (journal kind ``clawback``), netted from the provider's next payment in the district
(app.settlements.service.net_clawbacks).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.assessments import service as assessments
from app.audits.errors import ElderNotSampled, InvalidFinding
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.db import lock_for_transaction
from app.errors import MonthNotEnded, NotFound
from app.ids import parse_id
from app.ledger import service as ledger
from app.models.audits import AuditFinding, AuditFindingRedemption, AuditSample, AuditSampleUnit
from app.models.redemptions import Redemption
from app.models.settlements import SettlementBatch, SettlementItem
from app.models.vouchers import Voucher
from app.reference.service import ensure_district
from app.rules import sampling
from app.rules.ledger import Line
from app.rules.months import Month
from app.settlements import service as settlements

# Batches in these statuses have passed civil review: their money is approved (or paid), so a
# fake service found there is clawed back rather than excluded.
_PAST_CIVIL_REVIEW = ("finance_review", "payment", "settled")


@dataclass(frozen=True)
class Drawn:
    sample: AuditSample
    created: bool


def settlement_lock(district_code: str, month: Month) -> str:
    """The lock a batch build (app.settlements.service.build_batch) and a finding share, so
    that a redemption found to be fake is either seen by the build as excluded or found by the
    finding in the batch."""
    return f"settlement:{district_code}:{month}"


# --- the population --------------------------------------------------------------------------
def redemption_population(session: Session, district_code: str, month: Month) -> list[sampling.Unit]:
    """The distinct elders with a posted redemption that month, each in the stratum of the
    provider that redeemed the most for them (ties: the smaller provider id)."""
    rows = session.execute(
        select(Redemption.elder_id, Redemption.provider_id, func.sum(Redemption.deduction_fen))
        .where(
            Redemption.district_code == district_code,
            Redemption.month == month.first_day,
            Redemption.status == "posted",
        )
        .group_by(Redemption.elder_id, Redemption.provider_id)
    ).all()
    main_provider: dict[str, tuple[int, str]] = {}
    for elder_id, provider_id, fen in rows:
        elder, provider = str(elder_id), str(provider_id)
        best = main_provider.get(elder)
        if best is None or (-int(fen), provider) < (-best[0], best[1]):
            main_provider[elder] = (int(fen), provider)
    return [sampling.Unit(elder, "provider:" + provider) for elder, (_fen, provider) in main_provider.items()]


def assessment_population(session: Session, district_code: str, month: Month) -> list[sampling.Unit]:
    """The district's elders holding a monthly voucher that month, each in the stratum of the
    assessment agency whose approved record their subsidy rested on at the end of the month
    (``agency:<provider id>``; each agency's results checked in proportion). Elders with no
    approved record in the ledger (exempt from a new assessment under 二(二), or registered with
    an assessment made outside it) are in the stratum ``exempt``."""
    holders = (
        select(Voucher.elder_id)
        .where(
            Voucher.district_code == district_code,
            Voucher.month == month.first_day,
            Voucher.kind == "monthly",
        )
        .distinct()
    )
    agency_of = {
        elder_id: agency_id
        for elder_id, _assessment_id, agency_id in session.execute(
            assessments.in_force(holders, month.ends_at())
        )
    }
    return [
        sampling.Unit(str(elder_id), f"agency:{agency_of[elder_id]}" if elder_id in agency_of else "exempt")
        for elder_id in session.scalars(holders)
    ]


def population_of(session: Session, district_code: str, month: Month, kind: str) -> list[sampling.Unit]:
    if kind == "redemption":
        return redemption_population(session, district_code, month)
    return assessment_population(session, district_code, month)


# --- samples ---------------------------------------------------------------------------------
def draw_sample(session: Session, caller: Principal, *, district_code: str, month: Month, kind: str) -> Drawn:
    """The sample of this district, month and kind: drawn now with a fresh random seed if it
    does not exist, else the one drawn before (never drawn twice)."""
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    existing = _find(session, district_code, month, kind)
    if existing is not None:
        return Drawn(existing, created=False)
    if clock.now() < month.ends_at():
        raise MonthNotEnded(f"{month} 尚未结束,抽查对象尚未确定")
    units = population_of(session, district_code, month, kind)
    seed = secrets.token_hex(32)
    drawn = sampling.draw(seed, units)
    position = {elder_id: i for i, elder_id in enumerate(drawn)}
    sample = AuditSample(
        id=uuid.uuid4(),
        district_code=district_code,
        month=month.first_day,
        kind=kind,
        method=sampling.METHOD,
        seed=seed,
        population=len(units),
        sample_size=len(drawn),
        population_sha256=sampling.population_digest(units),
        drawn_at=clock.now(),
        drawn_by=caller.actor,
    )
    try:
        # The unique (district, month, kind) settles two officers asking at the same moment.
        with session.begin_nested():
            session.add(sample)
            session.flush()
    except IntegrityError:
        return Drawn(_find(session, district_code, month, kind), created=False)
    if units:
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
                for unit in units
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


def stored_population(session: Session, sample: AuditSample) -> list[sampling.Unit]:
    return [
        sampling.Unit(str(elder_id), stratum)
        for elder_id, stratum in session.execute(
            select(AuditSampleUnit.elder_id, AuditSampleUnit.stratum)
            .where(AuditSampleUnit.sample_id == sample.id)
            .order_by(AuditSampleUnit.elder_id)
        )
    ]


def verify(session: Session, sample: AuditSample) -> dict:
    """Recompute the draw from the published seed and the stored population, and the
    population from today's data; ok when both match what was stored."""
    units = stored_population(session, sample)
    stored_drawn = drawn_elder_ids(session, sample)
    recomputed = sampling.draw(sample.seed, units) if sample.method == sampling.METHOD else None
    live = population_of(session, sample.district_code, Month.of(sample.month), sample.kind)
    live_digest = sampling.population_digest(live)
    draw_matches = recomputed == stored_drawn and len(stored_drawn) == sample.sample_size
    population_matches = (
        live_digest == sample.population_sha256
        and sampling.population_digest(units) == sample.population_sha256
        and len(units) == sample.population
    )
    return {
        "ok": bool(
            draw_matches and population_matches and sample.sample_size == sampling.sample_size(len(units))
        ),
        "method": sample.method,
        "seed": sample.seed,
        "population": sample.population,
        "sample_size": sample.sample_size,
        "draw_matches": bool(draw_matches),
        "population_matches": bool(population_matches),
        "population_sha256": sample.population_sha256,
        "current_population_sha256": live_digest,
    }


def findings_count(session: Session, sample: AuditSample) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(AuditFinding.elder_id))).where(
                AuditFinding.sample_id == sample.id
            )
        )
        or 0
    )


# --- findings --------------------------------------------------------------------------------
def record_finding(
    session: Session,
    caller: Principal,
    sample: AuditSample,
    *,
    elder_id: str,
    outcome: str,
    note: str,
    redemption_ids: list[str],
) -> AuditFinding:
    """A finding on one sampled elder, naming the redemptions concerned (all of one provider).
    A fake-service finding takes those redemptions' money back (see the module docstring)."""
    ensure_district_in_scope(caller, sample.district_code)
    month = Month.of(sample.month)
    lock_for_transaction(session, settlement_lock(sample.district_code, month))
    elder = parse_id(elder_id)
    is_drawn = elder is not None and session.scalar(
        select(AuditSampleUnit.drawn).where(
            AuditSampleUnit.sample_id == sample.id, AuditSampleUnit.elder_id == elder
        )
    )
    if not is_drawn:
        raise ElderNotSampled(f"老年人 {elder_id} 不在本次抽查样本中")
    wanted: list[uuid.UUID] = []
    for text in redemption_ids:
        parsed = parse_id(text)
        if parsed is None or parsed in wanted:
            raise InvalidFinding(f"核销记录 {text} 无效或重复")
        wanted.append(parsed)
    if outcome == "fake_service" and not wanted:
        raise InvalidFinding("认定虚假服务须列明涉及的核销记录")
    redemptions = (
        list(
            session.scalars(
                select(Redemption).where(
                    Redemption.id.in_(wanted),
                    Redemption.elder_id == elder,
                    Redemption.district_code == sample.district_code,
                    Redemption.month == sample.month,
                    Redemption.status == "posted",
                )
            )
        )
        if wanted
        else []
    )
    if len(redemptions) != len(wanted):
        unknown = sorted({str(r) for r in wanted} - {str(r.id) for r in redemptions})
        raise InvalidFinding(f"以下核销记录不属于该老年人本月的有效核销: {', '.join(unknown[:5])}")
    providers = {r.provider_id for r in redemptions}
    if len(providers) > 1:
        raise InvalidFinding("一条抽查结论只能涉及一家服务机构的核销记录")
    finding = AuditFinding(
        id=uuid.uuid4(),
        sample_id=sample.id,
        elder_id=elder,
        district_code=sample.district_code,
        month=sample.month,
        provider_id=next(iter(providers), None),
        outcome=outcome,
        note=note,
        excluded_fen=0,
        clawback_fen=0,
        recorded_at=clock.now(),
        recorded_by=caller.actor,
    )
    session.add(finding)
    session.flush()
    effects = _effects(session, redemptions) if outcome == "fake_service" else {}
    if redemptions:
        session.execute(
            insert(AuditFindingRedemption),
            [
                {
                    "finding_id": finding.id,
                    "redemption_id": r.id,
                    "provider_id": r.provider_id,
                    "district_code": r.district_code,
                    "deduction_fen": r.deduction_fen,
                    "effect": effects.get(r.id, "none"),
                }
                for r in redemptions
            ],
        )
    session.flush()
    if effects:
        _apply_effects(session, caller, finding, redemptions, effects)
    from app.sanctions.service import on_finding_recorded

    on_finding_recorded(session, finding)
    session.flush()
    return finding


def _effects(session: Session, redemptions: list[Redemption]) -> dict[uuid.UUID, str]:
    """What a fake-service finding does to each redemption: nothing if an earlier finding
    already acted on it or a reviewer rejected it; ``excluded`` while it is not in a batch or
    its batch is still in civil review; ``clawback`` once civil review has passed."""
    ids = [r.id for r in redemptions]
    acted_on = set(
        session.scalars(
            select(AuditFindingRedemption.redemption_id).where(
                AuditFindingRedemption.redemption_id.in_(ids), AuditFindingRedemption.effect != "none"
            )
        )
    )
    held = {
        row.redemption_id: row
        for row in session.execute(
            select(SettlementItem.redemption_id, SettlementItem.rejected, SettlementBatch.status)
            .join(SettlementBatch, SettlementBatch.id == SettlementItem.batch_id)
            .where(SettlementItem.redemption_id.in_(ids))
            .with_for_update(of=SettlementBatch)
        )
    }
    effects = {}
    for r in redemptions:
        item = held.get(r.id)
        if r.id in acted_on or (item is not None and item.rejected):
            effects[r.id] = "none"
        elif item is None or item.status not in _PAST_CIVIL_REVIEW:
            effects[r.id] = "excluded"
        else:
            effects[r.id] = "clawback"
    return effects


def _apply_effects(
    session: Session,
    caller: Principal,
    finding: AuditFinding,
    redemptions: list[Redemption],
    effects: dict[uuid.UUID, str],
) -> None:
    excluded = [r for r in redemptions if effects[r.id] == "excluded"]
    clawed = [r for r in redemptions if effects[r.id] == "clawback"]
    finding.excluded_fen = sum(r.deduction_fen for r in excluded)
    finding.clawback_fen = sum(r.deduction_fen for r in clawed)
    if excluded:
        # Those already held by a batch under civil review are rejected there now; the others
        # when their batch is built (app.settlements.service.apply_audit_exclusions).
        batch = session.scalars(
            select(SettlementBatch).where(
                SettlementBatch.district_code == finding.district_code, SettlementBatch.month == finding.month
            )
        ).one_or_none()
        if batch is not None:
            settlements.apply_audit_exclusions(session, batch, actor=caller.actor)
    if clawed:
        provider_id = clawed[0].provider_id
        ledger.post_entry(
            session,
            kind="clawback",
            district_code=finding.district_code,
            month=finding.month,
            lines=[
                Line("provider_payable", -finding.clawback_fen, provider_id=provider_id),
                Line("program_clawback", finding.clawback_fen),
            ],
            created_by=caller.actor,
        )
        settlements.net_clawbacks(session, finding.district_code)


def findings_of_sample(session: Session, sample: AuditSample) -> list[AuditFinding]:
    return list(
        session.scalars(
            select(AuditFinding)
            .where(AuditFinding.sample_id == sample.id)
            .order_by(AuditFinding.recorded_at, AuditFinding.id)
        )
    )


def list_findings(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    month: Month | None,
    outcome: str | None,
    provider_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditFinding], int]:
    conditions = []
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        conditions.append(AuditFinding.district_code == district_code)
    if month is not None:
        conditions.append(AuditFinding.month == month.first_day)
    if outcome is not None:
        conditions.append(AuditFinding.outcome == outcome)
    if provider_id is not None:
        conditions.append(AuditFinding.provider_id == parse_id(provider_id))
    total = session.scalar(select(func.count()).select_from(AuditFinding).where(*conditions))
    rows = session.scalars(
        select(AuditFinding)
        .where(*conditions)
        .order_by(AuditFinding.recorded_at.desc(), AuditFinding.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


def finding_redemptions(session: Session, findings: list[AuditFinding]) -> dict[uuid.UUID, list[dict]]:
    named: dict[uuid.UUID, list[dict]] = {f.id: [] for f in findings}
    if findings:
        for row in session.scalars(
            select(AuditFindingRedemption)
            .where(AuditFindingRedemption.finding_id.in_(list(named)))
            .order_by(AuditFindingRedemption.redemption_id)
        ):
            named[row.finding_id].append(
                {
                    "redemption_id": str(row.redemption_id),
                    "deduction_fen": row.deduction_fen,
                    "effect": row.effect,
                }
            )
    return named


# --- read-only helpers for the dashboard --------------------------------------------------------
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
