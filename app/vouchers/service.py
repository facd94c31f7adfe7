"""Issuing, expiring and revoking vouchers. Month-wide work is set-based SQL: constant memory,
no per-row Python, one journal entry per district and run."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.db import dialect_insert
from app.ledger import service as ledger
from app.models.elders import Elder
from app.models.vouchers import Voucher
from app.reference.service import policy_for_month, program_period
from app.rules.ledger import issue_lines, release_lines
from app.rules.months import Month
from app.vouchers import entitlement

MONTHLY = "monthly"
ASSESSMENT = "assessment"


def effective_status(voucher: Voucher, now: datetime) -> str:
    """Validity is decided by the clock: an active voucher past its month reads as expired even
    before the expiry job has released its balance."""
    if voucher.status == "active" and now >= voucher.valid_until:
        return "expired"
    return voucher.status


def voucher_out(voucher: Voucher, now: datetime | None = None) -> dict:
    return {
        "id": str(voucher.id),
        "elder_id": str(voucher.elder_id),
        "kind": voucher.kind,
        "month": str(Month.of(voucher.month)),
        "face_value_fen": voucher.face_value_fen,
        "balance_fen": voucher.balance_fen,
        "status": effective_status(voucher, now or clock.now()),
        "valid_from": voucher.valid_from,
        "valid_until": voucher.valid_until,
    }


def valid_voucher(
    session: Session, elder_id: uuid.UUID, now: datetime, *, for_update: bool = False
) -> Voucher | None:
    """The elder's monthly voucher valid at ``now``, or None."""
    month = Month.containing(now)
    query = select(Voucher).where(
        Voucher.elder_id == elder_id,
        Voucher.month == month.first_day,
        Voucher.kind == MONTHLY,
        Voucher.status == "active",
    )
    if for_update:
        query = query.with_for_update()
    voucher = session.scalars(query).one_or_none()
    if voucher is None or not (voucher.valid_from <= now < voucher.valid_until):
        return None
    return voucher


def list_vouchers(session: Session, elder_id: uuid.UUID, month: Month | None) -> list[Voucher]:
    query = select(Voucher).where(Voucher.elder_id == elder_id).order_by(Voucher.month.desc())
    if month is not None:
        query = query.where(Voucher.month == month.first_day)
    return list(session.scalars(query))


def issue_for_elder(
    session: Session, elder: Elder, month: Month, *, actor: str, valid_from: datetime | None = None
) -> Voucher | None:
    """The elder's voucher for ``month`` (issued now if missing); None outside the program.

    ``valid_from``: when the elder became entitled during the month (the approval instant: no
    subsidy for a service before approval); the month's first instant when None."""
    if not program_period(session).includes(month):
        return None
    existing = _monthly_voucher(session, elder.id, month)
    if existing is not None:
        return existing
    face_value = policy_for_month(session, month).monthly_cap_fen
    starts = max(valid_from, month.starts_at()) if valid_from else month.starts_at()
    row = _voucher_row(elder, MONTHLY, month, face_value, starts, clock.now())
    voucher = Voucher(**row)
    if not _inserted(session, voucher):
        # The unique (elder, month, kind) closed the race with the monthly job: theirs stands.
        return _monthly_voucher(session, elder.id, month)
    _journal_issue(session, row, actor)
    return voucher


def _monthly_voucher(session: Session, elder_id: uuid.UUID, month: Month) -> Voucher | None:
    return session.scalars(
        select(Voucher).where(
            Voucher.elder_id == elder_id, Voucher.month == month.first_day, Voucher.kind == MONTHLY
        )
    ).one_or_none()


def _voucher_row(
    elder, kind: str, month: Month, face_value_fen: int, valid_from: datetime, now: datetime
) -> dict:
    """A new voucher of ``month``, full, valid from ``valid_from`` to the month's end."""
    return {
        "id": uuid.uuid4(),
        "district_code": elder.district_code,
        "elder_id": elder.id,
        "kind": kind,
        "month": month.first_day,
        "face_value_fen": face_value_fen,
        "balance_fen": face_value_fen,
        "status": "active",
        "valid_from": valid_from,
        "valid_until": month.ends_at(),
        "issued_at": now,
    }


def _inserted(session: Session, voucher: Voucher) -> bool:
    """Insert unless the unique (elder, month, kind) already holds one (False then)."""
    try:
        with session.begin_nested():
            session.add(voucher)
            session.flush()
    except IntegrityError:
        return False
    return True


def _journal_issue(session: Session, row: dict, actor: str) -> None:
    """The issue entry of a voucher row just inserted (``_voucher_row``)."""
    ledger.post_entry(
        session,
        kind="issue",
        district_code=row["district_code"],
        month=row["month"],
        lines=issue_lines(row["id"], row["face_value_fen"]),
        created_by=actor,
    )


def issue_on_demand(session: Session, elder, now: datetime, *, actor: str) -> bool:
    """Issue the current month's voucher at the point of service when the month-start job has
    not run yet (00:00 on the 1st, a scheduler that is down): an entitled elder's voucher is
    usable from the month's first instant whatever the job does. ``elder`` is an Elder row or a
    row of ENTITLEMENT_COLUMNS. True when the month's voucher is due, whether inserted here or
    by a concurrent job or request (whose insert this one waited for): read it again then.

    Exactly once against the job and other requests: both insert with ON CONFLICT DO NOTHING on
    the unique (elder, month, kind), and whichever inserts the row journals it (the job journals
    only the rows carrying its run id)."""
    month = Month.containing(now)
    if not entitlement.due_at_month_start(elder, month) or not program_period(session).includes(month):
        return False
    row = _voucher_row(
        elder, MONTHLY, month, policy_for_month(session, month).monthly_cap_fen, month.starts_at(), now
    )
    inserted = session.execute(
        dialect_insert(session)(Voucher)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["elder_id", "month", "kind"])
        .returning(Voucher.id)
    ).first()
    if inserted is not None:  # else issued meanwhile by the job or another request (it journaled it)
        _journal_issue(session, row, actor)
    return True


def issue_assessment_voucher(
    session: Session, elder: Elder, *, assessment_id: uuid.UUID, face_value_fen: int, actor: str
) -> Voucher | None:
    """The one-off assessment e-voucher (attachment 5): it pays the assessment service fee at the
    agency that assessed the elder. Valid from now to the end of this month, like a monthly
    voucher, so that its redemption is settled with this month. One per elder and month (a
    second approved assessment in the same month gets none): None then."""
    month = clock.current_month()
    now = clock.now()
    row = _voucher_row(elder, ASSESSMENT, month, face_value_fen, now, now)
    voucher = Voucher(**row, assessment_id=assessment_id)
    if not _inserted(session, voucher):
        return None
    _journal_issue(session, row, actor)
    return voucher


def valid_assessment_voucher(session: Session, elder_id: uuid.UUID, now: datetime) -> Voucher | None:
    """The elder's assessment voucher valid at ``now`` (locked for the redemption), or None."""
    voucher = session.scalars(
        select(Voucher)
        .where(
            Voucher.elder_id == elder_id,
            Voucher.month == Month.containing(now).first_day,
            Voucher.kind == ASSESSMENT,
            Voucher.status == "active",
        )
        .with_for_update()
    ).one_or_none()
    if voucher is None or not (voucher.valid_from <= now < voucher.valid_until):
        return None
    return voucher


def revoke(session: Session, voucher: Voucher, *, actor: str) -> int:
    """Close an active voucher at once (the elder died); its balance returns to the program.

    The caller holds the voucher row locked (``valid_voucher(..., for_update=True)``), so the
    balance read here is the one being released.
    """
    released = voucher.balance_fen
    closed = session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.status == "active", Voucher.balance_fen == released)
        .values(status="revoked", balance_fen=0, closed_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        raise RuntimeError("voucher changed while being revoked")  # the row lock makes this unreachable
    if released:
        ledger.post_entry(
            session,
            kind="revoke",
            district_code=voucher.district_code,
            month=voucher.month,
            lines=release_lines(voucher.id, released),
            created_by=actor,
        )
    session.refresh(voucher)
    return released


def reinstate_revoked(session: Session, elder_id: uuid.UUID, month: Month, *, actor: str) -> bool:
    """Give back a voucher a mistaken death record revoked: active again with the balance the
    revocation released, by a reversing ``revoke`` entry (the journal is never edited). Only a
    voucher of the current month: an earlier month would have expired anyway. True if done."""
    voucher = session.scalars(
        select(Voucher)
        .where(
            Voucher.elder_id == elder_id,
            Voucher.month == month.first_day,
            Voucher.kind == MONTHLY,
            Voucher.status == "revoked",
        )
        .with_for_update()
    ).one_or_none()
    if voucher is None or clock.now() >= voucher.valid_until:
        return False
    released = -ledger.voucher_movement(session, voucher.id, kind="revoke")
    session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.status == "revoked")
        .values(status="active", balance_fen=released, closed_at=None)
        .execution_options(synchronize_session=False)
    )
    if released:
        ledger.post_entry(
            session,
            kind="revoke",
            district_code=voucher.district_code,
            month=voucher.month,
            lines=[-line for line in release_lines(voucher.id, released)],
            created_by=actor,
        )
    session.refresh(voucher)
    return True
