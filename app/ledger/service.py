from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, func, insert, literal, select
from sqlalchemy.orm import Session

from app import clock
from app.models.ledger import JournalEntry, JournalLine
from app.models.vouchers import Voucher
from app.rules.ledger import Line, check_balanced


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
    return _balance_entries(session, select(entries.c.id), balancing_account)


def _balance_entries(session: Session, entry_ids, balancing_account: str) -> dict[str, int]:
    """One line on ``balancing_account`` per entry that brings it to zero (INSERT … SELECT …
    GROUP BY); returns the total of the voucher lines per district."""
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
