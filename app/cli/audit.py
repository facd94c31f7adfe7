"""``voucher audit``: audit samples (四(二) 抽查), drawn once and verifiable from their seed."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from app.audits import service
from app.auth.principal import Principal, Role
from app.cli import terminal
from app.cli.options import EndedMonthOption, operator
from app.db import session_scope
from app.reference.service import list_districts, resolve_district
from app.rules.identity import mask_id_number, mask_name
from app.rules.sampling import SAMPLE_KINDS

group = typer.Typer(help="抽查样本(四(二)):抽取与复核。", no_args_is_help=True)


@group.command("sample")
def sample(
    district: Annotated[
        str, typer.Option(help="行政区:代码、全称或简称(如 110105、朝阳区、朝阳;见 voucher districts)")
    ],
    month: EndedMonthOption,
    kind: Annotated[str, typer.Option(help="抽查对象:redemption(核销)| assessment(评估)")] = "redemption",
) -> None:
    """抽取当月 1% 的抽查样本(已抽取过的样本只显示,不重抽)。"""
    if kind not in SAMPLE_KINDS:
        raise typer.BadParameter(f"只能是 {' | '.join(SAMPLE_KINDS)}", param_hint="--kind")
    with terminal.app_errors(), terminal.console.status("抽取样本…"), session_scope() as session:
        code = resolve_district(session, district)
        drawn = service.draw_sample(session, operator(), district_code=code, month=month, kind=kind)
        elders = service.drawn_elders(session, drawn.sample)
        name = next(d.name for d in list_districts(session) if d.code == code)
    table = Table(title=f"{code} {name} {month} 抽查样本({'新抽取' if drawn.created else '此前已抽取'})")
    table.add_column("样本编号", overflow="fold")
    table.add_column("总体", justify="right")
    table.add_column("样本量", justify="right")
    table.add_row(str(drawn.sample.id), str(drawn.sample.population), str(drawn.sample.sample_size))
    terminal.console.print(table)
    terminal.console.print(f"种子 {drawn.sample.seed}", soft_wrap=True)
    if elders:
        terminal.console.print(_drawn_table(elders))


def _drawn_table(elders: list[tuple[uuid.UUID, str, str]]) -> Table:
    """The drawn elders in draw order, names and ID numbers masked as on every page."""
    table = Table(title="抽中的老年人")
    table.add_column("序号", justify="right")
    table.add_column("姓名")
    table.add_column("身份证号", no_wrap=True)
    table.add_column("老年人编号", no_wrap=True)
    for position, (elder_id, name, id_number) in enumerate(elders, 1):
        table.add_row(str(position), escape(mask_name(name)), mask_id_number(id_number), str(elder_id)[:8])
    return table


@group.command("verify")
def verify(sample_id: Annotated[str, typer.Argument(help="抽查样本编号")]) -> None:
    """按种子和总体重新计算样本;有任何不一致时退出码为 1。"""
    auditor = Principal(role=Role.AUDITOR, subject_id="cli")
    status = terminal.console.status("复核样本…")
    with terminal.app_errors(), status, session_scope(write=False) as session:
        report = service.verify(session, service.get_visible_sample(session, auditor, sample_id))
    table = Table(title="抽查样本复核")
    for column in ("抽取结果一致", "总体一致", "总体", "样本量"):
        table.add_column(column)
    table.add_row(
        "是" if report["draw_matches"] else "[red]否[/red]",
        "是" if report["population_matches"] else "[red]否[/red]",
        str(report["population"]),
        str(report["sample_size"]),
    )
    terminal.console.print(table)
    if not report["ok"]:
        raise typer.Exit(code=1)
