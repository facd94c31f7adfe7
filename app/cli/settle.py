"""``voucher settle``: district settlement batches (二(五)), built, listed and shown.

Every batch is read through app.settlements.summaries, the same answer the API gives; this
module only lays it out (app.cli.settle_tables). Batch ids are shown as their shortest unique
prefix and any unique prefix is accepted (app.cli.ids); ``--district`` takes a code or a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.cli import settle_tables as tables
from app.cli import terminal
from app.cli.actors import actor_names
from app.cli.ids import match_prefix, short_ids
from app.cli.options import DistrictOption, EndedMonthOption, OptionalMonthOption, operator
from app.db import session_scope
from app.errors import AppError
from app.reference.service import list_districts, resolve_district
from app.rules.money import yuan_text
from app.rules.months import Month
from app.rules.settlement import Deadlines, current_deadline
from app.settlements import service, summaries
from app.settlements.errors import SettlementExists
from app.settlements.schemas import BatchOut

group = typer.Typer(help="区级结算批次(二(五)):生成、列表、查看。", no_args_is_help=True)


def _district_names(session: Session) -> dict[str, str]:
    return {district.code: district.name for district in list_districts(session)}


def _short_ids(session: Session) -> dict[str, str]:
    return short_ids(summaries.visible_batch_ids(session, operator()))


# --- build ------------------------------------------------------------------------------------------
@dataclass
class _MonthBuild:
    built: list[BatchOut] = field(default_factory=list)
    # (district code, the refusal's detail, the existing batch's id if visible)
    existing: list[tuple[str, str, str | None]] = field(default_factory=list)
    refused: AppError | None = None  # the refusal that stopped the run (the districts before stay built)


@group.command("build")
def build(
    month: EndedMonthOption,
    district: Annotated[
        list[str] | None,
        typer.Option(
            "--district",
            help="行政区:代码、全称或简称(如 110105、朝阳区、朝阳),可重复;默认为当月有已入账核销的每个区",
        ),
    ] = None,
) -> None:
    """生成各区当月的结算批次(已存在的批次提示后跳过)。"""
    with terminal.app_errors(), session_scope(write=False) as session:
        requested = [resolve_district(session, text) for text in district] if district else None
        codes = summaries.districts_to_settle(session, month, requested)
        names = _district_names(session)
    if not codes:
        terminal.console.print(f"{month} 没有已入账的核销,未生成结算批次(可用 --district 生成空批次)")
        return
    outcome = _build_each(operator(), month, codes, names)
    with session_scope(write=False) as session:
        short = _short_ids(session)
    for code, detail, batch_id in outcome.existing:
        terminal.console.print(
            f"[yellow]SETTLEMENT_EXISTS {code} {names.get(code, '')}: {escape(detail)},已跳过[/yellow]"
            + (f" (批次 {short.get(batch_id, batch_id)})" if batch_id else "")
        )
    if outcome.built:
        terminal.console.print(_built_table(month, outcome.built, names, short))
    if outcome.refused is not None:
        terminal.fail(outcome.refused)
    terminal.console.print(f"新生成 {len(outcome.built)} 个批次,已存在跳过 {len(outcome.existing)} 个")


def _build_each(operator: Principal, month: Month, codes: list[str], names: dict[str, str]) -> _MonthBuild:
    """One transaction per district, so that a district refused or already built leaves the
    others; any other refusal stops the run."""
    outcome = _MonthBuild()
    with terminal.progress() as progress:
        task = progress.add_task(f"生成 {month} 结算批次", total=len(codes))
        for code in codes:
            progress.update(task, description=f"生成 {month} 结算批次 {names.get(code, code)}")
            try:
                with session_scope() as session:
                    batch = service.build_batch(session, operator, district_code=code, month=month)
                    outcome.built.append(summaries.batch_summary(session, batch))
            except SettlementExists as error:
                with session_scope(write=False) as session:
                    found = summaries.existing_batch_id(session, operator, district_code=code, month=month)
                outcome.existing.append((code, error.detail, found))
            except AppError as error:
                outcome.refused = error
                break
            progress.advance(task)
    return outcome


def _built_table(month: Month, built: list[BatchOut], names: dict[str, str], short: dict[str, str]) -> Table:
    table = Table(title=f"{month} 新生成的结算批次")
    table.add_column("区")
    table.add_column("批次编号", no_wrap=True)
    table.add_column("核销笔数", justify="right")
    table.add_column("老年人", justify="right")
    table.add_column("服务机构", justify="right")
    table.add_column("应付(元)", justify="right")
    table.add_column("当前阶段截止日")
    for batch in built:
        deadline = current_deadline(batch.status, Deadlines(**batch.deadlines.model_dump()))
        table.add_row(
            f"{batch.district_code} {names.get(batch.district_code, '')}",
            short.get(batch.id, batch.id),
            str(batch.totals.redemptions),
            str(batch.totals.elders),
            str(batch.totals.providers),
            yuan_text(batch.totals.payable_fen),
            f"{tables.status_text(batch.status)} {tables.day_text(deadline)}",
        )
    return table


# --- list -------------------------------------------------------------------------------------------
@group.command("list")
def list_batches(district: DistrictOption = None, month: OptionalMonthOption = None) -> None:
    """结算批次及其状态、各阶段截止日和剩余工作日。"""
    with terminal.app_errors(), session_scope(write=False) as session:
        code = resolve_district(session, district) if district is not None else None
        names = _district_names(session)
        batches = summaries.batch_summaries(session, operator(), district_code=code, month=month)
        short = _short_ids(session)
    if not batches:
        terminal.console.print("没有符合条件的结算批次")
        return
    terminal.console.print(_batches_table(batches, names, short))
    overdue = sum(batch.overdue for batch in batches)
    terminal.console.print(
        f"共 {len(batches)} 个批次" + (f",[red]逾期 {overdue} 个[/red]" if overdue else "")
    )


def _batches_table(batches: list[BatchOut], names: dict[str, str], short: dict[str, str]) -> Table:
    table = Table(title="结算批次")
    table.add_column("批次编号", no_wrap=True)
    table.add_column("区")
    table.add_column("月份", no_wrap=True)
    table.add_column("状态")
    for stage in ("民政审核截止", "财政复审截止", "支付截止"):
        table.add_column(stage, no_wrap=True)
    table.add_column("剩余工作日", justify="right")
    table.add_column("应支付(元)", justify="right", no_wrap=True)
    for batch in batches:
        status = tables.status_text(batch.status)
        if batch.overdue:
            status = f"[red]{status}(逾期)[/red]"
        table.add_row(
            short.get(batch.id, batch.id),
            f"{batch.district_code} {names.get(batch.district_code, '')}",
            batch.month,
            status,
            tables.day_text(batch.deadlines.civil_review),
            tables.day_text(batch.deadlines.finance_review),
            tables.day_text(batch.deadlines.payment),
            tables.days_left_text(batch),
            yuan_text(batch.totals.payment_due_fen),
        )
    return table


# --- show -------------------------------------------------------------------------------------------
@group.command("show")
def show(
    batch_id: Annotated[str, typer.Argument(help="结算批次编号,或其任意唯一前缀")],
) -> None:
    """结算批次的合计、资金分担、服务机构明细和办理记录。"""
    caller = operator()
    with terminal.app_errors(), session_scope(write=False) as session:
        full_id = match_prefix(batch_id, summaries.visible_batch_ids(session, caller), "结算批次")
        batch = summaries.batch_summary(session, service.get_visible_batch(session, caller, full_id))
        district_name = _district_names(session).get(batch.district_code, "")
        actors = actor_names(session, (event.actor for event in batch.events))
    terminal.console.print(tables.summary_table(batch, district_name))
    terminal.console.print(tables.money_table(batch.totals))
    terminal.console.print(tables.funding_table(batch.funding))
    if batch.lines:
        terminal.console.print(tables.lines_table(batch.lines))
    else:
        terminal.console.print("本批次没有核销记录")
    terminal.console.print(tables.history_table(batch.events, actors))
