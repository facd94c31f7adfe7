"""Settlement statements (结算单): per batch as CSV and XLSX, and per provider for a month across
every district batch that pays it.

Rows come from one server-side query read in chunks (``yield_per``), so a batch of a million
redemptions streams in constant memory; totals come from the batch and its lines, or from SQL
aggregates, never from adding rows up in Python. No HTTP here: callers get bytes or write
a workbook to a file they own.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import IO

from openpyxl import Workbook
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app import clock
from app import exports as xlsx
from app.auth.principal import Principal
from app.errors import NotFound
from app.ids import parse_id
from app.models.elders import Elder
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem, District
from app.models.settlements import SettlementBatch, SettlementItem, SettlementLine
from app.rules.identity import mask_name
from app.rules.money import yuan_text
from app.rules.months import BEIJING, Month
from app.rules.settlement import is_overdue
from app.settlements.service import batch_deadlines

CHUNK_ROWS = 1000
SUMMARY_SHEET = "汇总"
DETAIL_SHEET = "明细"

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
LINE_COLUMNS = (
    "服务机构",
    "统一社会信用代码",
    "笔数",
    "抵扣金额(元)",
    "核减金额(元)",
    "应付金额(元)",
    "抵扣追回款(元)",
    "应支付金额(元)",
    "是否已支付",
    "支付日期",
    "支付凭证号",
)
ROW_WIDTHS = (30, 22, 38, 10, 28, 20, 14, 14, 14, 8, 30, 14, 10)
LINE_WIDTHS = (30, 22, 10, 16, 16, 16, 16, 16, 12, 12, 24)


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One redemption held by a batch, as a statement shows it."""

    district_name: str
    provider_id: uuid.UUID
    provider_name: str
    credit_code: str
    redemption_id: uuid.UUID
    elder_name_masked: str
    item: int
    item_name: str
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

    def csv_cells(self) -> list[str]:
        return [
            xlsx.csv_text(self.provider_name),
            self.credit_code,
            str(self.redemption_id),
            xlsx.csv_text(self.elder_name_masked),
            xlsx.csv_text(self.service_item),
            self.served_at_text,
            yuan_text(self.amount_fen),
            yuan_text(self.ltci_paid_fen),
            yuan_text(self.deduction_fen),
            xlsx.yes_no(self.rejected),
            xlsx.csv_text(self.rejection_reason),
            yuan_text(self.payable_fen),
            xlsx.yes_no(self.missing_evidence),
        ]

    def xlsx_cells(self, sheet) -> list:
        text = xlsx.row_text
        return [
            text(sheet, self.provider_name),
            self.credit_code,
            str(self.redemption_id),
            text(sheet, self.elder_name_masked),
            text(sheet, self.service_item),
            self.served_at_text,
            xlsx.yuan_cell(sheet, self.amount_fen),
            xlsx.yuan_cell(sheet, self.ltci_paid_fen),
            xlsx.yuan_cell(sheet, self.deduction_fen),
            xlsx.yes_no(self.rejected),
            text(sheet, self.rejection_reason),
            xlsx.yuan_cell(sheet, self.payable_fen),
            xlsx.yes_no(self.missing_evidence),
        ]


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

    def csv_cells(self, *, leading: int = 0) -> list[str]:
        """A 合计 row under the columns of ``COLUMNS`` (after ``leading`` extra columns)."""
        return [
            *([""] * leading),
            "合计",
            "",
            f"{self.redemptions} 笔",
            "",
            "",
            "",
            yuan_text(self.amount_fen),
            yuan_text(self.ltci_paid_fen),
            yuan_text(self.deduction_fen),
            f"{self.rejected} 笔",
            f"核减 {yuan_text(self.rejected_fen)} 元",
            yuan_text(self.payable_fen),
            f"{self.missing_evidence} 笔",
        ]

    def xlsx_cells(self, sheet, *, leading: int = 0) -> list:
        return [
            *([None] * leading),
            xlsx.text_cell(sheet, "合计", bold=True),
            None,
            xlsx.text_cell(sheet, f"{self.redemptions} 笔", bold=True),
            None,
            None,
            None,
            xlsx.yuan_cell(sheet, self.amount_fen, bold=True),
            xlsx.yuan_cell(sheet, self.ltci_paid_fen, bold=True),
            xlsx.yuan_cell(sheet, self.deduction_fen, bold=True),
            xlsx.text_cell(sheet, f"{self.rejected} 笔", bold=True),
            xlsx.text_cell(sheet, f"核减 {yuan_text(self.rejected_fen)} 元", bold=True),
            xlsx.yuan_cell(sheet, self.payable_fen, bold=True),
            xlsx.text_cell(sheet, f"{self.missing_evidence} 笔", bold=True),
        ]


# --- queries ---------------------------------------------------------------------------------
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


def _rows(session: Session, query) -> Iterator[StatementRow]:
    """Stream the rows of ``query`` from a server-side cursor, CHUNK_ROWS at a time."""
    result = session.execute(query.execution_options(yield_per=CHUNK_ROWS))
    try:
        for row in result:
            yield StatementRow(
                district_name=row[0],
                provider_id=row[1],
                provider_name=row[2],
                credit_code=row[3],
                redemption_id=row[4],
                elder_name_masked=mask_name(row[5]),
                item=row[6],
                item_name=row[7],
                served_at=row[8],
                amount_fen=int(row[9]),
                ltci_paid_fen=int(row[10]),
                deduction_fen=int(row[11]),
                rejected=bool(row[12]),
                rejection_reason=row[13],
                missing_evidence=bool(row[14]),
            )
    finally:
        result.close()


def batch_rows(session: Session, batch_id: uuid.UUID) -> Iterator[StatementRow]:
    """Every redemption of the batch, grouped by provider (by name), then by service time."""
    return _rows(
        session,
        _row_query(SettlementItem.batch_id == batch_id).order_by(
            Provider.name, SettlementItem.provider_id, Redemption.served_at, SettlementItem.redemption_id
        ),
    )


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


def _provider_totals(session: Session, batch_id: uuid.UUID) -> dict[uuid.UUID, RowTotals]:
    query = _totals_query(SettlementItem.batch_id == batch_id).add_columns(SettlementItem.provider_id)
    rows = session.execute(query.group_by(SettlementItem.provider_id)).all()
    return {row[-1]: _totals(row[:-1]) for row in rows}


# --- CSV -------------------------------------------------------------------------------------
def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (so Excel detects the encoding), CRLF line ends, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(xlsx.UTF8_BOM)
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def batch_csv(session: Session, batch_id: uuid.UUID) -> Iterator[bytes]:
    """The batch statement as CSV: one row per redemption, nothing else."""
    return csv_bytes(COLUMNS, (row.csv_cells() for row in batch_rows(session, batch_id)))


# --- batch XLSX ------------------------------------------------------------------------------
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


def batch_lines(session: Session, batch_id: uuid.UUID) -> list[LineView]:
    """The batch's provider lines in statement order (provider name, then id)."""
    rows = session.execute(
        select(SettlementLine, Provider.name, Provider.credit_code)
        .join(Provider, Provider.id == SettlementLine.provider_id)
        .where(SettlementLine.batch_id == batch_id)
        .order_by(Provider.name, SettlementLine.provider_id)
    ).all()
    return [
        LineView(
            provider_id=line.provider_id,
            provider_name=name,
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
        for line, name, credit_code in rows
    ]


def _line_cells(sheet, line: LineView, *, leading: Sequence = ()) -> list:
    return [
        *leading,
        xlsx.text_cell(sheet, line.provider_name),
        xlsx.text_cell(sheet, line.credit_code),
        line.redemptions,
        xlsx.yuan_cell(sheet, line.deduction_fen),
        xlsx.yuan_cell(sheet, line.rejected_fen),
        xlsx.yuan_cell(sheet, line.payable_fen),
        xlsx.yuan_cell(sheet, line.clawback_fen),
        xlsx.yuan_cell(sheet, line.payable_fen - line.clawback_fen),
        xlsx.text_cell(sheet, xlsx.yes_no(line.paid)),
        xlsx.date_cell(sheet, line.paid_on),
        xlsx.text_cell(sheet, line.payment_reference),
    ]


def _label(sheet, label: str, value) -> list:
    return [
        xlsx.text_cell(sheet, label, bold=True),
        xlsx.text_cell(sheet, value) if isinstance(value, str) else value,
    ]


def _write_rows_sheets(workbook: Workbook, rows: Iterator[StatementRow], titles, totals) -> None:
    """One sheet per provider, in the order the (provider-grouped) rows arrive."""
    for provider_id, group in groupby(rows, key=lambda row: row.provider_id):
        sheet = workbook.create_sheet(titles[provider_id])
        xlsx.set_widths(sheet, ROW_WIDTHS)
        sheet.freeze_panes = "A2"
        sheet.append(xlsx.header_row(sheet, COLUMNS))
        for row in group:
            sheet.append(row.xlsx_cells(sheet))
        sheet.append(totals[provider_id].xlsx_cells(sheet))


def write_batch_xlsx(session: Session, batch: SettlementBatch, out: IO[bytes]) -> None:
    """The batch statement: a 汇总 sheet (batch, deadlines, totals, funding, one row per
    provider line), then one sheet per provider listing its redemptions."""
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(SUMMARY_SHEET)
    xlsx.set_widths(summary, LINE_WIDTHS)
    due = batch_deadlines(session, batch)
    district = session.get(District, batch.district_code)
    title = f"北京市养老服务消费补贴结算单 {district.name if district else ''} {Month.of(batch.month)}"
    for row in (
        [xlsx.text_cell(summary, title, bold=True)],
        [],
        _label(summary, "区", f"{district.name if district else ''}({batch.district_code})"),
        _label(summary, "月份", str(Month.of(batch.month))),
        _label(summary, "状态", STATUS_TITLES.get(batch.status, batch.status)),
        _label(summary, "民政审核截止日", xlsx.date_cell(summary, due.civil_review)),
        _label(summary, "财政复审截止日", xlsx.date_cell(summary, due.finance_review)),
        _label(summary, "支付截止日", xlsx.date_cell(summary, due.payment)),
        _label(summary, "是否逾期", xlsx.yes_no(is_overdue(batch.status, due, clock.today()))),
        [],
        _label(summary, "核销笔数", batch.redemptions),
        _label(summary, "老年人数", batch.elders),
        _label(summary, "服务机构数", batch.providers),
        _label(summary, "消费金额(元)", xlsx.yuan_cell(summary, batch.amount_fen)),
        _label(summary, "抵扣金额(元)", xlsx.yuan_cell(summary, batch.deduction_fen)),
        _label(summary, "核减金额(元)", xlsx.yuan_cell(summary, batch.rejected_fen)),
        _label(summary, "应付金额(元)", xlsx.yuan_cell(summary, batch.payable_fen)),
        _label(summary, "抵扣追回款(元)", xlsx.yuan_cell(summary, batch.clawback_fen)),
        _label(summary, "应支付金额(元)", xlsx.yuan_cell(summary, batch.payable_fen - batch.clawback_fen)),
        [],
        _label(summary, "中央资金(元)", xlsx.yuan_cell(summary, batch.central_fen)),
        _label(summary, "市级资金(元)", xlsx.yuan_cell(summary, batch.city_fen)),
        _label(summary, "区级资金(元)", xlsx.yuan_cell(summary, batch.district_fen)),
        [],
        xlsx.header_row(summary, LINE_COLUMNS),
    ):
        summary.append(row)
    lines = batch_lines(session, batch.id)
    for line in lines:
        summary.append(_line_cells(summary, line))
    summary.append(
        [
            xlsx.text_cell(summary, "合计", bold=True),
            None,
            batch.redemptions,
            xlsx.yuan_cell(summary, batch.deduction_fen, bold=True),
            xlsx.yuan_cell(summary, batch.rejected_fen, bold=True),
            xlsx.yuan_cell(summary, batch.payable_fen, bold=True),
            xlsx.yuan_cell(summary, batch.clawback_fen, bold=True),
            xlsx.yuan_cell(summary, batch.payable_fen - batch.clawback_fen, bold=True),
        ]
    )
    titles = dict(
        zip(
            [line.provider_id for line in lines],
            xlsx.sheet_titles([line.provider_name for line in lines], taken=[SUMMARY_SHEET]),
            strict=True,
        )
    )
    _write_rows_sheets(workbook, batch_rows(session, batch.id), titles, _provider_totals(session, batch.id))
    workbook.save(out)


def batch_filename(batch: SettlementBatch, extension: str) -> tuple[str, str]:
    """The download name (Chinese) and its ASCII fallback."""
    month = Month.of(batch.month)
    return (
        f"结算单_{batch.district_code}_{month}.{extension}",
        f"settlement_{batch.district_code}_{month}.{extension}",
    )


# --- per-provider statement ------------------------------------------------------------------
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


def provider_statement(
    session: Session, caller: Principal, provider_id: str, month: Month
) -> ProviderStatement:
    """The provider's lines in every batch of ``month`` the caller may see: a provider sees all
    of its own, city-wide staff every district's, district staff their district's batches.
    Unknown providers, other providers and months without any batch line are all NOT_FOUND."""
    parsed = parse_id(provider_id)
    if parsed is None or (caller.provider_id is not None and caller.provider_id != parsed):
        raise NotFound("未找到该服务机构")
    provider = session.get(Provider, parsed)
    if provider is None:
        raise NotFound("未找到该服务机构")
    query = (
        select(SettlementLine, SettlementBatch.district_code, SettlementBatch.status, District.name)
        .join(SettlementBatch, SettlementBatch.id == SettlementLine.batch_id)
        .join(District, District.code == SettlementBatch.district_code)
        .where(SettlementLine.provider_id == parsed, SettlementBatch.month == month.first_day)
        .order_by(SettlementBatch.district_code)
    )
    if caller.provider_id is None:
        district = caller.visible_districts()
        if district is not None:
            query = query.where(SettlementBatch.district_code == district)
    found = session.execute(query).all()
    if not found:
        raise NotFound(f"{month} 没有包含该服务机构核销记录的结算批次")
    lines = [
        ProviderLine(
            batch_id=line.batch_id,
            district_code=district_code,
            district_name=district_name,
            status=status,
            line=LineView(
                provider_id=provider.id,
                provider_name=provider.name,
                credit_code=provider.credit_code,
                redemptions=line.redemptions,
                deduction_fen=line.deduction_fen,
                rejected_fen=line.rejected_fen,
                payable_fen=line.payable_fen,
                clawback_fen=line.clawback_fen,
                paid=line.paid,
                paid_on=line.paid_on,
                payment_reference=line.payment_reference,
            ),
        )
        for line, district_code, status, district_name in found
    ]
    totals = _totals(
        session.execute(
            _totals_query(
                and_(
                    SettlementItem.provider_id == parsed,
                    SettlementItem.batch_id.in_([line.batch_id for line in lines]),
                )
            )
        ).one()
    )
    return ProviderStatement(
        provider_id=provider.id,
        provider_name=provider.name,
        credit_code=provider.credit_code,
        month=month,
        lines=lines,
        totals=totals,
    )


def provider_rows(session: Session, statement: ProviderStatement) -> Iterator[StatementRow]:
    return _rows(
        session,
        _row_query(
            and_(
                SettlementItem.provider_id == statement.provider_id,
                SettlementItem.batch_id.in_(statement.batch_ids),
            )
        ).order_by(SettlementBatch.district_code, Redemption.served_at, SettlementItem.redemption_id),
    )


def provider_csv(session: Session, statement: ProviderStatement) -> Iterator[bytes]:
    """One row per redemption (with the district of its batch), then a 合计 row."""

    def rows() -> Iterator[list[str]]:
        for row in provider_rows(session, statement):
            yield [xlsx.csv_text(row.district_name), *row.csv_cells()]
        yield statement.totals.csv_cells(leading=1)

    return csv_bytes(PROVIDER_COLUMNS, rows())


def write_provider_xlsx(session: Session, statement: ProviderStatement, out: IO[bytes]) -> None:
    """A 汇总 sheet (the provider, its line in each district's batch, totals) and a 明细 sheet
    with every redemption."""
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(SUMMARY_SHEET)
    xlsx.set_widths(summary, (16, 12, *LINE_WIDTHS))
    for row in (
        [xlsx.text_cell(summary, f"北京市养老服务消费补贴服务机构结算对账单 {statement.month}", bold=True)],
        [],
        _label(summary, "服务机构", statement.provider_name),
        _label(summary, "统一社会信用代码", statement.credit_code),
        _label(summary, "月份", str(statement.month)),
        _label(summary, "核销笔数", statement.totals.redemptions),
        _label(summary, "消费金额(元)", xlsx.yuan_cell(summary, statement.totals.amount_fen)),
        _label(summary, "长护险支付(元)", xlsx.yuan_cell(summary, statement.totals.ltci_paid_fen)),
        _label(summary, "抵扣金额(元)", xlsx.yuan_cell(summary, statement.totals.deduction_fen)),
        _label(summary, "核减金额(元)", xlsx.yuan_cell(summary, statement.totals.rejected_fen)),
        _label(summary, "应付金额(元)", xlsx.yuan_cell(summary, statement.totals.payable_fen)),
        _label(
            summary,
            "抵扣追回款(元)",
            xlsx.yuan_cell(summary, sum(entry.line.clawback_fen for entry in statement.lines)),
        ),
        [],
        xlsx.header_row(summary, ("结算区", "批次状态", *LINE_COLUMNS)),
    ):
        summary.append(row)
    for entry in statement.lines:
        summary.append(
            _line_cells(
                summary,
                entry.line,
                leading=(
                    xlsx.text_cell(summary, entry.district_name),
                    xlsx.text_cell(summary, STATUS_TITLES.get(entry.status, entry.status)),
                ),
            )
        )
    detail = workbook.create_sheet(DETAIL_SHEET)
    xlsx.set_widths(detail, (12, *ROW_WIDTHS))
    detail.freeze_panes = "A2"
    detail.append(xlsx.header_row(detail, PROVIDER_COLUMNS))
    for row in provider_rows(session, statement):
        detail.append([xlsx.text_cell(detail, row.district_name), *row.xlsx_cells(detail)])
    detail.append(statement.totals.xlsx_cells(detail, leading=1))
    workbook.save(out)


def provider_filename(statement: ProviderStatement, extension: str) -> tuple[str, str]:
    return (
        xlsx.safe_filename(f"对账单_{statement.provider_name}_{statement.month}.{extension}"),
        f"statement_{statement.credit_code}_{statement.month}.{extension}",
    )
