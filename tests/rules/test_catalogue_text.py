"""Check the catalogue seed CSV against attachment 1 of 京民发〔2026〕6号.

Pure text test: no database, no application import.  The policy text keeps
the attachment-1 table as tab-separated lines, one per item, starting with the
item number (序号).  The printed table uses merged cells, which show up in the
text as blank cells meaning "same as the row above".
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSV_PATH = ROOT / "app/reference/data/catalogue_2026.csv"
POLICY_PATH = ROOT / "docs/policy/jingminfa-2026-6-voucher-work-plan.zh.txt"

ATTACHMENT_HEADING = "北京市养老服务消费补贴项目清单"
HEADER = [
    "item",
    "category",
    "group",
    "subgroup",
    "name",
    "unit",
    "ref_price_min_fen",
    "ref_price_max_fen",
]
ITEMS = list(range(1, 52))
CONTRACT_PRICE = "依据服务合同确定"
UNITS = {"次", "小时", "天", "月"}

# All whitespace except the tab that separates table cells.
_SPACES = re.compile(r"[^\S\t]+")
_DASHES = re.compile(r"[‐‑‒–—―－~～]")
_PRICE = re.compile(r"(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?元/(次|小时|天|月)")
_ROW = re.compile(r"^(\d+)\t")
_BRACKETED = re.compile(r"[(（]([^()（）]+)[)）]")


def norm(text: str) -> str:
    """Drop spaces (ASCII, ideographic, no-break...) but keep tabs."""
    return _SPACES.sub("", text)


def expected_category(item: int) -> str:
    if item == 1:
        return "assessment"
    if 2 <= item <= 4:
        return "institution"
    return "home_community"


def fen_to_yuan(fen: int) -> str:
    if fen % 100 == 0:
        return str(fen // 100)
    return f"{fen // 100}.{fen % 100:02d}".rstrip("0")


def yuan_to_fen(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


@cache
def csv_rows() -> tuple[dict[str, str], ...]:
    raw = CSV_PATH.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "CSV must not carry a UTF-8 BOM"
    text = raw.decode("utf-8")
    reader = csv.DictReader(text.splitlines())
    assert reader.fieldnames == HEADER
    rows = tuple(reader)
    for row in rows:
        assert None not in row, f"row has extra columns: {row}"
        assert all(v is not None for v in row.values()), f"row too short: {row}"
    return rows


@cache
def csv_by_item() -> dict[int, dict[str, str]]:
    return {int(row["item"]): row for row in csv_rows()}


@cache
def table_lines() -> tuple[tuple[int, tuple[str, ...]], ...]:
    """(item number, normalised cells) for each table row of attachment 1, in order."""
    lines = POLICY_PATH.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == ATTACHMENT_HEADING]
    assert starts, f"heading {ATTACHMENT_HEADING!r} not found in policy text"
    rows = []
    for line in lines[starts[0] + 1 :]:
        match = _ROW.match(line)
        if match:
            rows.append((int(match.group(1)), tuple(norm(c) for c in line.split("\t"))))
    return tuple(rows)


def table_row(item: int) -> tuple[int, tuple[str, ...]]:
    """(position in table, cells) for one item; the item must appear exactly once."""
    found = [(pos, cells) for pos, (num, cells) in enumerate(table_lines()) if num == item]
    assert len(found) == 1, f"item {item}: expected one table line, found {len(found)}"
    return found[0]


def cell(cells: tuple[str, ...], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def resolved_group(pos: int) -> str:
    """Category cell (column 2) with merged cells resolved, bracket text extracted."""
    for _, cells in reversed(table_lines()[: pos + 1]):
        value = cell(cells, 1)
        if value:
            bracketed = _BRACKETED.search(value)
            return bracketed.group(1) if bracketed else value
    raise AssertionError("no category cell above this row")


def price_and_unit(line: str) -> list[tuple[int, int, str]]:
    found = []
    for low, high, unit in _PRICE.findall(_DASHES.sub("-", line)):
        found.append((yuan_to_fen(low), yuan_to_fen(high or low), unit))
    return found


# ---------------------------------------------------------------- whole file


def test_exactly_51_rows_in_order() -> None:
    items = [int(row["item"]) for row in csv_rows()]
    assert len(items) == 51
    assert len(set(items)) == len(items), "item numbers must be unique"
    assert items == ITEMS


def test_text_table_has_51_items_in_order() -> None:
    assert [num for num, _ in table_lines()] == ITEMS


def test_item_column_is_plain_integer() -> None:
    for row in csv_rows():
        assert re.fullmatch(r"[1-9]\d*", row["item"]), row


# ------------------------------------------------------------------ per item


@pytest.mark.parametrize("item", ITEMS)
def test_catalogue_item_matches_text(item: int) -> None:
    row = csv_by_item().get(item)
    assert row is not None, f"item {item} missing from CSV"
    pos, cells = table_row(item)
    line = "\t".join(cells)

    # category / group
    assert row["category"] == expected_category(item)
    assert row["group"] == norm(row["group"]) and row["group"], "group must be set, no spaces"
    assert row["group"] == resolved_group(pos)

    # name
    name = row["name"]
    assert name and name == norm(name), "name must be set and carry no spaces"
    assert name in line

    # subgroup: on this line or an earlier line of the table (merged cells)
    subgroup = row["subgroup"]
    if subgroup:
        assert subgroup == norm(subgroup)
        earlier = ["\t".join(c) for _, c in table_lines()[: pos + 1]]
        assert any(subgroup in text for text in earlier)
        # Stricter: the table's second-level cell (column 3), resolved through
        # merged (blank) cells, is the subgroup and the name sits in column 4.
        second_level = next(cell(c, 2) for _, c in reversed(table_lines()[: pos + 1]) if cell(c, 2))
        assert second_level == subgroup
        assert cell(cells, 3) == name
    else:
        # No second level: the name occupies the second-level cell itself.
        assert cell(cells, 2) == name

    # unit and price
    unit = row["unit"]
    assert unit in UNITS
    low_text, high_text = row["ref_price_min_fen"], row["ref_price_max_fen"]
    prices = price_and_unit(line)
    if low_text or high_text:
        assert re.fullmatch(r"\d+", low_text) and re.fullmatch(r"\d+", high_text), (
            "prices must be integers in fen"
        )
        low, high = int(low_text), int(high_text)
        assert low <= high
        assert CONTRACT_PRICE not in line
        yuan = fen_to_yuan(low) if low == high else f"{fen_to_yuan(low)}-{fen_to_yuan(high)}"
        assert yuan in _DASHES.sub("-", line)
        assert len(prices) == 1, f"expected one price in line, found {prices}"
        assert prices[0] == (low, high, unit)
    else:
        assert low_text == high_text == "", "both prices must be null together"
        assert prices == []
        assert CONTRACT_PRICE in line or "元/" not in line
