"""Exports of the dashboard's list pages (issue 15): the current filter as CSV (streamed from a
read session of its own, with a totals row where there is money) or XLSX (a write-only workbook
spooled to a temporary file). Names are masked and ID numbers never leave; the cell helpers of
app/exports.py keep text from becoming formulas and write money as exact yuan.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import IO, Any

from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from app import exports
from app.dashboard import labels
from app.errors import NotFound
from app.exports import CSV_MEDIA_TYPE, UTF8_BOM, XLSX_MEDIA_TYPE, csv_text
from app.redemptions import queries
from app.rules.identity import mask_name
from app.rules.money import yuan_text
from app.rules.months import BEIJING
from app.rules.sanctions import RectificationStatus
from app.sanctions import blacklist
from app.sanctions import service as rectifications
from app.settlements.downloads import download, streamed, workbook

FORMATS = ("csv", "xlsx")
CSV_CHUNK_ROWS = 500

REDEMPTION_COLUMNS = (
    ("服务时间", 17),
    ("服务机构", 28),
    ("老年人", 10),
    ("服务项目", 22),
    ("消费金额(元)", 14),
    ("长护险支付(元)", 14),
    ("补贴抵扣(元)", 14),
    ("自付(元)", 12),
    ("状态", 8),
    ("服务凭证", 10),
    ("票据号", 18),
    ("核销编号", 38),
)
REDEMPTION_STATUS = {"posted": "已核销", "reversed": "已冲正"}


def check_format(file_format: str) -> str:
    if file_format not in FORMATS:
        raise NotFound("页面不存在")
    return file_format


def _served(r: queries.RedemptionRow) -> str:
    return r.served_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _redemption_texts(r: queries.RedemptionRow) -> list[str]:
    """The row's text columns (the ones before the money and after it)."""
    return [
        _served(r),
        r.provider_name,
        mask_name(r.elder_name),
        f"{r.item} {r.item_name}",
    ]


def _redemption_tail(r: queries.RedemptionRow) -> list[str]:
    return [
        REDEMPTION_STATUS.get(r.status, r.status),
        "齐全" if r.evidence_complete else "缺少",
        r.receipt_no or "",
        str(r.id),
    ]


# --- CSV -------------------------------------------------------------------------------------


def _csv_lines(rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    """CSV text in chunks of CSV_CHUNK_ROWS rows, each cell safe from formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(UTF8_BOM)
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_text(cell) for cell in row])
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _redemption_csv_rows(session: Session, f: queries.RedemptionFilters) -> Iterator[list[str]]:
    yield [title for title, _ in REDEMPTION_COLUMNS]
    count = amount = ltci = deduction = self_pay = 0
    for r in queries.stream_rows(session, f):
        count += 1
        amount, ltci = amount + r.amount_fen, ltci + r.ltci_paid_fen
        deduction, self_pay = deduction + r.deduction_fen, self_pay + r.self_pay_fen
        money = [yuan_text(v) for v in (r.amount_fen, r.ltci_paid_fen, r.deduction_fen, r.self_pay_fen)]
        yield [*_redemption_texts(r), *money, *_redemption_tail(r)]
    totals = [yuan_text(v) for v in (amount, ltci, deduction, self_pay)]
    yield [f"合计({count} 笔)", "", "", "", *totals, "", "", "", ""]


# --- XLSX ------------------------------------------------------------------------------------


def _write_sheet(
    out: IO[bytes], title: str, columns: Sequence[tuple[str, float]], rows: Callable[[Any], Iterator[list]]
) -> None:
    """A one-sheet write-only workbook: bold header, widths, autofilter, rows from ``rows(sheet)``."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(exports.sheet_titles([title])[0])
    exports.set_widths(sheet, [width for _, width in columns])
    sheet.freeze_panes = "A2"
    sheet.append(exports.header_row(sheet, [name for name, _ in columns]))
    last = 1
    for row in rows(sheet):
        sheet.append(row)
        last += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(last, 1)}"
    book.save(out)


def _redemption_xlsx_rows(session: Session, f: queries.RedemptionFilters):
    def rows(sheet) -> Iterator[list]:
        count = amount = ltci = deduction = self_pay = 0
        for r in queries.stream_rows(session, f):
            count += 1
            amount, ltci = amount + r.amount_fen, ltci + r.ltci_paid_fen
            deduction, self_pay = deduction + r.deduction_fen, self_pay + r.self_pay_fen
            money = [
                exports.yuan_cell(sheet, v)
                for v in (r.amount_fen, r.ltci_paid_fen, r.deduction_fen, r.self_pay_fen)
            ]
            yield [*exports.cells(sheet, _redemption_texts(r)), *money, *exports.cells(sheet, _redemption_tail(r))]  # fmt: skip
        totals = [exports.yuan_cell(sheet, v, bold=True) for v in (amount, ltci, deduction, self_pay)]
        yield [exports.text_cell(sheet, f"合计({count} 笔)", bold=True), None, None, None, *totals]

    return rows


def _names(f: queries.RedemptionFilters, extension: str) -> tuple[str, str]:
    first, last = f.months
    span = str(first) if first == last else f"{first}_{last}"
    return (
        f"核销记录_{f.district_code}_{span}.{extension}",
        f"redemptions_{f.district_code}_{span}.{extension}",
    )


def redemptions_response(
    session: Session, f: queries.RedemptionFilters, file_format: str
) -> StreamingResponse:
    """The filtered redemptions as a download, CSV or XLSX."""
    if check_format(file_format) == "csv":
        return download(
            streamed(lambda read: _csv_lines(_redemption_csv_rows(read, f))), CSV_MEDIA_TYPE, _names(f, "csv")
        )
    chunks = workbook(
        lambda out: _write_sheet(out, "核销记录", REDEMPTION_COLUMNS, _redemption_xlsx_rows(session, f))
    )
    return download(chunks, XLSX_MEDIA_TYPE, _names(f, "xlsx"))


# --- providers -------------------------------------------------------------------------------

PROVIDER_COLUMNS = (
    ("服务机构", 32),
    ("类型", 20),
    ("名单状态", 10),
    ("统一社会信用代码", 22),
    ("失信联合惩戒", 12),
    ("整改中的通知", 12),
)
PAGE_ROWS = 500
ProviderSearch = Callable[[Session, int, int], list]


def _provider_rows(session: Session, search: ProviderSearch) -> Iterator[list[str]]:
    """The filtered providers, PAGE_ROWS at a time, with their sanctions (two queries a page)."""
    offset = 0
    while shown := search(session, PAGE_ROWS, offset):
        entries = blacklist.active_entries_of(session, {p.credit_code for p in shown})
        orders = rectifications.rectifications_of_providers(
            session, {p.id for p in shown}, (RectificationStatus.OPEN,)
        )
        open_orders: dict = {}
        for o in orders:
            open_orders[o.provider_id] = open_orders.get(o.provider_id, 0) + 1
        for p in shown:
            yield [
                p.name,
                labels.title(labels.PROVIDER_KIND_TITLES, p.kind),
                labels.title(labels.PROVIDER_STATUS_TITLES, p.status),
                p.credit_code,
                "是" if p.credit_code in entries else "否",
                str(open_orders.get(p.id, 0)),
            ]
        offset += PAGE_ROWS


def providers_response(
    session: Session, search: ProviderSearch, district_code: str, file_format: str
) -> StreamingResponse:
    """The filtered providers as a download, CSV or XLSX (no money: no totals row)."""
    names = (f"服务机构_{district_code}", f"providers_{district_code}")
    if check_format(file_format) == "csv":
        header = [[title for title, _ in PROVIDER_COLUMNS]]
        return download(
            streamed(lambda read: _csv_lines(chain(header, _provider_rows(read, search)))),
            CSV_MEDIA_TYPE,
            (f"{names[0]}.csv", f"{names[1]}.csv"),
        )

    def rows(sheet) -> Iterator[list]:
        for row in _provider_rows(session, search):
            yield exports.cells(sheet, row)

    chunks = workbook(lambda out: _write_sheet(out, "服务机构", PROVIDER_COLUMNS, rows))
    return download(chunks, XLSX_MEDIA_TYPE, (f"{names[0]}.xlsx", f"{names[1]}.xlsx"))


# --- anomaly warnings ------------------------------------------------------------------------

ANOMALY_COLUMNS = (
    ("预警规则", 30),
    ("所属月份", 10),
    ("发现时间", 17),
    ("服务机构", 28),
    ("老年人", 10),
    ("涉及核销消费金额(元)", 16),
    ("处理状态", 10),
    ("核查说明", 40),
    ("处理时间", 17),
    ("预警编号", 38),
)
ANOMALY_STATUS = {"open": "待处理", "confirmed": "核查属实", "dismissed": "核查排除"}
ViewSearch = Callable[[Session, int, int], list]


def _time(value) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else ""


def _paged(session: Session, search: ViewSearch) -> Iterator[Any]:
    offset = 0
    while shown := search(session, PAGE_ROWS, offset):
        yield from shown
        offset += PAGE_ROWS


def _anomaly_cells(a) -> tuple[list[str], int | None, list[str]]:
    head = [a.rule_title, a.month, _time(a.detected_at), a.provider, a.elder]
    tail = [ANOMALY_STATUS.get(a.status, a.status), a.resolution_note or "", _time(a.resolved_at), a.id]
    return head, a.redemption.amount_fen if a.redemption else None, tail


def _anomaly_csv_rows(session: Session, search: ViewSearch) -> Iterator[list[str]]:
    yield [title for title, _ in ANOMALY_COLUMNS]
    count = total = 0
    for a in _paged(session, search):
        head, amount, tail = _anomaly_cells(a)
        count, total = count + 1, total + (amount or 0)
        yield [*head, "" if amount is None else yuan_text(amount), *tail]
    yield [f"合计({count} 条)", "", "", "", "", yuan_text(total), "", "", "", ""]


def anomalies_response(
    session: Session, search: ViewSearch, district_code: str, file_format: str
) -> StreamingResponse:
    """The filtered warnings as a download, CSV (with a totals row) or XLSX."""
    names = (f"异常预警_{district_code}", f"anomalies_{district_code}")
    if check_format(file_format) == "csv":
        return download(
            streamed(lambda read: _csv_lines(_anomaly_csv_rows(read, search))),
            CSV_MEDIA_TYPE,
            (f"{names[0]}.csv", f"{names[1]}.csv"),
        )

    def rows(sheet) -> Iterator[list]:
        count = total = 0
        for a in _paged(session, search):
            head, amount, tail = _anomaly_cells(a)
            count, total = count + 1, total + (amount or 0)
            yield [*exports.cells(sheet, head), exports.yuan_cell(sheet, amount), *exports.cells(sheet, tail)]
        yield [exports.text_cell(sheet, f"合计({count} 条)", bold=True), None, None, None, None, exports.yuan_cell(sheet, total, bold=True)]  # fmt: skip

    chunks = workbook(lambda out: _write_sheet(out, "异常预警", ANOMALY_COLUMNS, rows))
    return download(chunks, XLSX_MEDIA_TYPE, (f"{names[0]}.xlsx", f"{names[1]}.xlsx"))


# --- an audit sample's drawn elders ----------------------------------------------------------

SAMPLE_COLUMNS = (
    ("序号", 6),
    ("老年人", 10),
    ("分层", 30),
    ("本月使用的服务机构", 36),
    ("本月核销笔数", 12),
    ("补贴抵扣(元)", 14),
    ("已录入结论", 10),
)


def _sample_cells(e) -> tuple[list[str], int]:
    head = [str(e.position), e.name, e.stratum, "、".join(e.providers), str(len(e.redemptions))]
    return head, e.deduction_fen


def _sample_csv_rows(session: Session, search: ViewSearch) -> Iterator[list[str]]:
    yield [title for title, _ in SAMPLE_COLUMNS]
    count = total = 0
    for e in _paged(session, search):
        head, deduction = _sample_cells(e)
        count, total = count + 1, total + deduction
        yield [*head, yuan_text(deduction), str(e.findings)]
    yield [f"合计({count} 人)", "", "", "", "", yuan_text(total), ""]


def audit_sample_response(
    session: Session, search: ViewSearch, name: str, file_format: str
) -> StreamingResponse:
    """A sample's drawn elders as a download, CSV (with a totals row) or XLSX."""
    if check_format(file_format) == "csv":
        return download(
            streamed(lambda read: _csv_lines(_sample_csv_rows(read, search))),
            CSV_MEDIA_TYPE,
            (f"抽查样本_{name}.csv", f"audit_sample_{name}.csv"),
        )

    def rows(sheet) -> Iterator[list]:
        count = total = 0
        for e in _paged(session, search):
            head, deduction = _sample_cells(e)
            count, total = count + 1, total + deduction
            yield [*exports.cells(sheet, head), exports.yuan_cell(sheet, deduction), e.findings]
        yield [exports.text_cell(sheet, f"合计({count} 人)", bold=True), None, None, None, None, exports.yuan_cell(sheet, total, bold=True)]  # fmt: skip

    chunks = workbook(lambda out: _write_sheet(out, "抽查样本", SAMPLE_COLUMNS, rows))
    return download(chunks, XLSX_MEDIA_TYPE, (f"抽查样本_{name}.xlsx", f"audit_sample_{name}.xlsx"))


# --- the audit samples of a district (a short list: one or two a month) ------------------------

SAMPLES_COLUMNS = (("月份", 10), ("抽查类型", 14), ("总体(人)", 10), ("样本(人)", 10), ("已录入结论", 10), ("抽取时间", 17), ("抽取人", 16))  # fmt: skip


def samples_response(
    rows: list, kinds: dict[str, str], district_code: str, file_format: str
) -> StreamingResponse:
    """The district's audit samples, CSV or XLSX (no money: no totals row)."""
    texts = [
        [
            r.month,
            kinds.get(r.kind, r.kind),
            str(r.population),
            str(r.sample_size),
            str(r.findings),
            _time(r.drawn_at),
            r.drawn_by,
        ]  # fmt: skip
        for r in rows
    ]
    names = (f"抽查样本_{district_code}", f"audit_samples_{district_code}")
    if check_format(file_format) == "csv":
        lines = _csv_lines(chain([[title for title, _ in SAMPLES_COLUMNS]], texts))
        return download(lines, CSV_MEDIA_TYPE, (f"{names[0]}.csv", f"{names[1]}.csv"))
    chunks = workbook(lambda out: _write_sheet(out, "抽查样本", SAMPLES_COLUMNS, lambda sheet: (exports.cells(sheet, t) for t in texts)))  # fmt: skip
    return download(chunks, XLSX_MEDIA_TYPE, (f"{names[0]}.xlsx", f"{names[1]}.xlsx"))
