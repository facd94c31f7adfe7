from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NoPolicyForMonth, UnknownDistrict
from app.reference.models import CatalogueItem, District, PolicyRule, ProgramPeriod
from app.rules.months import Month
from app.rules.policy import PolicyTerms, terms_in_force
from app.rules.policy import ProgramPeriod as ProgramPeriodTerms


def list_districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.code)))


def ensure_district(session: Session, code: str) -> None:
    if session.get(District, code) is None:
        raise UnknownDistrict(f"未知的行政区划代码 {code}")


def list_catalogue(session: Session) -> list[CatalogueItem]:
    return list(session.scalars(select(CatalogueItem).order_by(CatalogueItem.item)))


def get_catalogue_item(session: Session, item: int) -> CatalogueItem | None:
    return session.get(CatalogueItem, item)


def program_period(session: Session) -> ProgramPeriodTerms:
    row = session.scalars(select(ProgramPeriod).order_by(ProgramPeriod.id.desc()).limit(1)).one()
    return ProgramPeriodTerms(Month.of(row.first_month), Month.of(row.last_month))


def _terms(row: PolicyRule) -> PolicyTerms:
    return PolicyTerms(
        effective_from=Month.of(row.effective_from),
        home_community_rate=row.home_community_rate,
        institution_rate=row.institution_rate,
        monthly_cap_fen=row.monthly_cap_fen,
        central_share=row.central_share,
        city_share=row.city_share,
        district_share=row.district_share,
    )


def policy_for_month(session: Session, month: Month) -> PolicyTerms:
    """The terms in force in ``month``; NO_POLICY_FOR_MONTH outside the program period."""
    period = program_period(session)
    if not period.includes(month):
        raise NoPolicyForMonth(f"{month} 不在项目实施期 {period.first_month} 至 {period.last_month} 内")
    rows = session.scalars(select(PolicyRule).where(PolicyRule.effective_from <= month.first_day))
    terms = terms_in_force((_terms(row) for row in rows), month)
    if terms is None:
        raise NoPolicyForMonth(f"{month} 没有生效的补贴政策")
    return terms
