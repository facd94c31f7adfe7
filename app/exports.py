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
from typing import IO, Any
from urllib.parse import quote

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.rules.money import yuan_text

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
