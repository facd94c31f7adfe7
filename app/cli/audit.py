"""``voucher audit``: audit samples (四(二) 抽查), drawn once and verifiable from their seed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.audits import service
from app.auth.principal import Principal, Role
from app.cli import terminal
from app.cli.options import EndedMonthOption, operator
from app.db import session_scope
from app.rules.sampling import SAMPLE_KINDS

group = typer.Typer(help="Audit samples (四(二) 抽查): draw and verify.", no_args_is_help=True)


@group.command("sample")
def sample(
    district: Annotated[str, typer.Option(help="district code, e.g. 110105")],
    month: EndedMonthOption,
    kind: Annotated[str, typer.Option(help="redemption | assessment")] = "redemption",
) -> None:
    """Draw the month's 1 % sample (or show the one drawn before: a sample is never redrawn)."""
    if kind not in SAMPLE_KINDS:
        raise typer.BadParameter(f"kind must be {' | '.join(SAMPLE_KINDS)}", param_hint="--kind")
    with terminal.app_errors(), terminal.console.status("抽取样本…"), session_scope() as session:
        drawn = service.draw_sample(session, operator(), district_code=district, month=month, kind=kind)
        elder_ids = service.drawn_elder_ids(session, drawn.sample)
    table = Table(title=f"{district} {month} 抽查样本({'新抽取' if drawn.created else '此前已抽取'})")
    table.add_column("样本编号", overflow="fold")
    table.add_column("总体", justify="right")
    table.add_column("样本量", justify="right")
    table.add_row(str(drawn.sample.id), str(drawn.sample.population), str(drawn.sample.sample_size))
    terminal.console.print(table)
    terminal.console.print(f"种子 {drawn.sample.seed}", soft_wrap=True)
    for position, elder_id in enumerate(elder_ids, 1):
        terminal.console.print(f"{position:4d}  {elder_id}")


@group.command("verify")
def verify(sample_id: Annotated[str, typer.Argument(help="audit sample id")]) -> None:
    """Recompute a sample from its seed and population; exit 1 if anything differs."""
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
