"""``ledger verify``: every balance recomputed from the journal and compared with what the
domains store (voucher balances, what each provider is owed).

This reads the tables of several domains (vouchers, redemptions, settlements, audits), so it
lives above them all; the ledger itself knows only its journal. Each check is one query that
returns at most ``MAX_REPORTED_MISMATCHES`` findings of one kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from app.models.audits import AuditFindingRedemption
from app.models.ledger import JournalEntry, JournalLine
from app.models.redemptions import Redemption
from app.models.settlements import SettlementItem, SettlementLine
from app.models.vouchers import Voucher

MAX_REPORTED_MISMATCHES = 100


@dataclass
class LedgerReport:
    ok: bool
    entries: int
    lines: int
    vouchers_checked: int
    mismatches: list[dict] = field(default_factory=list)


def verify(session: Session) -> LedgerReport:
    """Recompute every balance from the journal and compare with the stored caches."""
    mismatches = [
        *unbalanced_entries(session),
        *entries_without_lines(session),
        *voucher_balance_mismatches(session),
        *closed_vouchers_with_balance(session),
        *provider_payable_mismatches(session),
    ]
    return LedgerReport(
        ok=not mismatches,
        entries=_count(session, JournalEntry),
        lines=_count(session, JournalLine),
        vouchers_checked=_count(session, Voucher),
        mismatches=mismatches,
    )


def _count(session: Session, table) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def unbalanced_entries(session: Session) -> list[dict]:
    rows = session.execute(
        select(JournalLine.entry_id, func.sum(JournalLine.amount_fen).label("total"))
        .group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.amount_fen) != 0)
        .limit(MAX_REPORTED_MISMATCHES)
    )
    return [{"kind": "unbalanced_entry", "entry_id": str(r.entry_id), "sum_fen": int(r.total)} for r in rows]


def entries_without_lines(session: Session) -> list[dict]:
    rows = session.execute(
        select(JournalEntry.id)
        .where(~select(JournalLine.id).where(JournalLine.entry_id == JournalEntry.id).exists())
        .limit(MAX_REPORTED_MISMATCHES)
    )
    return [{"kind": "entry_without_lines", "entry_id": str(r.id)} for r in rows]


def voucher_balance_mismatches(session: Session) -> list[dict]:
    """Each voucher's stored balance against the sum of its journal lines."""
    journal_balance = (
        select(JournalLine.voucher_id, func.sum(JournalLine.amount_fen).label("balance"))
        .where(JournalLine.account == "voucher")
        .group_by(JournalLine.voucher_id)
        .subquery()
    )
    recomputed = func.coalesce(journal_balance.c.balance, 0)
    rows = session.execute(
        select(Voucher.id, Voucher.balance_fen, recomputed.label("journal"))
        .outerjoin(journal_balance, journal_balance.c.voucher_id == Voucher.id)
        .where(Voucher.balance_fen != recomputed)
        .limit(MAX_REPORTED_MISMATCHES)
    )
    return [
        {
            "kind": "voucher_balance",
            "voucher_id": str(r.id),
            "stored_fen": int(r.balance_fen),
            "journal_fen": int(r.journal),
        }
        for r in rows
    ]


def closed_vouchers_with_balance(session: Session) -> list[dict]:
    """An expired or revoked voucher has released its balance to the program."""
    rows = session.execute(
        select(Voucher.id, Voucher.balance_fen)
        .where(Voucher.status != "active", Voucher.balance_fen != 0)
        .limit(MAX_REPORTED_MISMATCHES)
    )
    return [
        {"kind": "closed_voucher_with_balance", "voucher_id": str(r.id), "stored_fen": int(r.balance_fen)}
        for r in rows
    ]


def provider_payable_mismatches(session: Session) -> list[dict]:
    """What the journal owes each provider must equal its posted, unreversed redemptions, less
    what settlement rejected, what it paid (payable less the clawbacks netted from it), and what
    audits clawed back (negative: the provider owes it until a payment nets it)."""
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
    rows = session.execute(
        select(
            movements.c.provider_id,
            func.sum(movements.c.journal).label("journal"),
            func.sum(movements.c.owed).label("owed"),
        )
        .group_by(movements.c.provider_id)
        .having(func.sum(movements.c.journal) != func.sum(movements.c.owed))
        .limit(MAX_REPORTED_MISMATCHES)
    )
    return [
        {
            "kind": "provider_payable",
            "provider_id": str(r.provider_id),
            "journal_fen": int(r.journal),
            "owed_fen": int(r.owed),
        }
        for r in rows
    ]
