"""``voucher ledger``: the journal check."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from app.cli import terminal
from app.db import session_scope
from app.integrity import verify as integrity

group = typer.Typer(help="账本分录。", no_args_is_help=True)


@group.command("verify")
def verify() -> None:
    """按分录重算每个余额;有不一致时退出码为 1。"""
    status = terminal.console.status("核对分录…")
    with terminal.app_errors(), status, session_scope(write=False) as session:
        report = integrity.verify(session)
    table = Table(title="账本核对")
    for column in ("分录", "分录行", "核对消费券", "不一致"):
        table.add_column(column, justify="right")
    table.add_row(
        str(report.entries),
        str(report.lines),
        str(report.vouchers_checked),
        str(len(report.mismatches)),
    )
    terminal.console.print(table)
    for mismatch in report.mismatches:
        terminal.console.print(f"[red]{escape(str(mismatch))}[/red]")
    if not report.ok:
        raise typer.Exit(code=1)
    terminal.console.print("[green]账本平衡,余额与分录一致[/green]")
