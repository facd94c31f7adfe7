"""``voucher anomalies``: the anomaly scan (四(二) 异常交易预警)."""

from __future__ import annotations

import typer
from rich.table import Table

from app.cli import terminal
from app.cli.options import MonthOption
from app.db import session_scope
from app.jobs import service
from app.rules.anomalies import RULES

group = typer.Typer(help="异常交易预警(四(二))。", no_args_is_help=True)


@group.command("scan")
def scan(month: MonthOption) -> None:
    """用全部预警规则扫描当月核销(可重复执行:同一异常不会重复记录)。"""
    # One job run, one transaction over every district (app.jobs.service.run_anomaly_scan): a
    # spinner, not a per-district bar.
    status = terminal.console.status(f"扫描 {month} 异常交易…")
    with terminal.app_errors(), status, session_scope() as session:
        result, run = service.run_anomaly_scan(session, month, trigger="cli")
    table = Table(title=f"{result.month} 异常交易预警(新增)")
    table.add_column("规则")
    table.add_column("说明")
    table.add_column("新增", justify="right")
    for rule, count in result.found.items():
        table.add_row(rule, RULES[rule].title, str(count))
    terminal.console.print(table)
    terminal.console.print(f"新增 {result.total} 条 (作业记录 {run.id})")
