"""``voucher calendar``: the working-day calendar (the holidays package plus city-admin
overrides) that every settlement deadline is counted on."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from app.calendar import service
from app.cli import terminal
from app.cli.actors import actor_names
from app.cli.options import DayArgument, MonthOption, operator
from app.db import session_scope
from app.errors import NotFound
from app.rules.calendar import WorkingCalendar, is_working_day, nth_working_day_of_month
from app.rules.months import Month
from app.rules.settlement import CIVIL_REVIEW_WORKING_DAYS

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

group = typer.Typer(
    help="工作日历:法定节假日和调休上班日,以及市级管理员的人工校正。",
    no_args_is_help=True,
)


@group.command("list")
def list_overrides(
    year: Annotated[int | None, typer.Option(min=1900, max=9999, help="只列该年")] = None,
) -> None:
    """列出人工校正(优先于节假日数据)。"""
    with terminal.app_errors(), session_scope(write=False) as session:
        rows = [row for row in service.list_overrides(session) if year is None or row.day.year == year]
        actors = actor_names(session, (row.set_by for row in rows))
    if not rows:
        terminal.console.print("没有人工校正" + (f"({year} 年)" if year else ""))
        return
    table = Table(title="工作日人工校正" + (f"({year} 年)" if year else ""))
    for column in ("日期", "星期", "校正为", "说明", "设置人", "设置时间"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.day.isoformat(),
            WEEKDAYS[row.day.weekday()],
            "工作日" if row.working else "[yellow]休息日[/yellow]",
            escape(row.note),
            escape(actors.get(row.set_by, row.set_by)),
            terminal.beijing_time(row.set_at),
        )
    terminal.console.print(table)


@group.command("set")
def set_override(
    day: DayArgument,
    working: Annotated[
        bool,
        typer.Option("--working/--holiday", help="校正为工作日(如调休上班)或休息日"),
    ],
    note: Annotated[str, typer.Option(help="校正依据,如国务院通知(1-500 个字符)")],
) -> None:
    """校正某天是否为工作日(人工校正优先于节假日数据)。"""
    note = note.strip()
    if not 1 <= len(note) <= 500:
        raise typer.BadParameter("说明应为 1-500 个字符", param_hint="--note")
    with terminal.app_errors(), session_scope() as session:
        row = service.set_override(session, operator(), day, working=working, note=note)
        what = "工作日" if row.working else "休息日"
    terminal.console.print(
        f"[green]{day.isoformat()}({WEEKDAYS[day.weekday()]})已校正为{what}[/green]: {escape(note)}"
    )
    terminal.console.print("结算批次各阶段截止日按新的日历重新计算")


@group.command("delete")
def delete_override(day: DayArgument) -> None:
    """删除某天的人工校正(恢复按节假日数据认定)。"""
    with terminal.app_errors(), session_scope() as session:
        if not service.delete_override(session, day):
            raise NotFound(f"{day.isoformat()} 没有人工校正")
    terminal.console.print(f"[green]已删除 {day.isoformat()} 的人工校正[/green]")


@group.command("show")
def show(month: MonthOption) -> None:
    """按现行日历列出当月每天、工作日数和第 10 个工作日。"""
    with terminal.app_errors(), session_scope(write=False) as session:
        calendar = service.working_calendar(session)
        notes = {row.day: row.note for row in service.list_overrides(session)}
    table, working_days = _month_table(month, calendar, notes)
    terminal.console.print(table)
    tenth = nth_working_day_of_month(month, CIVIL_REVIEW_WORKING_DAYS, calendar)
    terminal.console.print(f"{month} 共 {working_days} 个工作日")
    terminal.console.print(
        f"第 {CIVIL_REVIEW_WORKING_DAYS} 个工作日: [bold]{tenth.isoformat()}[/bold]"
        f"({WEEKDAYS[tenth.weekday()]}),即 {month.previous()} 结算批次的民政审核截止日"
    )


def _month_table(month: Month, calendar: WorkingCalendar, notes: dict[date, str]) -> tuple[Table, int]:
    """One row per day, working days numbered; with the month's number of working days."""
    table = Table(title=f"{month} 工作日历")
    for column in ("日期", "星期", "", "依据", "说明"):
        table.add_column(column)
    working_days = 0
    day = month.first_day
    while day <= month.last_day:
        working = is_working_day(day, calendar)
        working_days += working
        table.add_row(
            day.isoformat(),
            WEEKDAYS[day.weekday()],
            f"第 {working_days} 个工作日" if working else "[yellow]休息[/yellow]",
            _day_source(day, calendar),
            escape(notes.get(day, "")),
        )
        day += timedelta(days=1)
    return table, working_days


def _day_source(day: date, calendar: WorkingCalendar) -> str:
    """What makes the day a working day or a day off, the override first."""
    if day in calendar.overrides:
        return "人工校正"
    if day in calendar.makeup_workdays:
        return "调休上班"
    if day in calendar.public_holidays:
        return "法定节假日"
    return "周末" if day.weekday() >= 5 else "工作日"
