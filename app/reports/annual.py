"""The district's annual work summary (三(三) 工作总结, due 12/10): the year's months so far with the
same figures as the quarterly reports, the year's totals, and what supervision did (warnings,
spot checks, sanctions, deaths recorded). The district adds its own words when it submits it
(app/reports/submissions.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import ensure_district_in_scope
from app.models.anomalies import Anomaly
from app.models.audits import AuditFinding, AuditSample
from app.models.elders import Elder
from app.models.providers import Provider
from app.models.reference import District
from app.models.sanctions import BlacklistEntry, RectificationOrder
from app.reference.service import ensure_district, program_period
from app.reports.service import MonthFigures, PeriodFigures, monthly_figures, period_total
from app.rules.months import BEIJING, Month
from app.rules.reports import annual_due_on, summary_months


@dataclass
class SupervisionFigures:
    anomalies: dict[str, int] = field(default_factory=lambda: {"open": 0, "confirmed": 0, "dismissed": 0})
    audit_samples: int = 0
    audit_findings: int = 0
    rectification_orders: int = 0
    blacklistings: int = 0
    deaths_recorded: int = 0


@dataclass
class AnnualReport:
    district_code: str
    district_name: str
    year: int
    due_on: date
    generated_at: datetime
    months: list[MonthFigures]
    total: PeriodFigures
    supervision: SupervisionFigures
    providers_listed: dict[str, int]  # listed now, by kind
    elders_by_status: dict[str, int]  # registered now, by status


def annual_report(session: Session, caller: Principal, *, district_code: str, year: int) -> AnnualReport:
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    period = program_period(session)
    months = summary_months(year, period.first_month, period.last_month, clock.current_month())
    figures = monthly_figures(session, district_code, months)
    district = session.get(District, district_code)
    return AnnualReport(
        district_code=district_code,
        district_name=district.name if district else "",
        year=year,
        due_on=annual_due_on(year),
        generated_at=clock.now(),
        months=figures,
        total=period_total(session, district_code, months, figures),
        supervision=_supervision(session, district_code, year, months),
        providers_listed=_counts(
            session, Provider.kind, Provider.district_code == district_code, Provider.status == "listed"
        ),
        elders_by_status=_counts(session, Elder.status, Elder.district_code == district_code),
    )


def _counts(session: Session, column, *where) -> dict[str, int]:
    return {
        key: int(n) for key, n in session.execute(select(column, func.count()).where(*where).group_by(column))
    }


def _supervision(session: Session, district_code: str, year: int, months: list[Month]) -> SupervisionFigures:
    days = [m.first_day for m in months]
    start = datetime.combine(date(year, 1, 1), time.min, BEIJING)
    end = datetime.combine(date(year + 1, 1, 1), time.min, BEIJING)
    figures = SupervisionFigures()
    figures.anomalies.update(
        _counts(session, Anomaly.status, Anomaly.district_code == district_code, Anomaly.month.in_(days))
    )
    figures.audit_samples = _count(
        session, AuditSample, AuditSample.district_code == district_code, AuditSample.month.in_(days)
    )
    figures.audit_findings = _count(
        session, AuditFinding, AuditFinding.district_code == district_code, AuditFinding.month.in_(days)
    )
    figures.rectification_orders = _count(
        session,
        RectificationOrder,
        RectificationOrder.district_code == district_code,
        RectificationOrder.opened_at >= start,
        RectificationOrder.opened_at < end,
    )
    figures.blacklistings = _count(
        session,
        BlacklistEntry,
        BlacklistEntry.district_code == district_code,
        BlacklistEntry.listed_at >= start,
        BlacklistEntry.listed_at < end,
    )
    figures.deaths_recorded = _count(
        session,
        Elder,
        Elder.district_code == district_code,
        Elder.died_on >= date(year, 1, 1),
        Elder.died_on < date(year + 1, 1, 1),
    )
    return figures


def _count(session: Session, table, *where) -> int:
    return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)
