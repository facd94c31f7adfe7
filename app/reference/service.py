from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.models.reference import CatalogueItem, District, PolicyRule, ProgramPeriod
from app.reference.errors import NoPolicyForMonth, UnknownDistrict
from app.rules.months import Month
from app.rules.policy import PolicyTerms, terms_in_force
from app.rules.policy import ProgramPeriod as ProgramPeriodTerms


def list_districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.code)))


def ensure_district(session: Session, code: str) -> None:
    if session.get(District, code) is None:
        raise UnknownDistrict(f"未知的行政区划代码 {code}")


# Names people use for the districts whose short form is not the name without its final 区.
_SHORT_NAMES = {"110400": "经开区"}


def district_short_name(district: District) -> str:
    """朝阳区 → 朝阳; 北京经济技术开发区 → 经开区."""
    return _SHORT_NAMES.get(district.code, district.name.removesuffix("区"))


def resolve_district(session: Session, text: str) -> str:
    """The code of the district named by its code (110105), full name (朝阳区) or short name (朝阳);
    UNKNOWN_DISTRICT for anything else."""
    wanted = text.strip()
    for district in list_districts(session):
        if wanted in (district.code, district.name, district_short_name(district)):
            return district.code
    raise UnknownDistrict(f"未知的行政区:{wanted}(可用代码、全称或简称,见 voucher districts)")


def list_catalogue(session: Session) -> list[CatalogueItem]:
    return list(session.scalars(select(CatalogueItem).order_by(CatalogueItem.item)))


@dataclass(frozen=True)
class CatalogueEntry:
    item: int
    category: str
    name: str
    ref_price_min_fen: int | None
    ref_price_max_fen: int | None


@dataclass(frozen=True)
class ReferenceSnapshot:
    catalogue: dict[int, CatalogueEntry]
    policy_rows: tuple[PolicyTerms, ...]
    program: ProgramPeriodTerms


# Reference data changes only through migrations, i.e. with a deployment; every redemption
# needs it, so each process reads it once per database. ``forget_reference_data`` drops it.
_snapshots: dict[str, ReferenceSnapshot] = {}
_snapshot_lock = threading.Lock()


def forget_reference_data() -> None:
    with _snapshot_lock:
        _snapshots.clear()


def reference_data(session: Session) -> ReferenceSnapshot:
    key = session.get_bind().url.render_as_string(hide_password=False)
    snapshot = _snapshots.get(key)
    if snapshot is None:
        program = session.scalars(select(ProgramPeriod).order_by(ProgramPeriod.id.desc()).limit(1)).one()
        snapshot = ReferenceSnapshot(
            catalogue={
                row.item: CatalogueEntry(
                    row.item, row.category, row.name, row.ref_price_min_fen, row.ref_price_max_fen
                )
                for row in session.scalars(select(CatalogueItem))
            },
            policy_rows=tuple(_terms(row) for row in session.scalars(select(PolicyRule))),
            program=ProgramPeriodTerms(Month.of(program.first_month), Month.of(program.last_month)),
        )
        with _snapshot_lock:
            _snapshots[key] = snapshot
    return snapshot


@lru_cache(maxsize=8)
def _snapshot_key(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=False)


def reference_data_of(database_url: str) -> ReferenceSnapshot | None:
    """The snapshot already read for this database, if any (the async hot path reads it without
    a session; the first request of a process loads it through one)."""
    return _snapshots.get(_snapshot_key(database_url))


def get_catalogue_item(session: Session, item: int) -> CatalogueEntry | None:
    return reference_data(session).catalogue.get(item)


def program_period(session: Session) -> ProgramPeriodTerms:
    return reference_data(session).program


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
    return terms_for(reference_data(session), month)


def terms_for(snapshot: ReferenceSnapshot, month: Month) -> PolicyTerms:
    """The terms in force in ``month`` from a snapshot already read; NO_POLICY_FOR_MONTH outside
    the program period."""
    period = snapshot.program
    if not period.includes(month):
        raise NoPolicyForMonth(f"{month} 不在项目实施期 {period.first_month} 至 {period.last_month} 内")
    terms = terms_in_force(snapshot.policy_rows, month)
    if terms is None:
        raise NoPolicyForMonth(f"{month} 没有生效的补贴政策")
    return terms
