from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, insert, literal, select, union_all
from sqlalchemy.orm import Session

from app import clock
from app.models.audits import AuditFindingRedemption
from app.models.ledger import JournalEntry, JournalLine
from app.models.redemptions import Redemption
from app.models.settlements import SettlementItem, SettlementLine
from app.models.vouchers import Voucher
from app.rules.ledger import Line, check_balanced

MAX_REPORTED_MISMATCHES = 100


def post_entry(
    session: Session,
    *,
    kind: str,
    district_code: str,
    month: date,
    lines: list[Line],
    created_by: str,
    redemption_id: uuid.UUID | None = None,
    job_run_id: int | None = None,
) -> int:
    """Append one balanced entry. The caller updates the cached balances in the same transaction."""
    check_balanced(lines)
    entry_id = _insert_entry(
        session,
        kind=kind,
        district_code=district_code,
        month=month,
        created_by=created_by,
        redemption_id=redemption_id,
        job_run_id=job_run_id,
    )
    # One multi-row INSERT for all lines (not executemany): one round trip.
    session.execute(
        insert(JournalLine).values(
            [
                {
                    "entry_id": entry_id,
                    "district_code": district_code,
                    "account": line.account,
                    "voucher_id": line.voucher_id,
                    "provider_id": line.provider_id,
                    "amount_fen": line.amount_fen,
                }
                for line in lines
            ]
        )
    )
    return entry_id


def voucher_movement(session: Session, voucher_id: uuid.UUID, *, kind: str) -> int:
    """The sum of one voucher's lines in entries of ``kind`` (negative when they took money out)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalLine.voucher_id == voucher_id, JournalEntry.kind == kind)
        )
    )


def _insert_entry(session: Session, **values) -> int:
    return session.execute(
        insert(JournalEntry).values(created_at=clock.now(), **values).returning(JournalEntry.id)
    ).scalar_one()


def post_voucher_batch(
    session: Session,
    *,
    kind: str,
    month: date,
    created_by: str,
    job_run_id: int,
    voucher_amount: ColumnElement[int],
    vouchers_where: ColumnElement[bool],
    balancing_account: str,
) -> dict[str, int]:
    """The journal of a set-based job: one entry per district holding vouchers that match
    ``vouchers_where``, each with a line of ``voucher_amount`` per voucher and one line on
    ``balancing_account`` that brings it to zero.

    Whatever the volume this is one scan of the vouchers and no rows through Python: the
    entries are inserted first (one per district), then all voucher lines by one
    INSERT … SELECT joined to them, then the balancing lines by one INSERT … SELECT … GROUP BY.
    Returns the total of the voucher lines per district.
    """
    districts = session.scalars(
        select(Voucher.district_code).where(vouchers_where).distinct().order_by(Voucher.district_code)
    ).all()
    if not districts:
        return {}
    for district_code in districts:
        _insert_entry(
            session,
            kind=kind,
            district_code=district_code,
            month=month,
            created_by=created_by,
            job_run_id=job_run_id,
        )
    entries = (
        select(JournalEntry.id, JournalEntry.district_code)
        .where(JournalEntry.job_run_id == job_run_id, JournalEntry.kind == kind)
        .subquery()
    )
    session.execute(
        insert(JournalLine).from_select(
            ["entry_id", "district_code", "account", "voucher_id", "amount_fen"],
            select(entries.c.id, Voucher.district_code, literal("voucher"), Voucher.id, voucher_amount)
            .join(entries, entries.c.district_code == Voucher.district_code)
            .where(vouchers_where),
        )
    )
    entry_ids = select(entries.c.id)
    totals = (
        select(
            JournalLine.entry_id, JournalLine.district_code, func.sum(JournalLine.amount_fen).label("total")
        )
        .where(JournalLine.entry_id.in_(entry_ids))
        .group_by(JournalLine.entry_id, JournalLine.district_code)
        .subquery()
    )
    session.execute(
        insert(JournalLine).from_select(
            ["entry_id", "district_code", "account", "amount_fen"],
            select(
                totals.c.entry_id, totals.c.district_code, literal(balancing_account), -totals.c.total
            ).where(totals.c.total != 0),
        )
    )
    return {
        row.district_code: int(-row.amount_fen)
        for row in session.execute(
            select(JournalLine.district_code, JournalLine.amount_fen).where(
                JournalLine.entry_id.in_(entry_ids), JournalLine.account == balancing_account
            )
        )
    }


@dataclass
class LedgerReport:
    ok: bool
    entries: int
    lines: int
    vouchers_checked: int
    mismatches: list[dict] = field(default_factory=list)


def verify(session: Session) -> LedgerReport:
    """Recompute every balance from the journal and compare with the stored caches."""
    mismatches: list[dict] = []
    entries = session.scalar(select(func.count()).select_from(JournalEntry)) or 0
    lines = session.scalar(select(func.count()).select_from(JournalLine)) or 0

    unbalanced = session.execute(
        select(JournalLine.entry_id, func.sum(JournalLine.amount_fen).label("total"))
        .group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.amount_fen) != 0)
        .limit(MAX_REPORTED_MISMATCHES)
    )
    mismatches += [
        {
            "kind": "unbalanced_entry",
            "entry_id": str(r.entry_id),
            "sum_fen": int(r.total),
        }
        for r in unbalanced
    ]

    empty_entries = session.execute(
        select(JournalEntry.id)
        .where(~select(JournalLine.id).where(JournalLine.entry_id == JournalEntry.id).exists())
        .limit(MAX_REPORTED_MISMATCHES)
    )
    mismatches += [{"kind": "entry_without_lines", "entry_id": str(r.id)} for r in empty_entries]

    journal_balance = (
        select(JournalLine.voucher_id, func.sum(JournalLine.amount_fen).label("balance"))
        .where(JournalLine.account == "voucher")
        .group_by(JournalLine.voucher_id)
        .subquery()
    )
    recomputed = func.coalesce(journal_balance.c.balance, 0)
    voucher_rows = session.execute(
        select(Voucher.id, Voucher.balance_fen, recomputed.label("journal"))
        .outerjoin(journal_balance, journal_balance.c.voucher_id == Voucher.id)
        .where(Voucher.balance_fen != recomputed)
        .limit(MAX_REPORTED_MISMATCHES)
    )
    mismatches += [
        {
            "kind": "voucher_balance",
            "voucher_id": str(r.id),
            "stored_fen": int(r.balance_fen),
            "journal_fen": int(r.journal),
        }
        for r in voucher_rows
    ]
    vouchers_checked = session.scalar(select(func.count()).select_from(Voucher)) or 0

    closed_with_balance = session.execute(
        select(Voucher.id, Voucher.balance_fen)
        .where(Voucher.status != "active", Voucher.balance_fen != 0)
        .limit(MAX_REPORTED_MISMATCHES)
    )
    mismatches += [
        {
            "kind": "closed_voucher_with_balance",
            "voucher_id": str(r.id),
            "stored_fen": int(r.balance_fen),
        }
        for r in closed_with_balance
    ]

    # What the journal owes each provider must equal its posted, unreversed redemptions, less
    # what settlement rejected, what it paid (payable less the clawbacks netted from it), and
    # what audits clawed back (negative: the provider owes it until a payment nets it).
    payable = select(
        JournalLine.provider_id.label("provider_id"),
        JournalLine.amount_fen.label("journal"),
        literal(0).label("owed"),
    ).where(JournalLine.account == "provider_payable")
    posted = select(Redemption.provider_id, literal(0), Redemption.deduction_fen).where(
        Redemption.status == "posted"
    )
    rejected = select(SettlementItem.provider_id, literal(0), -SettlementItem.deduction_fen).where(
        SettlementItem.rejected.is_(True)
    )
    paid = select(
        SettlementLine.provider_id, literal(0), SettlementLine.clawback_fen - SettlementLine.payable_fen
    ).where(SettlementLine.paid.is_(True))
    clawed_back = select(
        AuditFindingRedemption.provider_id, literal(0), -AuditFindingRedemption.deduction_fen
    ).where(AuditFindingRedemption.effect == "clawback")
    movements = union_all(payable, posted, rejected, paid, clawed_back).subquery()
    provider_rows = session.execute(
        select(
            movements.c.provider_id,
            func.sum(movements.c.journal).label("journal"),
            func.sum(movements.c.owed).label("owed"),
        )
        .group_by(movements.c.provider_id)
        .having(func.sum(movements.c.journal) != func.sum(movements.c.owed))
        .limit(MAX_REPORTED_MISMATCHES)
    )
    mismatches += [
        {
            "kind": "provider_payable",
            "provider_id": str(r.provider_id),
            "journal_fen": int(r.journal),
            "owed_fen": int(r.owed),
        }
        for r in provider_rows
    ]
    return LedgerReport(
        ok=not mismatches,
        entries=int(entries),
        lines=int(lines),
        vouchers_checked=int(vouchers_checked),
        mismatches=mismatches,
    )
