"""``voucher jobs``: the scheduler's jobs by hand (the same code, recorded as job runs)."""

from __future__ import annotations

import typer

from app import clock
from app.cli import terminal
from app.cli.options import MonthOption
from app.db import session_scope
from app.jobs import service
from app.rules.money import yuan_text

group = typer.Typer(help="手动执行调度器的作业(同一套代码,可重复执行)。", no_args_is_help=True)


@group.command("issue")
def issue(month: MonthOption) -> None:
    """向当月每位有资格的老年人发放电子消费券(可重复执行)。"""
    status = terminal.console.status(f"发放 {month} 电子消费券…")
    with terminal.app_errors(), status, session_scope() as session:
        result, run = service.run_issue(session, month, trigger="cli")
    terminal.console.print(
        f"{result.month}: 新发放 {result.issued} 张,此前已发放 {result.already_issued} 张 (作业记录 {run.id})"
    )


@group.command("expire")
def expire(month: MonthOption) -> None:
    """已结束月份的电子消费券失效并释放余额(可重复执行)。"""
    status = terminal.console.status(f"{month} 电子消费券失效处理…")
    with terminal.app_errors(), status, session_scope() as session:
        result, run = service.run_expire(session, month, trigger="cli")
    terminal.console.print(
        f"{result.month}: 失效 {result.expired} 张,释放 {yuan_text(result.released_fen)} 元 (作业记录 {run.id})"
    )


@group.command("overdue")
def overdue() -> None:
    """标记当前阶段已超过办理时限的结算批次(每日作业)。"""
    status = terminal.console.status("检查结算批次办理时限…")
    with terminal.app_errors(), status, session_scope() as session:
        today = clock.today()
        flagged, run = service.run_flag_overdue(session, trigger="cli")
    style = "red" if flagged else "green"
    terminal.console.print(f"[{style}]{today}: 新标记逾期结算批次 {flagged} 个[/{style}] (作业记录 {run.id})")
