"""``voucher providers``: the provider registry's checks (一(四))."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from app.cli import terminal
from app.db import session_scope
from app.providers import service

group = typer.Typer(help="服务机构(一(四))。", no_args_is_help=True)


@group.command("conflicts")
def conflicts() -> None:
    """同时登记为评估经办机构和养老服务机构的组织;有则退出码为 1。"""
    with terminal.app_errors(), session_scope(write=False) as session:
        found = service.assessment_agency_conflicts(session)
        table = Table(title="评估经办机构与养老服务机构重复登记(一(四))")
        for column in ("统一社会信用代码", "行政区", "类型", "名称", "状态", "服务机构 ID"):
            table.add_column(column)
        for conflict in found:
            for provider in conflict.registrations:
                table.add_row(
                    conflict.credit_code,
                    provider.district_code,
                    provider.kind,
                    escape(provider.name),
                    provider.status,
                    str(provider.id),
                )
    if not found:
        terminal.console.print("[green]没有组织同时登记为评估经办机构和养老服务机构[/green]")
        return
    terminal.console.print(table)
    terminal.console.print(f"[red]{len(found)} 个组织需处理:评估经办机构不得提供补贴养老服务[/red]")
    raise typer.Exit(code=1)
