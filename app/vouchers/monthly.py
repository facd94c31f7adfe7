"""Month-wide voucher work for the jobs: issue the month's vouchers, expire an ended month's.
Set-based SQL: constant memory, no per-row Python, one journal entry per district and run."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.db import dialect_insert, sql_random_uuid
from app.ledger import service as ledger
from app.models.elders import Elder
from app.models.vouchers import Voucher
from app.reference.service import policy_for_month, program_period
from app.rules.eligibility import EXEMPTING_ALLOWANCE_TIERS, NEW_ASSESSMENTS_FROM
from app.rules.entitlement import DECEASED, earliest_valid_assessment_day
from app.rules.months import Month
from app.vouchers import entitlement
from app.vouchers.service import MONTHLY


@dataclass(frozen=True)
class IssueResult:
    month: Month
    issued: int
    already_issued: int


def issue_month(session: Session, month: Month, *, job_run_id: int, actor: str) -> IssueResult:
    """One voucher for every approved elder (and elders suspended no earlier than ``month``)
    who has none for ``month``. Safe to run again: the unique constraint and the NOT EXISTS
    make a repeat issue nothing."""
    if not program_period(session).includes(month):
        return IssueResult(month, 0, 0)
    face_value = policy_for_month(session, month).monthly_cap_fen
    now = clock.now()
    month_day = month.first_day
    entitled = _due_at_month_start(month)
    already = session.scalar(
        select(func.count()).select_from(Voucher).where(Voucher.month == month_day, Voucher.kind == MONTHLY)
    )
    new_vouchers = select(
        sql_random_uuid(session),
        Elder.district_code,
        Elder.id,
        literal(MONTHLY),
        literal(month_day),
        literal(face_value),
        literal(face_value),
        literal("active"),
        literal(month.starts_at(), Voucher.valid_from.type),
        literal(month.ends_at(), Voucher.valid_until.type),
        literal(now, Voucher.issued_at.type),
        literal(job_run_id),
    ).where(
        entitled,
        ~exists().where(
            Voucher.elder_id == Elder.id,
            Voucher.month == month_day,
            Voucher.kind == MONTHLY,
        ),
    )
    columns = [
        "id",
        "district_code",
        "elder_id",
        "kind",
        "month",
        "face_value_fen",
        "balance_fen",
        "status",
        "valid_from",
        "valid_until",
        "issued_at",
        "issue_job_run_id",
    ]
    # ON CONFLICT DO NOTHING: an approval may issue the same elder's voucher concurrently.
    session.execute(
        dialect_insert(session)(Voucher)
        .from_select(columns, new_vouchers)
        .on_conflict_do_nothing(index_elements=["elder_id", "month", "kind"])
    )
    issued = _journal_new_vouchers(session, month, job_run_id=job_run_id, actor=actor)
    return IssueResult(month, issued, int(already or 0))


def _due_at_month_start(month: Month):
    """app.rules.entitlement.due_at_month_start as a WHERE clause over elders: approved before
    the month began (or suspended no earlier than it, death excepted: death is final), with an
    assessment that counts for the month (valid on its first day, or the 400/600 tier)."""
    month_day = month.first_day
    earliest = earliest_valid_assessment_day(month, entitlement.valid_months())
    return and_(
        or_(
            Elder.status == "approved",
            and_(
                Elder.status == "suspended",
                Elder.suspension_reason != DECEASED,
                Elder.last_voucher_month >= month_day,
            ),
        ),
        Elder.approved_at < month.starts_at(),
        or_(
            Elder.assessed_on >= earliest,
            and_(
                Elder.disability_allowance_tier.in_(sorted(EXEMPTING_ALLOWANCE_TIERS)),
                Elder.assessed_on < NEW_ASSESSMENTS_FROM,
            ),
        ),
    )


def _journal_new_vouchers(session: Session, month: Month, *, job_run_id: int, actor: str) -> int:
    """One issue entry per district for the vouchers this run inserted."""
    issued_fen = ledger.post_voucher_batch(
        session,
        kind="issue",
        month=month.first_day,
        created_by=actor,
        job_run_id=job_run_id,
        voucher_amount=Voucher.face_value_fen,
        vouchers_where=Voucher.issue_job_run_id == job_run_id,
        balancing_account="program_issued",
    )
    if not issued_fen:
        return 0
    return int(
        session.scalar(
            select(func.count()).select_from(Voucher).where(Voucher.issue_job_run_id == job_run_id)
        )
    )


@dataclass(frozen=True)
class ExpireResult:
    month: Month
    expired: int
    released_fen: int


def expire_month(session: Session, month: Month, *, job_run_id: int, actor: str) -> ExpireResult:
    """Close every still-active voucher of an ended month and release its balance, one entry
    per district. Safe to run again: a second run finds no active voucher."""
    month_day = month.first_day
    still_active = and_(Voucher.month == month_day, Voucher.status == "active")
    released = ledger.post_voucher_batch(
        session,
        kind="expire",
        month=month_day,
        created_by=actor,
        job_run_id=job_run_id,
        voucher_amount=-Voucher.balance_fen,
        vouchers_where=and_(still_active, Voucher.balance_fen > 0),
        balancing_account="program_released",
    )
    expired = session.execute(
        update(Voucher).where(still_active).values(status="expired", balance_fen=0, closed_at=clock.now())
    ).rowcount
    return ExpireResult(month, int(expired or 0), -sum(released.values()))
