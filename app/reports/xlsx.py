"""Helpers for the files the service hands out (XLSX workbooks and CSV statements): safe sheet
names and cell text, money as exact yuan, download filenames.

Money leaves as yuan with two decimals built by ``app.rules.money.yuan_text``: in CSV as that
text, in XLSX as a number written from the same exact decimal (no float on the way) with the
``0.00`` format, so that a spreadsheet can still add it up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.rules.eligibility import ELDER_STATUS_TITLES
from app.rules.money import yuan_text
from app.rules.provider_list import KIND_TITLES

if TYPE_CHECKING:
    from app.reports.annual import AnnualReport
    from app.reports.service import QuarterlyReport

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
UTF8_BOM = "\ufeff"

SHEET_TITLE_MAX = 31  # Excel's limit, in UTF-16 code units
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/?*:\[\]]")
_RESERVED_SHEET_TITLES = frozenset({"history"})  # Excel keeps "History" for itself
# A text cell starting with one of these is a formula to Excel (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

YUAN_FORMAT = "0.00"
RATIO_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
BOLD = Font(bold=True)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate(text: str, limit: int) -> str:
    while _utf16_len(text) > limit:
        text = text[:-1]
    return text


def sheet_titles(names: Iterable[str], *, taken: Iterable[str] = ()) -> list[str]:
    """One worksheet title per name, in order: characters Excel forbids removed, at most 31
    characters, not starting or ending with an apostrophe, unique (Excel compares titles
    case-insensitively) and distinct from ``taken``; a clash gets " (2)", " (3)", …."""
    used = {title.casefold() for title in taken} | set(_RESERVED_SHEET_TITLES)
    titles = []
    for name in names:
        base = ILLEGAL_CHARACTERS_RE.sub("", _SHEET_TITLE_FORBIDDEN.sub("", name)).strip().strip("'").strip()
        base = _truncate(base, SHEET_TITLE_MAX).rstrip("'").rstrip() or "Sheet"
        title, counter = base, 1
        while title.casefold() in used:
            counter += 1
            suffix = f" ({counter})"
            title = _truncate(base, SHEET_TITLE_MAX - len(suffix)).rstrip("'").rstrip() + suffix
        used.add(title.casefold())
        titles.append(title)
    return titles


def clean_text(value: str | None) -> str:
    """Text without the control characters an XLSX file cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value or "")


def csv_text(value: str | None) -> str:
    """Free text for a CSV cell: a leading ``=``, ``+``, ``-`` or ``@`` is quoted with an
    apostrophe so that a spreadsheet shows it instead of running it as a formula."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def yuan(fen: int) -> Decimal:
    """Fen as an exact yuan amount with two decimals."""
    return Decimal(yuan_text(fen))


def text_cell(sheet: WriteOnlyWorksheet, value: str | None, *, bold: bool = False) -> WriteOnlyCell:
    """A text cell that stays text, even when it starts with "=" (never a formula)."""
    cell = WriteOnlyCell(sheet, value=clean_text(value))
    cell.data_type = "s"
    if bold:
        cell.font = BOLD
    return cell


def row_text(sheet: WriteOnlyWorksheet, value: str | None) -> str | WriteOnlyCell:
    """Text for a bulk row: a plain string (cheapest for openpyxl to write) unless it would be
    read as a formula, then a text cell."""
    text = clean_text(value)
    return text_cell(sheet, text) if text.startswith("=") else text


def yuan_cell(sheet: WriteOnlyWorksheet, fen: int | None, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=None if fen is None else yuan(fen))
    cell.number_format = YUAN_FORMAT
    if bold:
        cell.font = BOLD
    return cell


def date_cell(sheet: WriteOnlyWorksheet, day: date | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=day)
    cell.number_format = DATE_FORMAT
    return cell


def ratio_cell(sheet: WriteOnlyWorksheet, ratio: str | None) -> WriteOnlyCell:
    """An exact ratio ("0.1875") as a number shown as a percentage."""
    cell = WriteOnlyCell(sheet, value=None if ratio is None else Decimal(ratio))
    cell.number_format = RATIO_FORMAT
    return cell


def cells(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """A row: strings become text cells (never formulas), anything else is kept."""
    return [row_text(sheet, v) if isinstance(v, str) else v for v in values]


def header_row(sheet: WriteOnlyWorksheet, titles: Iterable[str]) -> list[WriteOnlyCell]:
    return [text_cell(sheet, title, bold=True) for title in titles]


def set_widths(sheet: WriteOnlyWorksheet, widths: Iterable[float]) -> None:
    """Column widths; must be called before the first row is appended."""
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def yes_no(flag: bool) -> str:
    return "是" if flag else "否"


_FILENAME_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def safe_filename(name: str) -> str:
    """A file name without path separators, characters Windows forbids, or control characters."""
    return _FILENAME_FORBIDDEN.sub("_", name).strip(" .") or "statement"


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header with the Chinese name (RFC 5987/6266 ``filename*``) and an ASCII
    fallback for clients that do not read it."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_chunks(file: IO[bytes], chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Read a finished file from the start in chunks, closing it at the end."""
    try:
        file.seek(0)
        while chunk := file.read(chunk_size):
            yield chunk
    finally:
        file.close()


# --- the quarterly progress report -----------------------------------------------------------
QUARTERLY_SHEET = "季度报告"
SETTLEMENT_TITLES = {
    "not_built": "未生成",
    "civil_review": "民政审核",
    "finance_review": "财政复审",
    "payment": "待支付",
    "settled": "已结算",
}
CATEGORY_TITLES = {"home_community": "居家社区服务", "institution": "机构服务"}


def _indicator_rows(sheet: WriteOnlyWorksheet, months: list, total, total_label: str) -> list[list[Any]]:
    """One row per indicator, a column per month and one for the period (quarter or year)."""
    periods = [*months, total]

    def row(label: str, values: Iterable[Any]) -> list[Any]:
        return [text_cell(sheet, label, bold=True), *cells(sheet, values)]

    def money(label: str, pick) -> list[Any]:
        return [text_cell(sheet, label, bold=True), *(yuan_cell(sheet, pick(p)) for p in periods)]

    def count(label: str, pick) -> list[Any]:
        return row(label, (pick(p) for p in periods))

    def monthly(label: str, pick) -> list[Any]:
        return row(label, [pick(m.settlement) for m in months])

    def deadline(label: str, pick) -> list[Any]:
        return [
            text_cell(sheet, label, bold=True),
            *(date_cell(sheet, pick(m.settlement.deadlines)) for m in months),
        ]

    rows: list[list[Any]] = [
        [text_cell(sheet, "指标", bold=True), *(text_cell(sheet, m.month, bold=True) for m in months)]
        + [text_cell(sheet, total_label, bold=True)],
        count("持券老年人数", lambda p: p.elders_with_vouchers),
        count("发放消费券(张)", lambda p: p.vouchers_issued),
        money("消费券面值(元)", lambda p: p.face_value_fen),
        count("核销笔数(含撤销)", lambda p: p.redemptions.count),
        count("有效核销笔数", lambda p: p.redemptions.posted),
        count("撤销笔数", lambda p: p.redemptions.reversed),
        count("接受服务老年人数", lambda p: p.redemptions.elders),
        money("消费金额(元)", lambda p: p.amount_fen),
        money("抵扣金额(元)", lambda p: p.deduction_fen),
    ]
    for category, title in CATEGORY_TITLES.items():
        rows += [
            count(f"{title}核销笔数", lambda p, c=category: p.by_category[c].redemptions),
            money(f"{title}消费金额(元)", lambda p, c=category: p.by_category[c].amount_fen),
            money(f"{title}抵扣金额(元)", lambda p, c=category: p.by_category[c].deduction_fen),
        ]
    rows += [
        [
            text_cell(sheet, "使用率(抵扣/面值)", bold=True),
            *(ratio_cell(sheet, p.utilisation) for p in periods),
        ],
        count("到期作废消费券(张)", lambda p: p.expired.vouchers),
        money("到期释放金额(元)", lambda p: p.expired.released_fen),
        count("注销消费券(张)", lambda p: p.revoked.vouchers),
        money("注销释放金额(元)", lambda p: p.revoked.released_fen),
        monthly("结算状态", lambda s: SETTLEMENT_TITLES.get(s.status, s.status)),
        deadline("民政审核截止日", lambda d: d.civil_review),
        deadline("财政复审截止日", lambda d: d.finance_review),
        deadline("支付截止日", lambda d: d.payment),
        monthly("是否逾期", lambda s: yes_no(s.overdue)),
        money("中央资金(元)", lambda p: p.funding.central_fen),
        money("市级资金(元)", lambda p: p.funding.city_fen),
        money("区级资金(元)", lambda p: p.funding.district_fen),
        money("已审定应付合计(元)", lambda p: p.funding.payable_fen),
    ]
    return rows


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
    from openpyxl import Workbook

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
