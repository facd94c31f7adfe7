"""``voucher settle``: district settlement batches (二(五)), built, listed and shown.

Every batch is read through app.settlements.summaries, the same answer the API gives; this
module only lays it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.cli import terminal
from app.cli.options import EndedMonthOption, OptionalMonthOption, operator
from app.db import session_scope
from app.errors import AppError
from app.reference.service import ensure_district, list_districts
from app.rules.money import yuan_text
from app.rules.months import Month
from app.rules.settlement import Deadlines, current_deadline, transition
from app.settlements import service, summaries
from app.settlements.errors import SettlementExists
from app.settlements.schemas import BatchOut, EventOut, FundingOut, LineOut, TotalsOut
from app.settlements.statements import STATUS_TITLES

# Events that are not review transitions (app.rules.settlement.TRANSITIONS has the others' titles).
EVENT_TITLES = {"build": "生成批次", "flag_overdue": "逾期标记"}

group = typer.Typer(help="District settlement batches (二(五)): build, list, show.", no_args_is_help=True)


def _district_names(session: Session) -> dict[str, str]:
    return {district.code: district.name for district in list_districts(session)}


def _status_text(status: str) -> str:
    return STATUS_TITLES.get(status, status)


def _day_text(day: date | None) -> str:
    return day.isoformat() if day else "—"


def _days_left_text(batch: BatchOut) -> str:
    left = batch.working_days_left
    if left is None:
        return "—"
    return f"[red]{left}[/red]" if batch.overdue else str(left)


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
            help="District code (repeatable); default: every district with posted redemptions that month",
        ),
    ] = None,
) -> None:
    """Build the month's settlement batch for each district (an existing batch is reported and skipped)."""
    with terminal.app_errors(), session_scope(write=False) as session:
        codes = summaries.districts_to_settle(session, month, district)
        names = _district_names(session)
    if not codes:
        terminal.console.print(f"{month} 没有已入账的核销,未生成结算批次(可用 --district 生成空批次)")
        return
    outcome = _build_each(operator(), month, codes, names)
    for code, detail, batch_id in outcome.existing:
        terminal.console.print(
            f"[yellow]SETTLEMENT_EXISTS {code} {names.get(code, '')}: {escape(detail)},已跳过[/yellow]"
            + (f" (批次 {batch_id})" if batch_id else "")
        )
    if outcome.built:
        terminal.console.print(_built_table(month, outcome.built, names))
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


def _built_table(month: Month, built: list[BatchOut], names: dict[str, str]) -> Table:
    table = Table(title=f"{month} 新生成的结算批次")
    table.add_column("区")
    table.add_column("批次编号", overflow="fold")
    table.add_column("核销笔数", justify="right")
    table.add_column("老年人", justify="right")
    table.add_column("服务机构", justify="right")
    table.add_column("应付(元)", justify="right")
    table.add_column("当前阶段截止日")
    for batch in built:
        deadline = current_deadline(batch.status, Deadlines(**batch.deadlines.model_dump()))
        table.add_row(
            f"{batch.district_code} {names.get(batch.district_code, '')}",
            batch.id,
            str(batch.totals.redemptions),
            str(batch.totals.elders),
            str(batch.totals.providers),
            yuan_text(batch.totals.payable_fen),
            f"{_status_text(batch.status)} {_day_text(deadline)}",
        )
    return table


# --- list -------------------------------------------------------------------------------------------
@group.command("list")
def list_batches(
    district: Annotated[str | None, typer.Option(help="district code, e.g. 110105")] = None,
    month: OptionalMonthOption = None,
) -> None:
    """Settlement batches with their status, each stage's deadline and the working days left."""
    with terminal.app_errors(), session_scope(write=False) as session:
        if district is not None:
            ensure_district(session, district)
        names = _district_names(session)
        batches = summaries.batch_summaries(session, operator(), district_code=district, month=month)
    if not batches:
        terminal.console.print("没有符合条件的结算批次")
        return
    terminal.console.print(_batches_table(batches, names))
    overdue = sum(batch.overdue for batch in batches)
    terminal.console.print(
        f"共 {len(batches)} 个批次" + (f",[red]逾期 {overdue} 个[/red]" if overdue else "")
    )


def _batches_table(batches: list[BatchOut], names: dict[str, str]) -> Table:
    table = Table(title="结算批次")
    table.add_column("批次编号", overflow="fold", min_width=8)
    table.add_column("区")
    table.add_column("月份", no_wrap=True)
    table.add_column("状态")
    for stage in ("民政审核截止", "财政复审截止", "支付截止"):
        table.add_column(stage, no_wrap=True)
    table.add_column("剩余工作日", justify="right")
    table.add_column("应支付(元)", justify="right", no_wrap=True)
    for batch in batches:
        status = _status_text(batch.status)
        if batch.overdue:
            status = f"[red]{status}(逾期)[/red]"
        table.add_row(
            batch.id,
            f"{batch.district_code} {names.get(batch.district_code, '')}",
            batch.month,
            status,
            _day_text(batch.deadlines.civil_review),
            _day_text(batch.deadlines.finance_review),
            _day_text(batch.deadlines.payment),
            _days_left_text(batch),
            yuan_text(batch.totals.payment_due_fen),
        )
    return table


# --- show -------------------------------------------------------------------------------------------
@group.command("show")
def show(batch_id: Annotated[str, typer.Argument(help="settlement batch id")]) -> None:
    """A batch's totals, funding split, provider lines and review history."""
    with terminal.app_errors(), session_scope(write=False) as session:
        batch = summaries.batch_summary(session, service.get_visible_batch(session, operator(), batch_id))
        district_name = _district_names(session).get(batch.district_code, "")
    terminal.console.print(_summary_table(batch, district_name))
    terminal.console.print(_money_table(batch.totals))
    terminal.console.print(_funding_table(batch.funding))
    if batch.lines:
        terminal.console.print(_lines_table(batch.lines))
    else:
        terminal.console.print("本批次没有核销记录")
    terminal.console.print(_history_table(batch.events))


def _summary_table(batch: BatchOut, district_name: str) -> Table:
    table = Table(title=f"结算批次 {batch.id}", show_header=False)
    table.add_column("项目")
    table.add_column("内容")
    status = _status_text(batch.status)
    table.add_row("区", f"{batch.district_code} {district_name}")
    table.add_row("月份", batch.month)
    table.add_row("状态", f"[red]{status}(逾期)[/red]" if batch.overdue else status)
    table.add_row("民政审核截止", _day_text(batch.deadlines.civil_review))
    table.add_row("财政复审截止", _day_text(batch.deadlines.finance_review))
    table.add_row("支付截止", _day_text(batch.deadlines.payment))
    table.add_row("当前阶段剩余工作日", _days_left_text(batch))
    table.add_row("缺少凭证的核销", f"{batch.missing_evidence} 笔")
    table.add_row("生成时间", terminal.beijing_time(batch.created_at, "%Y-%m-%d %H:%M:%S"))
    return table


def _money_table(totals: TotalsOut) -> Table:
    table = Table(title="金额合计(元)")
    for column in (
        "核销笔数",
        "老年人",
        "服务机构",
        "消费金额",
        "补贴抵扣",
        "核减",
        "应付",
        "抵扣追回款",
        "应支付",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(totals.redemptions),
        str(totals.elders),
        str(totals.providers),
        yuan_text(totals.amount_fen),
        yuan_text(totals.deduction_fen),
        yuan_text(totals.rejected_fen),
        yuan_text(totals.payable_fen),
        yuan_text(totals.clawback_fen),
        yuan_text(totals.payment_due_fen),
    )
    return table


def _funding_table(funding: FundingOut) -> Table:
    table = Table(title="资金分担(元)")
    for column in ("中央", "市级", "区级", "合计"):
        table.add_column(column, justify="right")
    shares = (funding.central_fen, funding.city_fen, funding.district_fen)
    table.add_row(*(yuan_text(fen) for fen in shares), yuan_text(sum(shares)))
    return table


def _lines_table(lines: Sequence[LineOut]) -> Table:
    table = Table(title="服务机构明细(元)")
    table.add_column("服务机构")
    table.add_column("机构编号", overflow="fold")
    for column in ("笔数", "补贴抵扣", "核减", "应付", "抵扣追回款", "应支付"):
        table.add_column(column, justify="right")
    table.add_column("支付")
    for line in lines:
        paid = f"已支付 {line.paid_on} {line.payment_reference or ''}".strip() if line.paid else "未支付"
        table.add_row(
            escape(line.provider_name),
            line.provider_id,
            str(line.redemptions),
            yuan_text(line.deduction_fen),
            yuan_text(line.rejected_fen),
            yuan_text(line.payable_fen),
            yuan_text(line.clawback_fen),
            yuan_text(line.payment_due_fen),
            paid,
        )
    return table


def _history_table(events: Sequence[EventOut]) -> Table:
    table = Table(title="办理记录")
    for column in ("时间", "操作", "状态", "操作人"):
        table.add_column(column)
    for event in events:
        step = transition(event.from_status, event.action) if event.from_status else None
        title = step.action_title if step else EVENT_TITLES.get(event.action, event.action)
        before = _status_text(event.from_status) + " → " if event.from_status else ""
        table.add_row(
            terminal.beijing_time(event.at),
            title,
            before + _status_text(event.to_status),
            escape(event.actor),
        )
    return table
