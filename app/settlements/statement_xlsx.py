"""Settlement statements as XLSX workbooks (write-only, streamed rows): the batch's 汇总 sheet
and one sheet per provider, or a provider's month as a 汇总 and a 明细 sheet. Money is written
as exact yuan numbers; text never becomes a formula (app/exports.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import IO

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from app import clock
from app import exports as xlsx
from app.models.reference import District
from app.models.settlements import SettlementBatch
from app.rules.money import yuan_text
from app.rules.months import Month
from app.rules.settlement import is_overdue
from app.settlements.service import batch_deadlines
from app.settlements.statements import (
    COLUMNS,
    PROVIDER_COLUMNS,
    STATUS_TITLES,
    LineView,
    ProviderStatement,
    RowTotals,
    StatementRow,
    batch_lines,
    batch_rows,
    provider_rows,
    provider_totals,
)

SUMMARY_SHEET = "汇总"
DETAIL_SHEET = "明细"
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


# --- cells -----------------------------------------------------------------------------------------
def row_cells(sheet: WriteOnlyWorksheet, row: StatementRow) -> list:
    """A redemption under ``COLUMNS``: plain strings where safe (cheapest for openpyxl)."""
    text = xlsx.row_text
    return [
        text(sheet, row.provider_name),
        row.credit_code,
        str(row.redemption_id),
        text(sheet, row.elder),
        text(sheet, row.service_item),
        row.served_at_text,
        xlsx.yuan_cell(sheet, row.amount_fen),
        xlsx.yuan_cell(sheet, row.ltci_paid_fen),
        xlsx.yuan_cell(sheet, row.deduction_fen),
        xlsx.yes_no(row.rejected),
        text(sheet, row.rejection_reason),
        xlsx.yuan_cell(sheet, row.payable_fen),
        xlsx.yes_no(row.missing_evidence),
    ]


def totals_cells(sheet: WriteOnlyWorksheet, totals: RowTotals, *, leading: int = 0) -> list:
    """A bold 合计 row under ``COLUMNS`` (after ``leading`` extra columns)."""

    def bold(text: str):
        return xlsx.text_cell(sheet, text, bold=True)

    return [
        *([None] * leading),
        bold("合计"),
        None,
        bold(f"{totals.redemptions} 笔"),
        None,
        None,
        None,
        xlsx.yuan_cell(sheet, totals.amount_fen, bold=True),
        xlsx.yuan_cell(sheet, totals.ltci_paid_fen, bold=True),
        xlsx.yuan_cell(sheet, totals.deduction_fen, bold=True),
        bold(f"{totals.rejected} 笔"),
        bold(f"核减 {yuan_text(totals.rejected_fen)} 元"),
        xlsx.yuan_cell(sheet, totals.payable_fen, bold=True),
        bold(f"{totals.missing_evidence} 笔"),
    ]


def _line_cells(sheet: WriteOnlyWorksheet, line: LineView, *, leading: Sequence = ()) -> list:
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


def _label(sheet: WriteOnlyWorksheet, label: str, value) -> list:
    return [
        xlsx.text_cell(sheet, label, bold=True),
        xlsx.text_cell(sheet, value) if isinstance(value, str) else value,
    ]


def _money(sheet: WriteOnlyWorksheet, labelled: Sequence[tuple[str, int]]) -> list[list]:
    """One labelled yuan row per (label, fen)."""
    return [_label(sheet, label, xlsx.yuan_cell(sheet, fen)) for label, fen in labelled]


# --- the batch statement ---------------------------------------------------------------------------
def write_batch_xlsx(session: Session, batch: SettlementBatch, out: IO[bytes]) -> None:
    """The batch statement: a 汇总 sheet (batch, deadlines, totals, funding, one row per
    provider line), then one sheet per provider listing its redemptions."""
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(SUMMARY_SHEET)
    xlsx.set_widths(summary, LINE_WIDTHS)
    for row in _batch_heading(session, summary, batch):
        summary.append(row)
    lines = batch_lines(session, batch.id)
    for line in lines:
        summary.append(_line_cells(summary, line))
    summary.append(_batch_total_cells(summary, batch))
    titles = xlsx.sheet_titles([line.provider_name for line in lines], taken=[SUMMARY_SHEET])
    _write_provider_sheets(
        workbook,
        batch_rows(session, batch.id),
        dict(zip([line.provider_id for line in lines], titles, strict=True)),
        provider_totals(session, batch.id),
    )
    workbook.save(out)


def _batch_heading(session: Session, summary: WriteOnlyWorksheet, batch: SettlementBatch) -> list[list]:
    """The 汇总 sheet above the provider lines: the batch, its deadlines, money and funding."""
    due = batch_deadlines(session, batch)
    district = session.get(District, batch.district_code)
    district_name = district.name if district else ""
    month = Month.of(batch.month)
    return [
        [xlsx.text_cell(summary, f"北京市养老服务消费补贴结算单 {district_name} {month}", bold=True)],
        [],
        _label(summary, "区", f"{district_name}({batch.district_code})"),
        _label(summary, "月份", str(month)),
        _label(summary, "状态", STATUS_TITLES.get(batch.status, batch.status)),
        _label(summary, "民政审核截止日", xlsx.date_cell(summary, due.civil_review)),
        _label(summary, "财政复审截止日", xlsx.date_cell(summary, due.finance_review)),
        _label(summary, "支付截止日", xlsx.date_cell(summary, due.payment)),
        _label(summary, "是否逾期", xlsx.yes_no(is_overdue(batch.status, due, clock.today()))),
        [],
        _label(summary, "核销笔数", batch.redemptions),
        _label(summary, "老年人数", batch.elders),
        _label(summary, "服务机构数", batch.providers),
        *_money(
            summary,
            [
                ("消费金额(元)", batch.amount_fen),
                ("抵扣金额(元)", batch.deduction_fen),
                ("核减金额(元)", batch.rejected_fen),
                ("应付金额(元)", batch.payable_fen),
                ("抵扣追回款(元)", batch.clawback_fen),
                ("应支付金额(元)", batch.payable_fen - batch.clawback_fen),
            ],
        ),
        [],
        *_money(
            summary,
            [
                ("中央资金(元)", batch.central_fen),
                ("市级资金(元)", batch.city_fen),
                ("区级资金(元)", batch.district_fen),
            ],
        ),
        [],
        xlsx.header_row(summary, LINE_COLUMNS),
    ]


def _batch_total_cells(summary: WriteOnlyWorksheet, batch: SettlementBatch) -> list:
    """The 合计 row under the provider lines, from the batch's own totals."""
    return [
        xlsx.text_cell(summary, "合计", bold=True),
        None,
        batch.redemptions,
        *(
            xlsx.yuan_cell(summary, fen, bold=True)
            for fen in (
                batch.deduction_fen,
                batch.rejected_fen,
                batch.payable_fen,
                batch.clawback_fen,
                batch.payable_fen - batch.clawback_fen,
            )
        ),
    ]


def _write_provider_sheets(workbook: Workbook, rows: Iterator[StatementRow], titles, totals) -> None:
    """One sheet per provider, in the order the (provider-grouped) rows arrive."""
    for provider_id, group in groupby(rows, key=lambda row: row.provider_id):
        sheet = workbook.create_sheet(titles[provider_id])
        xlsx.set_widths(sheet, ROW_WIDTHS)
        sheet.freeze_panes = "A2"
        sheet.append(xlsx.header_row(sheet, COLUMNS))
        for row in group:
            sheet.append(row_cells(sheet, row))
        sheet.append(totals_cells(sheet, totals[provider_id]))


# --- the provider's statement ----------------------------------------------------------------------
def write_provider_xlsx(session: Session, statement: ProviderStatement, out: IO[bytes]) -> None:
    """A 汇总 sheet (the provider, its line in each district's batch, totals) and a 明细 sheet
    with every redemption."""
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(SUMMARY_SHEET)
    xlsx.set_widths(summary, (16, 12, *LINE_WIDTHS))
    for row in _provider_heading(summary, statement):
        summary.append(row)
    for entry in statement.lines:
        status = STATUS_TITLES.get(entry.status, entry.status)
        leading = (xlsx.text_cell(summary, entry.district_name), xlsx.text_cell(summary, status))
        summary.append(_line_cells(summary, entry.line, leading=leading))
    detail = workbook.create_sheet(DETAIL_SHEET)
    xlsx.set_widths(detail, (12, *ROW_WIDTHS))
    detail.freeze_panes = "A2"
    detail.append(xlsx.header_row(detail, PROVIDER_COLUMNS))
    for row in provider_rows(session, statement):
        detail.append([xlsx.text_cell(detail, row.district_name), *row_cells(detail, row)])
    detail.append(totals_cells(detail, statement.totals, leading=1))
    workbook.save(out)


def _provider_heading(summary: WriteOnlyWorksheet, statement: ProviderStatement) -> list[list]:
    totals = statement.totals
    return [
        [xlsx.text_cell(summary, f"北京市养老服务消费补贴服务机构结算对账单 {statement.month}", bold=True)],
        [],
        _label(summary, "服务机构", statement.provider_name),
        _label(summary, "统一社会信用代码", statement.credit_code),
        _label(summary, "月份", str(statement.month)),
        _label(summary, "核销笔数", totals.redemptions),
        *_money(
            summary,
            [
                ("消费金额(元)", totals.amount_fen),
                ("长护险支付(元)", totals.ltci_paid_fen),
                ("抵扣金额(元)", totals.deduction_fen),
                ("核减金额(元)", totals.rejected_fen),
                ("应付金额(元)", totals.payable_fen),
                ("抵扣追回款(元)", statement.clawback_fen),
            ],
        ),
        [],
        xlsx.header_row(summary, ("结算区", "批次状态", *LINE_COLUMNS)),
    ]
