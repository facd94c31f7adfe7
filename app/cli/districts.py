"""``voucher districts``: the districts, by code, name and the short name ``--district`` takes."""

from __future__ import annotations

from rich.table import Table

from app.cli import terminal
from app.db import session_scope
from app.reference.service import district_short_name, list_districts


def districts() -> None:
    """列出各行政区的代码、全称和简称(--district 三者皆可)。"""
    with terminal.app_errors(), session_scope(write=False) as session:
        rows = [(d.code, d.name, district_short_name(d)) for d in list_districts(session)]
    table = Table(title="行政区")
    for column in ("代码", "名称", "简称"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    terminal.console.print(table)
    terminal.console.print(f"共 {len(rows)} 个行政区")
