"""The quarterly progress report of a district (季度进展报告; due 3/25, 6/25, 9/25, 12/25).

Every figure is a set-based SQL aggregate grouped by month (a handful of statements whatever
the volume); Python only arranges the at most three rows each returns. Money is integer fen;
utilisation is an exact decimal (app.rules.reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import ensure_district_in_scope
from app.calendar.service import working_calendar
from app.models.ledger import JournalEntry, JournalLine
from app.models.redemptions import Redemption
from app.models.reference import District
from app.models.settlements import SettlementBatch
from app.models.vouchers import Voucher
from app.reference.service import ensure_district
from app.rules.months import Month
from app.rules.reports import quarter_months, report_due_on, utilisation_text
from app.rules.settlement import deadlines, is_overdue

CATEGORIES = ("home_community", "institution")
# Batches whose money is committed: finance approved them (payment) or they are paid (settled).
FUNDED_STATUSES = ("payment", "settled")
NOT_BUILT = "not_built"


@dataclass
class CategoryFigures:
    redemptions: int = 0
    amount_fen: int = 0
    deduction_fen: int = 0


@dataclass
class RedemptionCounts:
    count: int = 0  # every redemption written, reversed or not
    posted: int = 0
    reversed: int = 0
    elders: int = 0  # distinct elders with a posted redemption


@dataclass
class ClosedVouchers:
    vouchers: int = 0
    released_fen: int = 0  # balance returned to the program (journal, account program_released)


@dataclass
class Funding:
    central_fen: int = 0
    city_fen: int = 0
    district_fen: int = 0
    payable_fen: int = 0


@dataclass
class Deadlines:
    civil_review: date
    finance_review: date | None
    payment: date | None


@dataclass
class SettlementProgress:
    settlement_id: str | None
    status: str  # a batch status, or "not_built"
    deadlines: Deadlines
    overdue: bool
    payable_fen: int | None


@dataclass
class PeriodFigures:
    elders_with_vouchers: int = 0
    vouchers_issued: int = 0
    face_value_fen: int = 0
    redemptions: RedemptionCounts = field(default_factory=RedemptionCounts)
    amount_fen: int = 0
    deduction_fen: int = 0
    by_category: dict[str, CategoryFigures] = field(
        default_factory=lambda: {c: CategoryFigures() for c in CATEGORIES}
    )
    utilisation: str | None = None
    expired: ClosedVouchers = field(default_factory=ClosedVouchers)
    revoked: ClosedVouchers = field(default_factory=ClosedVouchers)
    funding: Funding = field(default_factory=Funding)


@dataclass
class MonthFigures(PeriodFigures):
    month: str = ""
    settlement: SettlementProgress | None = None


@dataclass
class QuarterlyReport:
    district_code: str
    district_name: str
    year: int
    quarter: int
    months: list[MonthFigures]
    total: PeriodFigures
    due_on: date
    generated_at: datetime


def _voucher_figures(session: Session, district_code: str, months: list[date], now: datetime):
    in_period = and_(
        Voucher.district_code == district_code, Voucher.month.in_(months), Voucher.kind == "monthly"
    )
    # A voucher past its month is expired even before the expiry job closed it.
    expired = or_(Voucher.status == "expired", and_(Voucher.status == "active", Voucher.valid_until <= now))
    columns = (
        func.count(),
        func.count(func.distinct(Voucher.elder_id)),
        func.coalesce(func.sum(Voucher.face_value_fen), 0),
        func.coalesce(func.sum(case((expired, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Voucher.status == "revoked", 1), else_=0)), 0),
    )
    return session.execute(select(Voucher.month, *columns).where(in_period).group_by(Voucher.month)).all()


def _distinct_voucher_elders(session: Session, district_code: str, months: list[date]) -> int:
    """Elders holding a voucher in any of the months, each counted once."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Voucher.elder_id))).where(
                Voucher.district_code == district_code, Voucher.month.in_(months), Voucher.kind == "monthly"
            )
        )
        or 0
    )


def _redemption_figures(session: Session, district_code: str, months: list[date]):
    in_period = and_(Redemption.district_code == district_code, Redemption.month.in_(months))
    per_category = session.execute(
        select(
            Redemption.month,
            Redemption.category,
            Redemption.status,
            func.count(),
            func.coalesce(func.sum(Redemption.amount_fen), 0),
            func.coalesce(func.sum(Redemption.deduction_fen), 0),
        )
        .where(in_period)
        .group_by(Redemption.month, Redemption.category, Redemption.status)
    ).all()
    elders_per_month = session.execute(
        select(Redemption.month, func.count(func.distinct(Redemption.elder_id)))
        .where(in_period, Redemption.status == "posted")
        .group_by(Redemption.month)
    ).all()
    return per_category, elders_per_month


def _distinct_redeeming_elders(session: Session, district_code: str, months: list[date]) -> int:
    """Elders with a posted redemption in any of the months, each counted once."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Redemption.elder_id))).where(
                Redemption.district_code == district_code,
                Redemption.month.in_(months),
                Redemption.status == "posted",
            )
        )
        or 0
    )


def _released_figures(session: Session, district_code: str, months: list[date]):
    """Balance returned to the program by expiry and by revocation, per month, from the journal."""
    return session.execute(
        select(JournalEntry.month, JournalEntry.kind, func.coalesce(func.sum(JournalLine.amount_fen), 0))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(
            JournalEntry.district_code == district_code,
            JournalEntry.month.in_(months),
            JournalEntry.kind.in_(("expire", "revoke")),
            JournalLine.account == "program_released",
        )
        .group_by(JournalEntry.month, JournalEntry.kind)
    ).all()


def _settlement(
    month: Month, batch: SettlementBatch | None, *, has_redemptions: bool, calendar
) -> SettlementProgress:
    today = clock.today()
    if batch is None:
        # No batch yet: the civil review deadline still runs once the month is over.
        due = deadlines(month, calendar, civil_submitted_on=None, finance_approved_on=None)
        return SettlementProgress(
            settlement_id=None,
            status=NOT_BUILT,
            deadlines=Deadlines(due.civil_review, None, None),
            overdue=has_redemptions and today > due.civil_review,
            payable_fen=None,
        )
    due = deadlines(
        month,
        calendar,
        civil_submitted_on=batch.civil_submitted_on,
        finance_approved_on=batch.finance_approved_on,
    )
    return SettlementProgress(
        settlement_id=str(batch.id),
        status=batch.status,
        deadlines=Deadlines(due.civil_review, due.finance_review, due.payment),
        overdue=is_overdue(batch.status, due, today),
        payable_fen=batch.payable_fen,
    )


def _utilise(figures: PeriodFigures) -> None:
    """Deduction over face value of the monthly vouchers: the assessment vouchers' deductions
    (category ``assessment``) are in the totals but not in this ratio, nor is their face value."""
    assessment = figures.by_category.get("assessment")
    monthly_deduction = figures.deduction_fen - (assessment.deduction_fen if assessment else 0)
    figures.utilisation = utilisation_text(monthly_deduction, figures.face_value_fen)


# Rows of (month, category, status, count, amount_fen, deduction_fen) and (month, distinct elders).
RedemptionRows = tuple[list[tuple], list[tuple]]


def monthly_figures(
    session: Session,
    district_code: str,
    months: list[Month],
    *,
    redemption_rows: RedemptionRows | None = None,
) -> list[MonthFigures]:
    """Each month's figures for the district: vouchers, redemptions by category, released
    balances, the settlement's progress and funding. Set-based, a handful of statements.

    ``redemption_rows``: the redemption aggregates when the caller already has them (the
    dashboard's overview derives them from its own, finer grouping: one pass, not two)."""
    days = [m.first_day for m in months]
    by_day = {m.first_day: MonthFigures(month=str(m)) for m in months}
    _add_vouchers(by_day, _voucher_figures(session, district_code, days, clock.now()))
    _add_redemptions(by_day, redemption_rows or _redemption_figures(session, district_code, days))
    for day, kind, released in _released_figures(session, district_code, days):
        target = by_day[day].expired if kind == "expire" else by_day[day].revoked
        target.released_fen += int(released)
    _add_settlements(session, district_code, months, by_day)
    for figures in by_day.values():
        _utilise(figures)
    return [by_day[day] for day in days]


def _add_vouchers(by_day: dict[date, MonthFigures], rows) -> None:
    for day, issued, elders, face, expired, revoked in rows:
        figures = by_day[day]
        figures.vouchers_issued, figures.elders_with_vouchers = int(issued), int(elders)
        figures.face_value_fen = int(face)
        figures.expired.vouchers, figures.revoked.vouchers = int(expired), int(revoked)


def _add_redemptions(by_day: dict[date, MonthFigures], rows: RedemptionRows) -> None:
    category_rows, elder_rows = rows
    for day, category, status, count, amount, deduction in category_rows:
        figures = by_day[day]
        figures.redemptions.count += int(count)
        if status == "reversed":
            figures.redemptions.reversed += int(count)
            continue
        figures.redemptions.posted += int(count)
        figures.amount_fen += int(amount)
        figures.deduction_fen += int(deduction)
        per_category = figures.by_category.setdefault(category, CategoryFigures())
        per_category.redemptions += int(count)
        per_category.amount_fen += int(amount)
        per_category.deduction_fen += int(deduction)
    for day, elders in elder_rows:
        by_day[day].redemptions.elders = int(elders)


def _add_settlements(
    session: Session, district_code: str, months: list[Month], by_day: dict[date, MonthFigures]
) -> None:
    """Each month's settlement progress, and its funding once finance has committed the money."""
    batches = {
        batch.month: batch
        for batch in session.scalars(
            select(SettlementBatch).where(
                SettlementBatch.district_code == district_code,
                SettlementBatch.month.in_([m.first_day for m in months]),
            )
        )
    }
    calendar = working_calendar(session)
    for month in months:
        figures = by_day[month.first_day]
        batch = batches.get(month.first_day)
        figures.settlement = _settlement(
            month, batch, has_redemptions=figures.redemptions.posted > 0, calendar=calendar
        )
        if batch is not None and batch.status in FUNDED_STATUSES:
            figures.funding = Funding(
                batch.central_fen, batch.city_fen, batch.district_fen, batch.payable_fen
            )


def quarterly_report(
    session: Session, caller: Principal, *, district_code: str, year: int, quarter: int
) -> QuarterlyReport:
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    quarter_of = list(quarter_months(year, quarter))
    months = monthly_figures(session, district_code, quarter_of)
    district = session.get(District, district_code)
    return QuarterlyReport(
        district_code=district_code,
        district_name=district.name if district else "",
        year=year,
        quarter=quarter,
        months=months,
        total=period_total(session, district_code, quarter_of, months),
        due_on=report_due_on(year, quarter),
        generated_at=clock.now(),
    )


def period_total(
    session: Session, district_code: str, period: list[Month], months: list[MonthFigures]
) -> PeriodFigures:
    """A period's figures (a quarter, a year so far): sums of its months, except the elders,
    who are counted once over the period, not summed over its months."""
    days = [m.first_day for m in period]
    total = PeriodFigures()
    total.elders_with_vouchers = _distinct_voucher_elders(session, district_code, days)
    total.redemptions.elders = _distinct_redeeming_elders(session, district_code, days)
    for figures in months:
        total.vouchers_issued += figures.vouchers_issued
        total.face_value_fen += figures.face_value_fen
        total.redemptions.count += figures.redemptions.count
        total.redemptions.posted += figures.redemptions.posted
        total.redemptions.reversed += figures.redemptions.reversed
        total.amount_fen += figures.amount_fen
        total.deduction_fen += figures.deduction_fen
        for category, values in figures.by_category.items():
            into = total.by_category.setdefault(category, CategoryFigures())
            into.redemptions += values.redemptions
            into.amount_fen += values.amount_fen
            into.deduction_fen += values.deduction_fen
        for name in ("expired", "revoked"):
            into, values = getattr(total, name), getattr(figures, name)
            into.vouchers += values.vouchers
            into.released_fen += values.released_fen
        total.funding.central_fen += figures.funding.central_fen
        total.funding.city_fen += figures.funding.city_fen
        total.funding.district_fen += figures.funding.district_fen
        total.funding.payable_fen += figures.funding.payable_fen
    _utilise(total)
    return total
