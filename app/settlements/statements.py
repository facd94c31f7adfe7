"""Settlement statements (结算单), the query side: one row per redemption a batch holds, its
provider lines and the totals, for a batch and for a provider's month across every district
batch that pays it. Read by the statement files (app/settlements/statement_csv.py and
statement_xlsx.py) and by the dashboard's settlement pages.

Rows come from one server-side query read in chunks (``yield_per``), so a batch of a million
redemptions streams in constant memory; totals come from the batch and its lines, or from SQL
aggregates, never from adding rows up in Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.errors import NotFound
from app.ids import parse_id
from app.models.elders import Elder
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem, District
from app.models.settlements import SettlementBatch, SettlementItem, SettlementLine
from app.rules.identity import mask_name
from app.rules.months import BEIJING, Month

CHUNK_ROWS = 1000

STATUS_TITLES = {
    "civil_review": "民政审核",
    "finance_review": "财政复审",
    "payment": "待支付",
    "settled": "已结算",
}

# One row per redemption, in this order (CSV and every provider sheet).
COLUMNS = (
    "服务机构",
    "统一社会信用代码",
    "核销编号",
    "老年人",
    "服务项目",
    "服务时间",
    "消费金额(元)",
    "长护险支付(元)",
    "抵扣金额(元)",
    "核减",
    "核减原因",
    "应付(元)",
    "缺少凭证",
)
# The per-provider statement names the district whose batch holds each row.
PROVIDER_COLUMNS = ("结算区", *COLUMNS)


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One redemption held by a batch, as a statement (and the dashboard's drill-down) shows it."""

    district_name: str
    provider_id: uuid.UUID
    provider_name: str
    credit_code: str
    redemption_id: uuid.UUID
    elder: str  # the elder's name, masked
    item: int
    item_name: str
    category: str  # of the item: which evidence the redemption needs
    served_at: datetime
    amount_fen: int
    ltci_paid_fen: int
    deduction_fen: int
    rejected: bool
    rejection_reason: str | None
    missing_evidence: bool

    @property
    def payable_fen(self) -> int:
        return 0 if self.rejected else self.deduction_fen

    @property
    def service_item(self) -> str:
        return f"{self.item} {self.item_name}"

    @property
    def served_at_text(self) -> str:
        """Beijing time, to the second."""
        return self.served_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class RowTotals:
    """Sums over a set of statement rows, computed by SQL."""

    redemptions: int
    amount_fen: int
    ltci_paid_fen: int
    deduction_fen: int
    rejected: int
    rejected_fen: int
    payable_fen: int
    missing_evidence: int


# --- rows ------------------------------------------------------------------------------------------
def _row_query(where):
    return (
        select(
            District.name,
            SettlementItem.provider_id,
            Provider.name,
            Provider.credit_code,
            SettlementItem.redemption_id,
            Elder.name,
            Redemption.item,
            CatalogueItem.name,
            Redemption.category,
            Redemption.served_at,
            Redemption.amount_fen,
            Redemption.ltci_paid_fen,
            SettlementItem.deduction_fen,
            SettlementItem.rejected,
            SettlementItem.rejection_reason,
            SettlementItem.missing_evidence,
        )
        .select_from(SettlementItem)
        .join(SettlementBatch, SettlementBatch.id == SettlementItem.batch_id)
        .join(District, District.code == SettlementBatch.district_code)
        .join(Redemption, Redemption.id == SettlementItem.redemption_id)
        .join(Provider, Provider.id == SettlementItem.provider_id)
        .join(Elder, Elder.id == Redemption.elder_id)
        .join(CatalogueItem, CatalogueItem.item == Redemption.item)
        .where(where)
    )


def _row(row) -> StatementRow:
    return StatementRow(
        district_name=row[0],
        provider_id=row[1],
        provider_name=row[2],
        credit_code=row[3],
        redemption_id=row[4],
        elder=mask_name(row[5]),
        item=row[6],
        item_name=row[7],
        category=row[8],
        served_at=row[9],
        amount_fen=int(row[10]),
        ltci_paid_fen=int(row[11]),
        deduction_fen=int(row[12]),
        rejected=bool(row[13]),
        rejection_reason=row[14],
        missing_evidence=bool(row[15]),
    )


def _streamed(session: Session, query) -> Iterator[StatementRow]:
    """Stream the rows of ``query`` from a server-side cursor, CHUNK_ROWS at a time."""
    result = session.execute(query.execution_options(yield_per=CHUNK_ROWS))
    try:
        for row in result:
            yield _row(row)
    finally:
        result.close()


def batch_rows(session: Session, batch_id: uuid.UUID) -> Iterator[StatementRow]:
    """Every redemption of the batch, grouped by provider (by name), then by service time."""
    return _streamed(
        session,
        _row_query(SettlementItem.batch_id == batch_id).order_by(
            Provider.name, SettlementItem.provider_id, Redemption.served_at, SettlementItem.redemption_id
        ),
    )


def line_rows(
    session: Session, batch_id: uuid.UUID, provider_id: uuid.UUID, *, offset: int, limit: int
) -> list[StatementRow]:
    """One page of a provider line's redemptions, by service time (the dashboard's drill-down)."""
    query = (
        _row_query(and_(SettlementItem.batch_id == batch_id, SettlementItem.provider_id == provider_id))
        .order_by(Redemption.served_at, SettlementItem.redemption_id)
        .offset(offset)
        .limit(limit)
    )
    return [_row(row) for row in session.execute(query)]


# --- totals ----------------------------------------------------------------------------------------
def _totals_query(where):
    return (
        select(
            func.count(),
            func.coalesce(func.sum(Redemption.amount_fen), 0),
            func.coalesce(func.sum(Redemption.ltci_paid_fen), 0),
            func.coalesce(func.sum(SettlementItem.deduction_fen), 0),
            func.coalesce(func.sum(case((SettlementItem.rejected, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((SettlementItem.rejected, SettlementItem.deduction_fen), else_=0)), 0
            ),
            func.coalesce(func.sum(case((SettlementItem.missing_evidence, 1), else_=0)), 0),
        )
        .select_from(SettlementItem)
        .join(Redemption, Redemption.id == SettlementItem.redemption_id)
        .where(where)
    )


def _totals(row) -> RowTotals:
    count, amount, ltci, deduction, rejected, rejected_fen, missing = (int(v) for v in row)
    return RowTotals(
        redemptions=count,
        amount_fen=amount,
        ltci_paid_fen=ltci,
        deduction_fen=deduction,
        rejected=rejected,
        rejected_fen=rejected_fen,
        payable_fen=deduction - rejected_fen,
        missing_evidence=missing,
    )


def provider_totals(session: Session, batch_id: uuid.UUID) -> dict[uuid.UUID, RowTotals]:
    """The totals of each provider's rows in the batch."""
    query = _totals_query(SettlementItem.batch_id == batch_id).add_columns(SettlementItem.provider_id)
    rows = session.execute(query.group_by(SettlementItem.provider_id)).all()
    return {row[-1]: _totals(row[:-1]) for row in rows}


@dataclass(frozen=True)
class ItemCounts:
    rejected: int
    missing_evidence: int


def item_counts(session: Session, batch_id: uuid.UUID, provider_id: uuid.UUID | None = None) -> ItemCounts:
    """How many of the batch's redemptions (or one provider line's) are rejected and lack
    evidence: the items alone, no join."""
    where = [SettlementItem.batch_id == batch_id]
    if provider_id is not None:
        where.append(SettlementItem.provider_id == provider_id)
    rejected, missing = session.execute(
        select(
            func.coalesce(func.sum(case((SettlementItem.rejected, 1), else_=0)), 0),
            func.coalesce(func.sum(case((SettlementItem.missing_evidence, 1), else_=0)), 0),
        ).where(*where)
    ).one()
    return ItemCounts(rejected=int(rejected), missing_evidence=int(missing))


# --- provider lines --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineView:
    provider_id: uuid.UUID
    provider_name: str
    credit_code: str
    redemptions: int
    deduction_fen: int
    rejected_fen: int
    payable_fen: int
    clawback_fen: int
    paid: bool
    paid_on: date | None
    payment_reference: str | None


def _line_view(line: SettlementLine, provider_name: str, credit_code: str) -> LineView:
    return LineView(
        provider_id=line.provider_id,
        provider_name=provider_name,
        credit_code=credit_code,
        redemptions=line.redemptions,
        deduction_fen=line.deduction_fen,
        rejected_fen=line.rejected_fen,
        payable_fen=line.payable_fen,
        clawback_fen=line.clawback_fen,
        paid=line.paid,
        paid_on=line.paid_on,
        payment_reference=line.payment_reference,
    )


def batch_lines(session: Session, batch_id: uuid.UUID) -> list[LineView]:
    """The batch's provider lines in statement order (provider name, then id)."""
    rows = session.execute(
        select(SettlementLine, Provider.name, Provider.credit_code)
        .join(Provider, Provider.id == SettlementLine.provider_id)
        .where(SettlementLine.batch_id == batch_id)
        .order_by(Provider.name, SettlementLine.provider_id)
    ).all()
    return [_line_view(line, name, credit_code) for line, name, credit_code in rows]


# --- per-provider statement --------------------------------------------------------------------------
@dataclass(frozen=True)
class ProviderLine:
    """The provider's line in one district's batch."""

    batch_id: uuid.UUID
    district_code: str
    district_name: str
    status: str
    line: LineView


@dataclass(frozen=True)
class ProviderStatement:
    provider_id: uuid.UUID
    provider_name: str
    credit_code: str
    month: Month
    lines: list[ProviderLine]
    totals: RowTotals

    @property
    def batch_ids(self) -> list[uuid.UUID]:
        return [line.batch_id for line in self.lines]

    @property
    def clawback_fen(self) -> int:
        return sum(entry.line.clawback_fen for entry in self.lines)


def _visible_provider(session: Session, caller: Principal, provider_id: str) -> Provider:
    """The provider itself, or any staff, sees a provider; another provider does not."""
    parsed = parse_id(provider_id)
    if parsed is None or (caller.provider_id is not None and caller.provider_id != parsed):
        raise NotFound("未找到该服务机构")
    provider = session.get(Provider, parsed)
    if provider is None:
        raise NotFound("未找到该服务机构")
    return provider


def provider_statement(
    session: Session, caller: Principal, provider_id: str, month: Month
) -> ProviderStatement:
    """The provider's lines in every batch of ``month`` the caller may see: a provider sees all
    of its own, city-wide staff every district's, district staff their district's batches.
    Unknown providers, other providers and months without any batch line are all NOT_FOUND."""
    provider = _visible_provider(session, caller, provider_id)
    query = (
        select(SettlementLine, SettlementBatch.district_code, SettlementBatch.status, District.name)
        .join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
        .join(District, District.code == SettlementBatch.district_code)
        .where(SettlementLine.provider_id == provider.id, SettlementBatch.month == month.first_day)
        .order_by(SettlementBatch.district_code)
    )
    district = caller.visible_districts() if caller.provider_id is None else None
    if district is not None:
        query = query.where(SettlementBatch.district_code == district)
    found = session.execute(query).all()
    if not found:
        raise NotFound(f"{month} 没有包含该服务机构核销记录的结算批次")
    lines = [
        ProviderLine(line.batch_id, code, name, status, _line_view(line, provider.name, provider.credit_code))
        for line, code, status, name in found
    ]
    totals = _totals(
        session.execute(
            _totals_query(
                and_(
                    SettlementItem.provider_id == provider.id,
                    SettlementItem.batch_id.in_([line.batch_id for line in lines]),
                )
            )
        ).one()
    )
    return ProviderStatement(provider.id, provider.name, provider.credit_code, month, lines, totals)


def provider_rows(session: Session, statement: ProviderStatement) -> Iterator[StatementRow]:
    """The provider's redemptions in the statement's batches, by district, then service time."""
    return _streamed(
        session,
        _row_query(
            and_(
                SettlementItem.provider_id == statement.provider_id,
                SettlementItem.batch_id.in_(statement.batch_ids),
            )
        ).order_by(SettlementBatch.district_code, Redemption.served_at, SettlementItem.redemption_id),
    )
