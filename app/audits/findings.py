"""Audit findings on a sample's drawn elders, and their effect on the money.

Recording one is facts (is the elder drawn, which of the named redemptions are the elder's, where
settlement has taken them) → one pure decision (app.rules.audit_findings.decide_finding) → one
write. A fake-service verdict excludes the redemptions not yet past civil review from settlement
and books a clawback for the ones that are (journal kind ``clawback``), netted from the
provider's next payment in the district (app.settlements.service.net_clawbacks).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

import app.audits.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.errors import error_for
from app.ids import parse_id
from app.ledger import service as ledger
from app.models.audits import AuditFinding, AuditFindingRedemption, AuditSample, AuditSampleUnit
from app.models.redemptions import Redemption
from app.models.settlements import SettlementBatch, SettlementItem
from app.rules.audit_findings import FAKE_SERVICE, FindingFacts, NamedRedemption, Recorded, decide_finding
from app.rules.ledger import Line
from app.rules.months import Month
from app.rules.refusals import Refusal
from app.sanctions.service import on_finding_recorded
from app.settlements import service as settlements


# --- recording -------------------------------------------------------------------------------
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
    settlements.lock_settlement_month(session, sample.district_code, Month.of(sample.month))
    facts = _finding_facts(session, sample, elder_id, outcome, redemption_ids)
    decision = decide_finding(facts)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    return _write_finding(session, caller, sample, parse_id(elder_id), outcome, note, decision)


def _finding_facts(
    session: Session, sample: AuditSample, elder_id: str, outcome: str, redemption_ids: list[str]
) -> FindingFacts:
    elder = parse_id(elder_id)
    elder_drawn = elder is not None and bool(
        session.scalar(
            select(AuditSampleUnit.drawn).where(
                AuditSampleUnit.sample_id == sample.id, AuditSampleUnit.elder_id == elder
            )
        )
    )
    requested = [(text, parse_id(text)) for text in redemption_ids]
    wanted = {parsed for _text, parsed in requested if parsed is not None}
    found = _named_redemptions(session, sample, elder, wanted) if elder_drawn and wanted else []
    if outcome == FAKE_SERVICE and found:
        found = _with_settlement_state(session, found)
    return FindingFacts(elder_id, elder_drawn, outcome, requested, found)


def _named_redemptions(
    session: Session, sample: AuditSample, elder: uuid.UUID, wanted: set[uuid.UUID]
) -> list[NamedRedemption]:
    """Those of ``wanted`` that are the elder's posted redemptions of the sample's district and month."""
    rows = session.execute(
        select(Redemption.id, Redemption.provider_id, Redemption.deduction_fen).where(
            Redemption.id.in_(wanted),
            Redemption.elder_id == elder,
            Redemption.district_code == sample.district_code,
            Redemption.month == sample.month,
            Redemption.status == "posted",
        )
    )
    return [NamedRedemption(r.id, r.provider_id, r.deduction_fen) for r in rows]


def _with_settlement_state(session: Session, found: list[NamedRedemption]) -> list[NamedRedemption]:
    """Whether an earlier finding acted on each redemption, and the batch holding it (locked, so
    that its review does not move on while the finding decides)."""
    ids = [r.id for r in found]
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
    return [
        NamedRedemption(
            r.id,
            r.provider_id,
            r.deduction_fen,
            acted_on=r.id in acted_on,
            batch_status=held[r.id].status if r.id in held else None,
            rejected=r.id in held and held[r.id].rejected,
        )
        for r in found
    ]


def _write_finding(
    session: Session,
    caller: Principal,
    sample: AuditSample,
    elder: uuid.UUID,
    outcome: str,
    note: str,
    decision: Recorded,
) -> AuditFinding:
    finding = AuditFinding(
        id=uuid.uuid4(),
        sample_id=sample.id,
        elder_id=elder,
        district_code=sample.district_code,
        month=sample.month,
        provider_id=decision.provider_id,
        outcome=outcome,
        note=note,
        excluded_fen=decision.excluded_fen,
        clawback_fen=decision.clawback_fen,
        recorded_at=clock.now(),
        recorded_by=caller.actor,
    )
    session.add(finding)
    session.flush()
    if decision.effects:
        session.execute(
            insert(AuditFindingRedemption),
            [
                {
                    "finding_id": finding.id,
                    "redemption_id": e.redemption.id,
                    "provider_id": e.redemption.provider_id,
                    "district_code": finding.district_code,
                    "deduction_fen": e.redemption.deduction_fen,
                    "effect": e.effect,
                }
                for e in decision.effects
            ],
        )
    if decision.has("excluded"):
        _exclude_from_open_batch(session, caller, finding)
    if decision.has("clawback"):
        _book_clawback(session, caller, finding)
    on_finding_recorded(session, finding)
    session.flush()
    return finding


def _exclude_from_open_batch(session: Session, caller: Principal, finding: AuditFinding) -> None:
    """Reject the excluded redemptions a batch under civil review already holds; the others are
    rejected when their batch is built (app.settlements.service.apply_audit_exclusions)."""
    batch = session.scalars(
        select(SettlementBatch).where(
            SettlementBatch.district_code == finding.district_code, SettlementBatch.month == finding.month
        )
    ).one_or_none()
    if batch is not None:
        settlements.apply_audit_exclusions(session, batch, actor=caller.actor)


def _book_clawback(session: Session, caller: Principal, finding: AuditFinding) -> None:
    """Take the approved money back from the provider: netted from its next payment."""
    ledger.post_entry(
        session,
        kind="clawback",
        district_code=finding.district_code,
        month=finding.month,
        lines=[
            Line("provider_payable", -finding.clawback_fen, provider_id=finding.provider_id),
            Line("program_clawback", finding.clawback_fen),
        ],
        created_by=caller.actor,
    )
    settlements.net_clawbacks(session, finding.district_code)


# --- reading ---------------------------------------------------------------------------------
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


def finding_lines(
    session: Session, findings: list[AuditFinding]
) -> dict[uuid.UUID, list[AuditFindingRedemption]]:
    """The redemptions each finding names, with what it did to them (by redemption id)."""
    named: dict[uuid.UUID, list[AuditFindingRedemption]] = {f.id: [] for f in findings}
    if findings:
        for row in session.scalars(
            select(AuditFindingRedemption)
            .where(AuditFindingRedemption.finding_id.in_(list(named)))
            .order_by(AuditFindingRedemption.redemption_id)
        ):
            named[row.finding_id].append(row)
    return named
