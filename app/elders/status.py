"""Status changes of an elder: approval, suspension (and the death record), the correction of a
mistaken death record, and an approved assessment's level. Each reads the elder's facts, asks one
decision of app.rules.elder_status, and writes its outcome: the elder, its status history and
the voucher the change issues or revokes. An approved assessment's level is decided within the
assessment's approval (app.assessments.decision) and written here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

import app.elders.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.config import get_settings
from app.elders import events
from app.elders.eligibility import evaluate, refresh_verdict, store_verdict
from app.elders.history import record_status_change, status_before_death
from app.errors import error_for
from app.models.elders import Elder
from app.models.vouchers import Voucher
from app.rules.elder_status import (
    APPROVED,
    DEATH_CORRECTED,
    SUSPENDED,
    AssessedLevel,
    ElderState,
    MonthVoucher,
    Suspension,
    decide_approval,
    decide_death_correction,
    decide_suspension,
    today_of,
)
from app.rules.eligibility import DisabilityLevel
from app.rules.months import Month
from app.rules.refusals import Refusal
from app.vouchers import entitlement
from app.vouchers import service as vouchers


def state_of(elder: Elder) -> ElderState:
    return ElderState(
        status=elder.status,
        suspension_reason=elder.suspension_reason,
        birth_date=elder.birth_date,
        assessed_on=elder.assessed_on,
    )


def entitled_before(elder: Elder, now: datetime) -> bool:
    """The elder holds this month's voucher as things stand, before the change."""
    return entitlement.refusal_in(elder, Month.containing(now)) is None


def first_month_min_days() -> int:
    return get_settings().vouchers.first_month_min_days


def _issue(session: Session, elder: Elder, voucher: MonthVoucher | None, actor: str) -> Voucher | None:
    """Issue (or keep) the voucher a change decided on; None outside the program period."""
    if voucher is None:
        return None
    return vouchers.issue_for_elder(session, elder, voucher.month, actor=actor, valid_from=voucher.valid_from)


@dataclass(frozen=True)
class Approved:
    elder: Elder
    # The voucher issued (or kept) for the approval's month; None when the first voucher is next
    # month's (too little of this month left) or the month is outside the program.
    voucher: Voucher | None
    first_voucher_month: Month


def approve_elder(session: Session, caller: Principal, elder: Elder) -> Approved:
    """Approve an eligible elder and issue the first voucher (二(三)): this month's at once,
    valid from the approval instant (no subsidy for a service before it), or next month's when
    this month is nearly over. The voucher is None outside the program period."""
    now = clock.now()
    today = today_of(now)
    verdict = evaluate(elder, today)
    decision = decide_approval(
        state_of(elder),
        verdict,
        now,
        entitled_before=entitled_before(elder, now),
        first_month_min_days=first_month_min_days(),
    )
    if isinstance(decision, Refusal):
        raise error_for(decision)
    previous = elder.status
    store_verdict(elder, verdict, today)
    elder.status = APPROVED
    elder.approved_at = now
    _clear_suspension(elder)
    record_status_change(session, elder, from_status=previous, actor=caller.actor, at=now, reason="approved")
    session.flush()
    voucher = _issue(session, elder, decision.voucher, caller.actor)
    return Approved(elder, voucher, decision.first_voucher_month)


def suspend_elder(
    session: Session, caller: Principal, elder: Elder, *, reason: str, died_on: date | None, note: str | None
) -> Elder:
    """Stop the elder's vouchers from next month (二(三)). A death also revokes this month's
    voucher at once (its balance returns to the program) and flags the services already posted
    on or after the day of death (app.elders.events)."""
    now = clock.now()
    decision = decide_suspension(state_of(elder), reason, died_on, now)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    _suspend(session, elder, decision, actor=caller.actor, now=now, note=note)
    session.flush()
    if decision.revokes_current_voucher:
        current = vouchers.valid_voucher(session, elder.id, now, for_update=True)
        if current is not None:
            vouchers.revoke(session, current, actor=caller.actor)
        events.death_recorded(session, elder.id, now=now)
    return elder


def correct_death(session: Session, caller: Principal, elder: Elder, reason: str) -> Elder:
    """Undo a mistaken death record (city admins only, with a reason, kept in the status history).

    The elder returns to the status the death record interrupted. This month's voucher, revoked
    by the record, is reinstated with the balance it had (a reversing entry of the revocation);
    an entitled elder without one gets it now. Earlier months stay as they ended."""
    now = clock.now()
    decision = decide_death_correction(state_of(elder), status_before_death(session, elder))
    if isinstance(decision, Refusal):
        raise error_for(decision)
    elder.status = decision.restored_status
    _clear_suspension(elder)
    elder.died_on = None
    record_status_change(
        session, elder, from_status=SUSPENDED, actor=caller.actor, at=now, reason=DEATH_CORRECTED, note=reason
    )
    session.flush()
    if decision.restores_voucher:
        month = Month.containing(now)
        if not vouchers.reinstate_revoked(session, elder.id, month, actor=caller.actor):
            vouchers.issue_for_elder(session, elder, month, actor=caller.actor)
    return elder


def apply_assessment(
    session: Session,
    caller: Principal,
    elder: Elder,
    *,
    change: AssessedLevel,
    level: DisabilityLevel,
    assessed_on: date,
    note: str,
    now: datetime,
) -> None:
    """An approved assessment's result becomes the elder's facts and eligibility is recomputed.
    ``change`` is what its level does to the elder's status, decided with the assessment's
    approval (decide_assessed_level): a suspension from next month, or this month's voucher
    restored."""
    elder.disability_level = level.value
    elder.assessed_on = assessed_on
    refresh_verdict(elder, today_of(now))
    _issue(session, elder, change.voucher, caller.actor)
    if change.suspension is not None:
        _suspend(session, elder, change.suspension, actor=caller.actor, now=now, note=note)
    session.flush()


def _suspend(
    session: Session, elder: Elder, suspension: Suspension, *, actor: str, now: datetime, note: str | None
) -> None:
    previous = elder.status
    elder.died_on = suspension.died_on
    elder.status = SUSPENDED
    elder.suspended_at = now
    elder.suspension_reason = suspension.reason
    elder.last_voucher_month = suspension.last_voucher_month.first_day
    record_status_change(
        session, elder, from_status=previous, actor=actor, at=now, reason=suspension.reason, note=note
    )


def _clear_suspension(elder: Elder) -> None:
    elder.suspended_at = None
    elder.suspension_reason = None
    elder.last_voucher_month = None
