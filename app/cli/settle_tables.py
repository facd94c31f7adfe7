"""The tables of ``voucher settle``: a batch's summary, money, funding, lines and history, and
how statuses, days and deadlines read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from rich.markup import escape
from rich.table import Table

from app.cli import terminal
from app.rules.money import yuan_text
from app.rules.settlement import transition
from app.settlements.schemas import BatchOut, EventOut, FundingOut, LineOut, TotalsOut
from app.settlements.statements import STATUS_TITLES

# Events that are not review transitions (app.rules.settlement.TRANSITIONS has the others' titles).
EVENT_TITLES = {"build": "生成批次", "flag_overdue": "逾期标记"}


def status_text(status: str) -> str:
    return STATUS_TITLES.get(status, status)


def day_text(day: date | None) -> str:
    return day.isoformat() if day else "—"


def days_left_text(batch: BatchOut) -> str:
    left = batch.working_days_left
    if left is None:
        return "—"
    return f"[red]{left}[/red]" if batch.overdue else str(left)


def summary_table(batch: BatchOut, district_name: str) -> Table:
    table = Table(title=f"结算批次 {batch.id}", show_header=False)
    table.add_column("项目")
    table.add_column("内容")
    status = status_text(batch.status)
    table.add_row("区", f"{batch.district_code} {district_name}")
    table.add_row("月份", batch.month)
    table.add_row("状态", f"[red]{status}(逾期)[/red]" if batch.overdue else status)
    table.add_row("民政审核截止", day_text(batch.deadlines.civil_review))
    table.add_row("财政复审截止", day_text(batch.deadlines.finance_review))
    table.add_row("支付截止", day_text(batch.deadlines.payment))
    table.add_row("当前阶段剩余工作日", days_left_text(batch))
    table.add_row("缺少凭证的核销", f"{batch.missing_evidence} 笔")
    table.add_row("生成时间", terminal.beijing_time(batch.created_at, "%Y-%m-%d %H:%M:%S"))
    return table


def money_table(totals: TotalsOut) -> Table:
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


def funding_table(funding: FundingOut) -> Table:
    table = Table(title="资金分担(元)")
    for column in ("中央", "市级", "区级", "合计"):
        table.add_column(column, justify="right")
    shares = (funding.central_fen, funding.city_fen, funding.district_fen)
    table.add_row(*(yuan_text(fen) for fen in shares), yuan_text(sum(shares)))
    return table


def lines_table(lines: Sequence[LineOut]) -> Table:
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


def history_table(events: Sequence[EventOut], actors: dict[str, str]) -> Table:
    table = Table(title="办理记录")
    for column in ("时间", "操作", "状态", "操作人"):
        table.add_column(column)
    for event in events:
        step = transition(event.from_status, event.action) if event.from_status else None
        title = step.action_title if step else EVENT_TITLES.get(event.action, event.action)
        before = status_text(event.from_status) + " → " if event.from_status else ""
        table.add_row(
            terminal.beijing_time(event.at),
            title,
            before + status_text(event.to_status),
            escape(actors.get(event.actor, event.actor)),
        )
    return table
