"""The district's decision on a submitted assessment (attachment 5 二(三)). An approval makes the
result the elder's level (through app.elders.status, so that the elder's status history stays in
one place) and may issue the assessment e-voucher; a rejection keeps the record, with why, and
leaves the elder untouched. Each is one decision of app.rules.assessment_review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

import app.assessments.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.elders.status import apply_assessment, entitled_before, first_month_min_days, state_of
from app.errors import error_for
from app.models.assessments import Assessment
from app.models.elders import Elder
from app.reference.service import get_catalogue_item
from app.rules.assessment import LEVEL_NAMES
from app.rules.assessment_review import (
    ApprovalFacts,
    RecordFacts,
    decide_result_approval,
    undecided_refusal,
)
from app.rules.eligibility import DisabilityLevel
from app.rules.refusals import Refusal
from app.vouchers import service as vouchers

# Catalogue item 1 (评估服务, 失能等级评估): its reference price is the assessment service fee.
ASSESSMENT_ITEM = 1


def _record_facts(assessment: Assessment) -> RecordFacts:
    return RecordFacts(
        status=assessment.status,
        decided_at=assessment.decided_at,
        assessed_on=assessment.assessed_on,
        valid_until=assessment.valid_until,
        final_level=DisabilityLevel(assessment.final_level),
    )


def _approval_facts(session: Session, assessment: Assessment, elder: Elder, now: datetime) -> ApprovalFacts:
    fee = get_catalogue_item(session, ASSESSMENT_ITEM)
    return ApprovalFacts(
        record=_record_facts(assessment),
        elder=state_of(elder),
        entitled_before=entitled_before(elder, now),
        assessment_fee_fen=fee.ref_price_max_fen if fee is not None else None,
        first_month_min_days=first_month_min_days(),
    )


def approve(
    session: Session, caller: Principal, assessment: Assessment, *, note: str | None
) -> tuple[Assessment, Elder]:
    """The district confirms the result: it becomes the elder's level and assessment date, and
    eligibility is recomputed (app.elders.status.apply_assessment). Moderate or worse also gives
    the elder the one-off assessment e-voucher, which the assessing agency redeems through the
    ordinary redemption endpoint (or, if the elder paid already, redeems and refunds: see
    docs/decisions.md)."""
    now = clock.now()
    elder = session.get(Elder, assessment.elder_id, with_for_update=True)
    decision = decide_result_approval(_approval_facts(session, assessment, elder, now), now)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    level = DisabilityLevel(assessment.final_level)
    _decide(assessment, caller, "approved", note, now)
    apply_assessment(
        session,
        caller,
        elder,
        change=decision.elder_change,
        level=level,
        assessed_on=assessment.assessed_on,
        note=f"能力评估 {assessment.id} 审批通过: {LEVEL_NAMES[level]}",
        now=now,
    )
    if decision.assessment_voucher_fen is not None:
        vouchers.issue_assessment_voucher(
            session,
            elder,
            assessment_id=assessment.id,
            face_value_fen=decision.assessment_voucher_fen,
            actor=caller.actor,
        )
    session.flush()
    return assessment, elder


def reject(session: Session, caller: Principal, assessment: Assessment, *, note: str) -> Assessment:
    """The district does not confirm the result: the record stays, with why; the elder is untouched."""
    refusal = undecided_refusal(_record_facts(assessment))
    if refusal is not None:
        raise error_for(refusal)
    _decide(assessment, caller, "rejected", note, clock.now())
    session.flush()
    return assessment


def _decide(assessment: Assessment, caller: Principal, status: str, note: str | None, now: datetime) -> None:
    assessment.status = status
    assessment.decided_at = now
    assessment.decided_by = caller.actor
    assessment.decision_note = note
