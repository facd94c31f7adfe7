"""A provider list as XLSX: one sheet with the list (Chinese headers), one with the publication
record. Rendered from the API's shapes, so the file and the JSON always agree."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from openpyxl import Workbook
from openpyxl.styles import Font

from app.provider_lists.schemas import ListEntryOut
from app.rules.months import BEIJING

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_HEADERS = ("机构名称", "类型", "统一社会信用代码", "变动", "变动日期", "原因")


class ListShape(Protocol):
    """``ProviderListOut`` or ``PublicationOut``."""

    month: str
    added: int
    withdrawn: int
    entries: list[ListEntryOut]


class PublicationRecord(Protocol):
    """``PublicationStateOut`` (of a computed list) or ``PublicationOut``."""

    due_on: date
    published_at: datetime | None
    published_by: str | None
    late: bool


def render_xlsx(*, district: str, listing: ListShape, record: PublicationRecord) -> bytes:
    workbook = Workbook()
    _list_sheet(workbook, listing.entries)
    info = workbook.create_sheet("公布信息")
    published_at = record.published_at
    for label, value in (
        ("行政区", district),
        ("月份", listing.month),
        ("新增", listing.added),
        ("退出", listing.withdrawn),
        ("应公布日期", record.due_on.isoformat()),
        ("公布时间", published_at.astimezone(BEIJING).isoformat() if published_at else "未公布"),
        ("公布人", record.published_by or ""),
        ("是否逾期", "是" if record.late else "否"),
    ):
        info.append((label, value))
    info.column_dimensions["A"].width = 14
    info.column_dimensions["B"].width = 32
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _list_sheet(workbook: Workbook, entries: Sequence[ListEntryOut]) -> None:
    sheet = workbook.active
    sheet.title = "名单变动"
    sheet.append(XLSX_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in entries:
        sheet.append(
            (
                entry.name,
                entry.kind_title,
                entry.credit_code,
                entry.change_title,
                entry.changed_on,
                entry.reason,
            )
        )
    for row in sheet.iter_rows(min_row=2, min_col=5, max_col=5):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEF", (36, 22, 22, 16, 12, 40), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
