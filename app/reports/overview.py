"""A district's month at a glance, for the dashboard's overview page: the month's figures (the
same as the quarterly report's), redemptions per Beijing day, the top providers, and the
progress of the latest settlement batch. Set-based SQL; a few statements whatever the volume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import BigInteger, Integer, and_, cast, extract, func, select
from sqlalchemy.orm import Session

from app import clock
from app.calendar.service import working_calendar
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.settlements import SettlementBatch
from app.reports.service import MonthFigures, monthly_figures
from app.rules.calendar import working_days_between
from app.rules.months import Month
from app.rules.settlement import current_deadline, is_overdue
from app.settlements.service import batch_deadlines

TOP_PROVIDERS = 10
STAGES = ("civil_review", "finance_review", "payment")


@dataclass(frozen=True)
class DayFigures:
    day: date
    redemptions: int
    deduction_fen: int


@dataclass(frozen=True)
class ProviderFigures:
    provider_id: str
    name: str
    kind: str
    redemptions: int
    elders: int
    deduction_fen: int


@dataclass(frozen=True)
class Stage:
    name: str  # civil_review | finance_review | payment
    state: str  # done | current | pending
    deadline: date | None
    working_days_left: int | None  # for the current stage; negative when overdue
    overdue: bool


@dataclass(frozen=True)
class BatchProgress:
    settlement_id: str
    month: str
    status: str
    payable_fen: int
    stages: list[Stage]
    overdue: bool


@dataclass(frozen=True)
class MonthOverview:
    district_code: str
    month: Month
    figures: MonthFigures
    daily: list[DayFigures]
    top_providers: list[ProviderFigures]
    batch: BatchProgress | None


def _beijing_day_number(session: Session, column):
    """Days since 1970-01-01 in Asia/Shanghai (UTC+8, no daylight saving) of a stored instant."""
    if session.get_bind().dialect.name == "postgresql":
        seconds = cast(extract("epoch", column), BigInteger)
    else:
        seconds = cast(func.strftime("%s", column), Integer)
    return (seconds + 8 * 3600) // 86400


def _of_month(district_code: str, month: Month):
    # Served by the index (district_code, month, status) of redemptions.
    return and_(Redemption.district_code == district_code, Redemption.month == month.first_day)


@dataclass(frozen=True)
class _DayBreakdown:
    """Redemptions of a month by Beijing day, category and status: one pass over the month,
    from which both the daily chart and the category figures are summed."""

    rows: list[tuple]  # (day, category, status, count, amount_fen, deduction_fen)

    def daily(self, month: Month) -> list[DayFigures]:
        posted: dict[date, tuple[int, int]] = {}
        for day, _category, status, count, _amount, deduction in self.rows:
            if status == "posted":
                count_so_far, fen_so_far = posted.get(day, (0, 0))
                posted[day] = (count_so_far + count, fen_so_far + deduction)
        days, day = [], month.first_day
        while day < month.next().first_day:
            count, fen = posted.get(day, (0, 0))
            days.append(DayFigures(day, count, fen))
            day += timedelta(days=1)
        return days

    def by_category(self, month: Month) -> list[tuple]:
        """Rows as ``reports.service._redemption_figures`` gives them, for ``monthly_figures``."""
        summed: dict[tuple[str, str], list[int]] = {}
        for _day, category, status, count, amount, deduction in self.rows:
            into = summed.setdefault((category, status), [0, 0, 0])
            into[0] += count
            into[1] += amount
            into[2] += deduction
        return [(month.first_day, category, status, *values) for (category, status), values in summed.items()]


def _day_breakdown(session: Session, district_code: str, month: Month) -> _DayBreakdown:
    day_number = _beijing_day_number(session, Redemption.served_at).label("day_number")
    rows = session.execute(
        select(
            day_number,
            Redemption.category,
            Redemption.status,
            func.count(),
            func.sum(Redemption.amount_fen),
            func.sum(Redemption.deduction_fen),
        )
        .where(_of_month(district_code, month))
        .group_by(day_number, Redemption.category, Redemption.status)
    ).all()
    epoch = date(1970, 1, 1)
    return _DayBreakdown(
        [
            (epoch + timedelta(days=int(number)), category, status, int(count), int(amount), int(deduction))
            for number, category, status, count, amount, deduction in rows
        ]
    )


def _top_providers(session: Session, district_code: str, month: Month) -> list[ProviderFigures]:
    """The providers with the largest deductions, and the elders each served. The elders are
    counted for those few providers only, through the (provider_id, month) index: a distinct
    count for every provider would sort the whole month."""
    deduction = func.sum(Redemption.deduction_fen).label("deduction_fen")
    posted = and_(_of_month(district_code, month), Redemption.status == "posted")
    top = session.execute(
        select(Redemption.provider_id, func.count().label("redemptions"), deduction)
        .where(posted)
        .group_by(Redemption.provider_id)
        .order_by(deduction.desc(), Redemption.provider_id)
        .limit(TOP_PROVIDERS)
    ).all()
    if not top:
        return []
    ids = [row.provider_id for row in top]
    elders = dict(
        session.execute(
            select(Redemption.provider_id, func.count(func.distinct(Redemption.elder_id)))
            .where(posted, Redemption.provider_id.in_(ids))
            .group_by(Redemption.provider_id)
        ).all()
    )
    named = {
        row.id: row
        for row in session.execute(
            select(Provider.id, Provider.name, Provider.kind).where(Provider.id.in_(ids))
        )
    }
    return [
        ProviderFigures(
            str(row.provider_id),
            named[row.provider_id].name,
            named[row.provider_id].kind,
            int(row.redemptions),
            int(elders.get(row.provider_id, 0)),
            int(row.deduction_fen),
        )
        for row in top
    ]


def _redeeming_elders(session: Session, district_code: str, month: Month) -> int:
    """Distinct elders with a posted redemption: DISTINCT in a subquery lets PostgreSQL hash the
    elders instead of sorting the month as COUNT(DISTINCT …) does."""
    elders = (
        select(Redemption.elder_id)
        .where(_of_month(district_code, month), Redemption.status == "posted")
        .distinct()
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(elders)) or 0)


def batch_progress(session: Session, batch: SettlementBatch) -> BatchProgress:
    """Each review stage of a batch: done, current (with working days left) or still to come."""
    due = batch_deadlines(session, batch)
    today = clock.today()
    overdue = is_overdue(batch.status, due, today)
    current = current_deadline(batch.status, due)
    left = working_days_between(today, current, working_calendar(session)) if current else None
    reached = STAGES.index(batch.status) if batch.status in STAGES else len(STAGES)
    stages = []
    for index, name in enumerate(STAGES):
        state = "done" if index < reached else "current" if index == reached else "pending"
        stages.append(
            Stage(
                name=name,
                state=state,
                deadline=getattr(due, name),
                working_days_left=left if state == "current" else None,
                overdue=overdue and state == "current",
            )
        )
    return BatchProgress(
        settlement_id=str(batch.id),
        month=str(Month.of(batch.month)),
        status=batch.status,
        payable_fen=batch.payable_fen,
        stages=stages,
        overdue=overdue,
    )


def latest_batch(session: Session, district_code: str, month: Month) -> SettlementBatch | None:
    """The batch a district is working on in ``month``: the newest batch of a month before it."""
    return session.scalars(
        select(SettlementBatch)
        .where(SettlementBatch.district_code == district_code, SettlementBatch.month < month.first_day)
        .order_by(SettlementBatch.month.desc())
        .limit(1)
    ).one_or_none()


def month_overview(session: Session, district_code: str, month: Month) -> MonthOverview:
    """Callers check the district is in the caller's scope (app.dashboard does, per request).

    Three passes over the month's redemptions, whatever their number: by (day, category,
    status), by provider, and its distinct elders; every figure of the page comes from those."""
    breakdown = _day_breakdown(session, district_code, month)
    providers = _top_providers(session, district_code, month)
    elders = _redeeming_elders(session, district_code, month)
    figures = monthly_figures(
        session,
        district_code,
        [month],
        redemption_rows=(breakdown.by_category(month), [(month.first_day, elders)]),
    )[0]
    batch = latest_batch(session, district_code, month)
    return MonthOverview(
        district_code=district_code,
        month=month,
        figures=figures,
        daily=breakdown.daily(month),
        top_providers=providers,
        batch=batch_progress(session, batch) if batch is not None else None,
    )
