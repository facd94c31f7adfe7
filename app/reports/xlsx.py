"""The report workbooks (quarterly and annual) on the shared spreadsheet helpers of
``app.exports``, and their download (the same bytes and headers for the API and the dashboard)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import IO, TYPE_CHECKING, Any

from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.exports import (
    XLSX_MEDIA_TYPE,
    cells,
    date_cell,
    ratio_cell,
    set_widths,
    text_cell,
    yes_no,
    yuan_cell,
)
from app.reports.service import Deadlines, MonthFigures, PeriodFigures, QuarterlyReport, SettlementProgress
from app.rules.eligibility import ELDER_STATUS_TITLES
from app.rules.provider_list import KIND_TITLES
from app.settlements.downloads import download, workbook

if TYPE_CHECKING:
    from app.reports.annual import AnnualReport


QUARTERLY_SHEET = "季度报告"
SETTLEMENT_TITLES = {
    "not_built": "未生成",
    "civil_review": "民政审核",
    "finance_review": "财政复审",
    "payment": "待支付",
    "settled": "已结算",
}
CATEGORY_TITLES = {"home_community": "居家社区服务", "institution": "机构服务"}


@dataclass(frozen=True)
class _Indicators:
    """Builds the indicator rows: a bold label, then a column per month and, for the figures
    that have one, a column for the whole period (quarter or year)."""

    sheet: WriteOnlyWorksheet
    months: list[MonthFigures]
    total: PeriodFigures

    def label(self, text: str) -> WriteOnlyCell:
        return text_cell(self.sheet, text, bold=True)

    def periods(self) -> list[PeriodFigures]:
        return [*self.months, self.total]

    def count(self, label: str, pick: Callable[[PeriodFigures], Any]) -> list[Any]:
        return [self.label(label), *cells(self.sheet, (pick(p) for p in self.periods()))]

    def money(self, label: str, pick: Callable[[PeriodFigures], int]) -> list[Any]:
        return [self.label(label), *(yuan_cell(self.sheet, pick(p)) for p in self.periods())]

    def ratio(self, label: str, pick: Callable[[PeriodFigures], str | None]) -> list[Any]:
        return [self.label(label), *(ratio_cell(self.sheet, pick(p)) for p in self.periods())]

    def monthly(self, label: str, pick: Callable[[SettlementProgress], Any]) -> list[Any]:
        return [self.label(label), *cells(self.sheet, [pick(m.settlement) for m in self.months])]

    def deadline(self, label: str, pick: Callable[[Deadlines], date | None]) -> list[Any]:
        return [
            self.label(label),
            *(date_cell(self.sheet, pick(m.settlement.deadlines)) for m in self.months),
        ]


def _indicator_rows(
    sheet: WriteOnlyWorksheet, months: list[MonthFigures], total: PeriodFigures, total_label: str
) -> list[list[Any]]:
    """One row per indicator, a column per month and one for the period (quarter or year)."""
    rows = _Indicators(sheet, months, total)
    header = [rows.label("指标"), *(rows.label(m.month) for m in months), rows.label(total_label)]
    return [header, *_figure_rows(rows), *_settlement_rows(rows)]


def _figure_rows(rows: _Indicators) -> list[list[Any]]:
    """Vouchers, redemptions (in all and by category), utilisation and released balances."""
    figures = [
        rows.count("持券老年人数", lambda p: p.elders_with_vouchers),
        rows.count("发放消费券(张)", lambda p: p.vouchers_issued),
        rows.money("消费券面值(元)", lambda p: p.face_value_fen),
        rows.count("核销笔数(含撤销)", lambda p: p.redemptions.count),
        rows.count("有效核销笔数", lambda p: p.redemptions.posted),
        rows.count("撤销笔数", lambda p: p.redemptions.reversed),
        rows.count("接受服务老年人数", lambda p: p.redemptions.elders),
        rows.money("消费金额(元)", lambda p: p.amount_fen),
        rows.money("抵扣金额(元)", lambda p: p.deduction_fen),
    ]
    for category, title in CATEGORY_TITLES.items():
        figures += [
            rows.count(f"{title}核销笔数", lambda p, c=category: p.by_category[c].redemptions),
            rows.money(f"{title}消费金额(元)", lambda p, c=category: p.by_category[c].amount_fen),
            rows.money(f"{title}抵扣金额(元)", lambda p, c=category: p.by_category[c].deduction_fen),
        ]
    return figures + [
        rows.ratio("使用率(抵扣/面值)", lambda p: p.utilisation),
        rows.count("到期作废消费券(张)", lambda p: p.expired.vouchers),
        rows.money("到期释放金额(元)", lambda p: p.expired.released_fen),
        rows.count("注销消费券(张)", lambda p: p.revoked.vouchers),
        rows.money("注销释放金额(元)", lambda p: p.revoked.released_fen),
    ]


def _settlement_rows(rows: _Indicators) -> list[list[Any]]:
    """Each month's settlement (status, deadlines, overdue), then the funding committed."""
    return [
        rows.monthly("结算状态", lambda s: SETTLEMENT_TITLES.get(s.status, s.status)),
        rows.deadline("民政审核截止日", lambda d: d.civil_review),
        rows.deadline("财政复审截止日", lambda d: d.finance_review),
        rows.deadline("支付截止日", lambda d: d.payment),
        rows.monthly("是否逾期", lambda s: yes_no(s.overdue)),
        rows.money("中央资金(元)", lambda p: p.funding.central_fen),
        rows.money("市级资金(元)", lambda p: p.funding.city_fen),
        rows.money("区级资金(元)", lambda p: p.funding.district_fen),
        rows.money("已审定应付合计(元)", lambda p: p.funding.payable_fen),
    ]


def _header_rows(sheet: WriteOnlyWorksheet, title: str, report, period_text: str) -> list[list[Any]]:
    def row(label: str, value: Any) -> list[Any]:
        return [text_cell(sheet, label, bold=True), value]

    return [
        [text_cell(sheet, title, bold=True)],
        [],
        row("区", text_cell(sheet, f"{report.district_name}({report.district_code})")),
        row("报告期", text_cell(sheet, period_text)),
        row("报送截止日期", date_cell(sheet, report.due_on)),
        row("生成时间", text_cell(sheet, report.generated_at.strftime("%Y-%m-%d %H:%M:%S"))),
        [],
    ]


def _write(sheet_title: str, widths: Iterable[float], build, out: IO[bytes]) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    set_widths(sheet, widths)
    for values in build(sheet):
        sheet.append(values)
    workbook.save(out)


def write_quarterly_xlsx(report: QuarterlyReport, out: IO[bytes]) -> None:
    """One sheet: the report's header, then one row per indicator with a column per month of
    the quarter and one for the quarter."""

    def build(sheet):
        period = f"{report.year}年第{report.quarter}季度"
        return _header_rows(
            sheet, "北京市养老服务消费补贴工作季度进展报告", report, period
        ) + _indicator_rows(sheet, report.months, report.total, "本季度")

    _write(QUARTERLY_SHEET, (28, 16, 16, 16, 16), build, out)


ANNUAL_SHEET = "工作总结"
ANOMALY_STATUS_TITLES = {"open": "待处理", "confirmed": "已确认", "dismissed": "已排除"}


def write_annual_xlsx(report: AnnualReport, out: IO[bytes]) -> None:
    """The annual work summary (三(三)): the indicators per month of the year so far and for the
    year, then supervision and the registry as they stand."""

    def build(sheet):
        def row(label: str, value: Any) -> list[Any]:
            return [text_cell(sheet, label, bold=True), *cells(sheet, [value])]

        s = report.supervision
        period = f"{report.year}年(截至生成时)"
        rows = _header_rows(sheet, "北京市养老服务消费补贴项目工作总结(数据部分)", report, period)
        rows += _indicator_rows(sheet, report.months, report.total, "全年")
        rows += [[], [text_cell(sheet, "监督管理", bold=True)]]
        rows += [
            row(f"异常交易预警·{title}", s.anomalies.get(k, 0)) for k, title in ANOMALY_STATUS_TITLES.items()
        ]
        rows += [
            row("抽查样本数", s.audit_samples),
            row("抽查发现记录数", s.audit_findings),
            row("责令整改次数", s.rectification_orders),
            row("纳入失信联合惩戒对象次数", s.blacklistings),
            row("登记身故老年人数", s.deaths_recorded),
            [],
            [text_cell(sheet, "服务机构与老年人(当前)", bold=True)],
        ]
        rows += [
            row(f"名单内服务机构·{KIND_TITLES.get(kind, kind)}", n)
            for kind, n in sorted(report.providers_listed.items())
        ]
        rows += [
            row(f"老年人·{ELDER_STATUS_TITLES.get(k, k)}", n)
            for k, n in sorted(report.elders_by_status.items())
        ]
        return rows

    _write(ANNUAL_SHEET, (30, *([14] * 13)), build, out)


def annual_filename(report: AnnualReport) -> tuple[str, str]:
    return (
        f"工作总结_{report.district_code}_{report.year}.xlsx",
        f"annual_{report.district_code}_{report.year}.xlsx",
    )


def quarterly_filename(report: QuarterlyReport) -> tuple[str, str]:
    return (
        f"季度报告_{report.district_code}_{report.year}Q{report.quarter}.xlsx",
        f"quarterly_{report.district_code}_{report.year}Q{report.quarter}.xlsx",
    )


def xlsx_download(write: Callable[[Any, IO[bytes]], None], report, filenames) -> StreamingResponse:
    """``report`` written by ``write`` (write_quarterly_xlsx, write_annual_xlsx) as a download
    named by ``filenames`` (quarterly_filename, annual_filename)."""
    return download(workbook(lambda out: write(report, out)), XLSX_MEDIA_TYPE, filenames(report))
