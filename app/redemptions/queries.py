"""Redemptions of a district found by filters, for the dashboard's list and its exports.

Every query is bounded by the district and one or more months, so that it runs on the
``(district_code, month, status)`` index; pages use LIMIT/OFFSET and exports read a server-side
cursor in chunks, never a whole month in memory. An elder is searched by name (a part of it,
within the district) or by a full ID number, matched against the stored value and never
returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from app.models.elders import Elder
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem
from app.rules.identity import normalise_id_number
from app.rules.months import BEIJING, Month

CHUNK_ROWS = 2000


@dataclass(frozen=True)
class RedemptionFilters:
    """What the list asks for. ``months`` is the first and last month searched (inclusive);
    ``served_from``/``served_to`` narrow it to Beijing dates."""

    district_code: str
    months: tuple[Month, Month]
    served_from: date | None = None
    served_to: date | None = None
    elder_id: uuid.UUID | None = None
    elder_name: str | None = None
    provider_id: uuid.UUID | None = None
    item: int | None = None
    amount_min_fen: int | None = None
    amount_max_fen: int | None = None
    status: str | None = None
    missing_evidence: bool = False


@dataclass(frozen=True)
class RedemptionRow:
    id: uuid.UUID
    served_at: datetime
    month: date
    provider_id: uuid.UUID
    provider_name: str
    elder_id: uuid.UUID
    elder_name: str
    item: int
    item_name: str
    amount_fen: int
    ltci_paid_fen: int
    deduction_fen: int
    self_pay_fen: int
    status: str
    evidence_complete: bool
    receipt_no: str | None


@dataclass(frozen=True)
class RedemptionTotals:
    count: int
    amount_fen: int
    deduction_fen: int


def elder_by_id_number(session: Session, district_code: str, text: str) -> uuid.UUID | None:
    """The district's elder with this full ID number (normalised), or None."""
    id_number = normalise_id_number(text)
    if id_number is None:
        return None
    return session.scalar(
        select(Elder.id).where(Elder.id_number == id_number, Elder.district_code == district_code)
    )


def looks_like_id_number(text: str) -> bool:
    return normalise_id_number(text) is not None


def _beijing_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def _conditions(f: RedemptionFilters) -> list:
    first, last = f.months
    where = [Redemption.district_code == f.district_code]
    where.append(Redemption.month == first.first_day if first == last else Redemption.month.between(first.first_day, last.first_day))  # fmt: skip
    if f.status:
        where.append(Redemption.status == f.status)
    if f.served_from:
        where.append(Redemption.served_at >= _beijing_start(f.served_from))
    if f.served_to:
        where.append(Redemption.served_at < _beijing_start(f.served_to + timedelta(days=1)))
    if f.elder_id:
        where.append(Redemption.elder_id == f.elder_id)
    if f.elder_name:
        pattern = "%" + f.elder_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            Redemption.elder_id.in_(
                select(Elder.id).where(
                    Elder.district_code == f.district_code, Elder.name.like(pattern, escape="\\")
                )
            )
        )
    if f.provider_id:
        where.append(Redemption.provider_id == f.provider_id)
    if f.item is not None:
        where.append(Redemption.item == f.item)
    if f.amount_min_fen is not None:
        where.append(Redemption.amount_fen >= f.amount_min_fen)
    if f.amount_max_fen is not None:
        where.append(Redemption.amount_fen <= f.amount_max_fen)
    if f.missing_evidence:
        where.append(Redemption.evidence_complete.is_(False))
    return where


def _rows_query(f: RedemptionFilters) -> Select:
    return (
        select(
            Redemption.id,
            Redemption.served_at,
            Redemption.month,
            Redemption.provider_id,
            Provider.name,
            Redemption.elder_id,
            Elder.name,
            Redemption.item,
            CatalogueItem.name,
            Redemption.amount_fen,
            Redemption.ltci_paid_fen,
            Redemption.deduction_fen,
            Redemption.self_pay_fen,
            Redemption.status,
            Redemption.evidence_complete,
            Redemption.receipt_no,
        )
        .join(Provider, Provider.id == Redemption.provider_id)
        .join(Elder, Elder.id == Redemption.elder_id)
        .join(CatalogueItem, CatalogueItem.item == Redemption.item)
        .where(and_(*_conditions(f)))
        .order_by(Redemption.served_at.desc(), Redemption.id.desc())
    )


def _row(row) -> RedemptionRow:
    return RedemptionRow(*row[:9], int(row[9]), int(row[10]), int(row[11]), int(row[12]), *row[13:])


def page_of(session: Session, f: RedemptionFilters, *, limit: int, offset: int) -> list[RedemptionRow]:
    """One page of the filtered redemptions, newest service first."""
    return [_row(r) for r in session.execute(_rows_query(f).limit(limit).offset(offset))]


def totals_of(session: Session, f: RedemptionFilters) -> RedemptionTotals:
    """How many redemptions match, and their amounts (posted and reversed alike, as filtered)."""
    count, amount, deduction = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Redemption.amount_fen), 0),
            func.coalesce(func.sum(Redemption.deduction_fen), 0),
        ).where(and_(*_conditions(f)))
    ).one()
    return RedemptionTotals(int(count), int(amount), int(deduction))


def stream_rows(session: Session, f: RedemptionFilters) -> Iterator[RedemptionRow]:
    """Every matching redemption, read from a server-side cursor ``CHUNK_ROWS`` at a time."""
    result = session.execute(_rows_query(f).execution_options(yield_per=CHUNK_ROWS))
    try:
        for row in result:
            yield _row(row)
    finally:
        result.close()
