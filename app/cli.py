"""``voucher``: the operator's command line.

Every operator job: serve, migrate, demo, the month-start and daily jobs, anomaly scans, audit
samples, settlement batches, the working-day calendar, the ledger check, staff accounts.
Help is English; what an operator reads back is Simplified Chinese. A refused operation (an
``AppError``) prints its code and detail in red and exits 2; a bad argument is a usage error
(exit 2, nothing changed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.config import get_settings
from app.rules.months import Month

if TYPE_CHECKING:
    from app.auth.principal import Principal
    from app.errors import AppError

app = typer.Typer(
    help="北京市养老服务消费补贴电子消费券账本 — operator commands.",
    no_args_is_help=True,
)
console = Console()


@app.callback()
def _fresh_console() -> None:
    """Each invocation measures the terminal (COLUMNS included) when it runs, not at import."""
    global console
    console = Console()


_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


# --- shared helpers ---------------------------------------------------------------------------------
def _parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise typer.BadParameter("month must be YYYY-MM") from None


def _parse_day(text: str) -> date:
    try:
        if not _DAY_RE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("date must be YYYY-MM-DD") from None


MonthOption = Annotated[
    Month, typer.Option("--month", parser=_parse_month, metavar="YYYY-MM", help="YYYY-MM")
]
DayArgument = Annotated[date, typer.Argument(parser=_parse_day, metavar="DATE", help="YYYY-MM-DD")]


def _fail(error: AppError) -> NoReturn:
    console.print(f"[red]错误 {error.code}: {escape(error.detail)}[/red]")
    raise typer.Exit(code=2)


@contextmanager
def _app_errors() -> Iterator[None]:
    """A refused operation: its code and detail in red, exit code 2 (its transaction rolled back)."""
    from app.errors import AppError

    try:
        yield
    except AppError as error:
        _fail(error)


def _operator() -> Principal:
    """The CLI acts as a city admin, named after the operating-system user in audit rows."""
    from app.auth.principal import Principal, Role

    user = (os.environ.get("USER") or "operator")[:40]  # audit columns hold 64 characters
    return Principal(role=Role.CITY_ADMIN, subject_id=f"cli:{user}")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _day_text(day: date | None) -> str:
    return day.isoformat() if day else "—"


# --- serve, migrate, demo, openapi, scheduler -------------------------------------------------------
@app.command()
def migrate() -> None:
    """Bring the database schema and reference data up to date (Alembic upgrade head)."""
    from app.migrate import upgrade

    with console.status("迁移数据库…"):
        upgrade()
    console.print(f"[green]数据库已迁移到最新版本[/green] ({_safe_url()})")


def _demo_step_reporter(progress: Progress) -> Callable[[str, int, int], None]:
    """``progress(step, done, total)`` from the demo loader drives one bar; its description
    follows the step in progress."""
    task = progress.add_task("载入演示数据", total=None)

    def report(step: str, done: int, total: int) -> None:
        progress.update(task, description=step, completed=done, total=total)

    return report


@app.command()
def demo(
    elders_per_district: Annotated[int, typer.Option(min=1, max=5000)] = 150,
) -> None:
    """Load demo districts, providers and elders (development only; safe to repeat)."""
    from app.db import session_scope
    from app.demo.loader import load_demo
    from app.migrate import upgrade

    settings = get_settings()
    if settings.environment == "production":
        console.print("[red]演示数据不能载入生产环境[/red]")
        raise typer.Exit(code=2)
    upgrade()
    with _app_errors(), session_scope() as session, _progress() as progress:
        summary = load_demo(
            session, elders_per_district=elders_per_district, progress=_demo_step_reporter(progress)
        )
    if not summary.loaded:
        console.print("演示数据已存在,未重复载入。")
        return
    _print_demo(summary)


def _print_demo(summary) -> None:
    from app.rules.money import yuan_text

    table = Table(title="演示账号令牌 (Authorization: Bearer <token>)")
    table.add_column("账号", overflow="ellipsis")
    table.add_column("角色", overflow="ellipsis")
    table.add_column("令牌", no_wrap=True, min_width=26)  # never cut: it is what one types
    for name, role, token in summary.staff_tokens:
        table.add_row(name, role, token)
    for name, kind, key in summary.provider_keys:
        table.add_row(name, f"provider:{kind}", key)
    console.print(table)
    for district, count in summary.elders.items():
        console.print(f"{district}: {count} 位老年人")
    console.print(f"本月演示核销 {summary.redemptions} 笔")
    if summary.previous_month:
        console.print(
            f"{summary.previous_month}: 演示核销 {summary.previous_month_redemptions} 笔,"
            f"失效 {summary.previous_month_expired} 张,"
            f"释放 {yuan_text(summary.previous_month_released_fen)} 元"
        )
    console.print(f"待处理异常预警 {summary.anomalies} 条;整改中的服务机构 {summary.rectifications} 家")
    console.print("区级工作台: /dashboard/ ,以 demo-chaoyang-civil 登录")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    with_demo: Annotated[bool, typer.Option("--demo", help="Load demo data first (development)")] = False,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Migrate, optionally load demo data, and run the HTTP service with uvicorn."""
    import uvicorn

    migrate()
    if with_demo:
        demo()
    console.print(f"服务地址: http://{host}:{port}/api/v1  健康检查: http://{host}:{port}/healthz")
    uvicorn.run("app.main:app", host=host, port=port, workers=workers, log_level="info")


@app.command()
def openapi(
    check: Annotated[bool, typer.Option(help="Fail if the committed document differs")] = False,
) -> None:
    """Regenerate openapi/openapi.json from the app (or --check that it is current)."""
    from app.openapi_export import OPENAPI_PATH, render_openapi, write_openapi

    if check:
        current = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
        if current != render_openapi():
            console.print("[red]openapi/openapi.json 已过期: 运行 voucher openapi[/red]")
            raise typer.Exit(code=1)
        console.print("openapi/openapi.json 与应用一致")
        return
    console.print(f"已写入 {write_openapi()}")


@app.command()
def scheduler() -> None:
    """Run the month-start jobs (expire, issue) on schedule, catching up missed runs first."""
    from app.logging_setup import configure_logging
    from app.scheduler import JobScheduler

    configure_logging(get_settings().log_level)
    runner = JobScheduler(blocking=True)
    console.print(f"调度器已启动 ({runner.holder});按 Ctrl+C 退出")
    try:
        runner.start()
    except (KeyboardInterrupt, SystemExit):
        runner.shutdown()


# --- jobs -------------------------------------------------------------------------------------------
jobs_app = typer.Typer(
    help="The scheduler's jobs by hand (the same code; safe to repeat).", no_args_is_help=True
)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("issue")
def jobs_issue(month: MonthOption) -> None:
    """Issue the month's vouchers to every entitled elder (safe to repeat)."""
    from app.db import session_scope
    from app.jobs import service

    with _app_errors(), console.status(f"发放 {month} 电子消费券…"), session_scope() as session:
        result, run = service.run_issue(session, month, trigger="cli")
    console.print(
        f"{result.month}: 新发放 {result.issued} 张,此前已发放 {result.already_issued} 张 (job run {run.id})"
    )


@jobs_app.command("expire")
def jobs_expire(month: MonthOption) -> None:
    """Expire an ended month's vouchers and release their balances (safe to repeat)."""
    from app.db import session_scope
    from app.jobs import service
    from app.rules.money import yuan_text

    with _app_errors(), console.status(f"{month} 电子消费券失效处理…"), session_scope() as session:
        result, run = service.run_expire(session, month, trigger="cli")
    console.print(
        f"{result.month}: 失效 {result.expired} 张,释放 {yuan_text(result.released_fen)} 元 (job run {run.id})"
    )


@jobs_app.command("overdue")
def jobs_overdue() -> None:
    """Flag settlement batches whose current review stage is past its deadline (the daily job)."""
    from app import clock
    from app.db import session_scope
    from app.jobs import service

    with _app_errors(), console.status("检查结算批次办理时限…"), session_scope() as session:
        today = clock.today()
        flagged, run = service.run_flag_overdue(session, trigger="cli")
    style = "red" if flagged else "green"
    console.print(f"[{style}]{today}: 新标记逾期结算批次 {flagged} 个[/{style}] (job run {run.id})")


# --- anomalies --------------------------------------------------------------------------------------
anomalies_app = typer.Typer(help="Anomaly warnings (四(二) 异常交易预警).", no_args_is_help=True)
app.add_typer(anomalies_app, name="anomalies")


@anomalies_app.command("scan")
def anomalies_scan(month: MonthOption) -> None:
    """Run every anomaly rule over a month's redemptions (safe to repeat: nothing found twice)."""
    from app.db import session_scope
    from app.jobs import service
    from app.rules.anomalies import RULES

    # One job run, one transaction over every district (app.jobs.service.run_anomaly_scan): a
    # spinner, not a per-district bar.
    with _app_errors(), console.status(f"扫描 {month} 异常交易…"), session_scope() as session:
        result, run = service.run_anomaly_scan(session, month, trigger="cli")
    table = Table(title=f"{result.month} 异常交易预警(新增)")
    table.add_column("规则")
    table.add_column("说明")
    table.add_column("新增", justify="right")
    for rule, count in result.found.items():
        table.add_row(rule, RULES[rule].title, str(count))
    console.print(table)
    console.print(f"新增 {result.total} 条 (job run {run.id})")


# --- audit samples ----------------------------------------------------------------------------------
audit_app = typer.Typer(help="Audit samples (四(二) 抽查): draw and verify.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("sample")
def audit_sample(
    district: Annotated[str, typer.Option(help="district code, e.g. 110105")],
    month: Annotated[
        Month, typer.Option(parser=_parse_month, metavar="YYYY-MM", help="YYYY-MM (must have ended)")
    ],
    kind: Annotated[str, typer.Option(help="redemption | assessment")] = "redemption",
) -> None:
    """Draw the month's 1 % sample (or show the one drawn before: a sample is never redrawn)."""
    from app.audits import service
    from app.db import session_scope
    from app.rules.sampling import SAMPLE_KINDS

    if kind not in SAMPLE_KINDS:
        raise typer.BadParameter(f"kind must be {' | '.join(SAMPLE_KINDS)}", param_hint="--kind")
    with _app_errors(), console.status("抽取样本…"), session_scope() as session:
        drawn = service.draw_sample(session, _operator(), district_code=district, month=month, kind=kind)
        sample, elder_ids = drawn.sample, service.drawn_elder_ids(session, drawn.sample)
    table = Table(title=f"{district} {month} 抽查样本({'新抽取' if drawn.created else '此前已抽取'})")
    table.add_column("样本编号", overflow="fold")
    table.add_column("总体", justify="right")
    table.add_column("样本量", justify="right")
    table.add_row(str(sample.id), str(sample.population), str(sample.sample_size))
    console.print(table)
    console.print(f"种子 {sample.seed}", soft_wrap=True)
    for position, elder_id in enumerate(elder_ids, 1):
        console.print(f"{position:4d}  {elder_id}")


@audit_app.command("verify")
def audit_verify(sample_id: Annotated[str, typer.Argument(help="audit sample id")]) -> None:
    """Recompute a sample from its seed and population; exit 1 if anything differs."""
    from app.audits import service
    from app.auth.principal import Principal, Role
    from app.db import session_scope

    with _app_errors(), console.status("复核样本…"), session_scope(write=False) as session:
        sample = service.get_visible_sample(
            session, Principal(role=Role.AUDITOR, subject_id="cli"), sample_id
        )
        report = service.verify(session, sample)
    table = Table(title="抽查样本复核")
    for column in ("抽取结果一致", "总体一致", "总体", "样本量"):
        table.add_column(column)
    table.add_row(
        "是" if report["draw_matches"] else "[red]否[/red]",
        "是" if report["population_matches"] else "[red]否[/red]",
        str(report["population"]),
        str(report["sample_size"]),
    )
    console.print(table)
    if not report["ok"]:
        raise typer.Exit(code=1)


# --- settlement -------------------------------------------------------------------------------------
settle_app = typer.Typer(
    help="District settlement batches (二(五)): build, list, show.", no_args_is_help=True
)
app.add_typer(settle_app, name="settle")


def _district_names(session) -> dict[str, str]:
    from app.reference.service import list_districts

    return {district.code: district.name for district in list_districts(session)}


def _status_text(status: str) -> str:
    from app.settlements.statements import STATUS_TITLES

    return STATUS_TITLES.get(status, status)


def _current_deadline(out) -> date | None:
    from app.rules.settlement import Deadlines, current_deadline

    return current_deadline(out.status, Deadlines(**out.deadlines.model_dump()))


def _days_left_text(out) -> str:
    left = out.working_days_left
    if left is None:
        return "—"
    return f"[red]{left}[/red]" if out.overdue else str(left)


@settle_app.command("build")
def settle_build(
    month: Annotated[
        Month, typer.Option(parser=_parse_month, metavar="YYYY-MM", help="YYYY-MM (must have ended)")
    ],
    district: Annotated[
        list[str] | None,
        typer.Option(
            "--district",
            help="District code (repeatable); default: every district with posted redemptions that month",
        ),
    ] = None,
) -> None:
    """Build the month's settlement batch for each district (an existing batch is reported and skipped)."""
    from sqlalchemy import select

    from app import clock
    from app.db import session_scope
    from app.errors import AppError, MonthNotEnded, SettlementExists
    from app.models.redemptions import Redemption
    from app.reference.service import ensure_district
    from app.rules.money import yuan_text
    from app.settlements import service
    from app.settlements.summaries import batch_summary

    operator = _operator()
    with _app_errors(), session_scope(write=False) as session:
        if clock.now() < month.ends_at():
            # build_batch refuses it too; checked first so that an empty month is not "nothing to do".
            raise MonthNotEnded(f"{month} 尚未结束,不能结算")
        names = _district_names(session)
        if district:
            codes = list(dict.fromkeys(district))
            for code in codes:
                ensure_district(session, code)  # an unknown code refuses the whole command
        else:
            codes = list(
                session.scalars(
                    select(Redemption.district_code)
                    .where(Redemption.month == month.first_day, Redemption.status == "posted")
                    .distinct()
                    .order_by(Redemption.district_code)
                )
            )
    if not codes:
        console.print(f"{month} 没有已入账的核销,未生成结算批次(可用 --district 生成空批次)")
        return

    built = []
    existing: list[tuple[str, str, str | None]] = []  # code, detail, the existing batch's id
    refused: AppError | None = None
    with _progress() as progress:
        task = progress.add_task(f"生成 {month} 结算批次", total=len(codes))
        for code in codes:
            progress.update(task, description=f"生成 {month} 结算批次 {names.get(code, code)}")
            try:
                # One transaction per district: a district refused or already built leaves the others.
                with session_scope() as session:
                    built.append(
                        batch_summary(
                            session, service.build_batch(session, operator, district_code=code, month=month)
                        )
                    )
            except SettlementExists as error:
                with session_scope(write=False) as session:
                    found = service.list_batches(session, operator, district_code=code, month=month)
                existing.append((code, error.detail, str(found[0].id) if found else None))
            except AppError as error:
                refused = error
                break
            progress.advance(task)

    for code, detail, batch_id in existing:
        console.print(
            f"[yellow]SETTLEMENT_EXISTS {code} {names.get(code, '')}: {escape(detail)},已跳过[/yellow]"
            + (f" (批次 {batch_id})" if batch_id else "")
        )
    if built:
        table = Table(title=f"{month} 新生成的结算批次")
        table.add_column("区")
        table.add_column("批次编号", overflow="fold")
        table.add_column("核销笔数", justify="right")
        table.add_column("老年人", justify="right")
        table.add_column("服务机构", justify="right")
        table.add_column("应付(元)", justify="right")
        table.add_column("当前阶段截止日")
        for out in built:
            totals = out.totals
            table.add_row(
                f"{out.district_code} {names.get(out.district_code, '')}",
                out.id,
                str(totals.redemptions),
                str(totals.elders),
                str(totals.providers),
                yuan_text(totals.payable_fen),
                f"{_status_text(out.status)} {_day_text(_current_deadline(out))}",
            )
        console.print(table)
    if refused is not None:
        _fail(refused)
    console.print(f"新生成 {len(built)} 个批次,已存在跳过 {len(existing)} 个")


@settle_app.command("list")
def settle_list(
    district: Annotated[str | None, typer.Option(help="district code, e.g. 110105")] = None,
    month: Annotated[
        Month | None, typer.Option(parser=_parse_month, metavar="YYYY-MM", help="YYYY-MM")
    ] = None,
) -> None:
    """Settlement batches with their status, each stage's deadline and the working days left."""
    from app.db import session_scope
    from app.reference.service import ensure_district
    from app.rules.money import yuan_text
    from app.settlements import service
    from app.settlements.summaries import batch_summary

    with _app_errors(), session_scope(write=False) as session:
        if district is not None:
            ensure_district(session, district)
        names = _district_names(session)
        batches = [
            batch_summary(session, batch)
            for batch in service.list_batches(session, _operator(), district_code=district, month=month)
        ]
    if not batches:
        console.print("没有符合条件的结算批次")
        return
    table = Table(title="结算批次")
    table.add_column("批次编号", overflow="fold", min_width=8)
    table.add_column("区")
    table.add_column("月份", no_wrap=True)
    table.add_column("状态")
    for stage in ("民政审核截止", "财政复审截止", "支付截止"):
        table.add_column(stage, no_wrap=True)
    table.add_column("剩余工作日", justify="right")
    table.add_column("应支付(元)", justify="right", no_wrap=True)
    for out in batches:
        status = _status_text(out.status)
        if out.overdue:
            status = f"[red]{status}(逾期)[/red]"
        table.add_row(
            out.id,
            f"{out.district_code} {names.get(out.district_code, '')}",
            out.month,
            status,
            _day_text(out.deadlines.civil_review),
            _day_text(out.deadlines.finance_review),
            _day_text(out.deadlines.payment),
            _days_left_text(out),
            yuan_text(out.totals.payment_due_fen),
        )
    console.print(table)
    overdue = sum(out.overdue for out in batches)
    console.print(f"共 {len(batches)} 个批次" + (f",[red]逾期 {overdue} 个[/red]" if overdue else ""))


EVENT_TITLES = {"build": "生成批次", "flag_overdue": "逾期标记"}


@settle_app.command("show")
def settle_show(batch_id: Annotated[str, typer.Argument(help="settlement batch id")]) -> None:
    """A batch's totals, funding split, provider lines and review history."""
    from app.db import session_scope
    from app.rules.money import yuan_text
    from app.rules.settlement import transition
    from app.settlements import service
    from app.settlements.summaries import batch_summary

    with _app_errors(), session_scope(write=False) as session:
        out = batch_summary(session, service.get_visible_batch(session, _operator(), batch_id))
        name = _district_names(session).get(out.district_code, "")

    summary = Table(title=f"结算批次 {out.id}", show_header=False)
    summary.add_column("项目")
    summary.add_column("内容")
    status = _status_text(out.status)
    summary.add_row("区", f"{out.district_code} {name}")
    summary.add_row("月份", out.month)
    summary.add_row("状态", f"[red]{status}(逾期)[/red]" if out.overdue else status)
    summary.add_row("民政审核截止", _day_text(out.deadlines.civil_review))
    summary.add_row("财政复审截止", _day_text(out.deadlines.finance_review))
    summary.add_row("支付截止", _day_text(out.deadlines.payment))
    summary.add_row("当前阶段剩余工作日", _days_left_text(out))
    summary.add_row("缺少凭证的核销", f"{out.missing_evidence} 笔")
    summary.add_row("生成时间", out.created_at.astimezone(_beijing()).strftime("%Y-%m-%d %H:%M:%S"))
    console.print(summary)

    totals = out.totals
    money = Table(title="金额合计(元)")
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
        money.add_column(column, justify="right")
    money.add_row(
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
    console.print(money)

    funding = out.funding
    shares = Table(title="资金分担(元)")
    for column in ("中央", "市级", "区级", "合计"):
        shares.add_column(column, justify="right")
    shares.add_row(
        yuan_text(funding.central_fen),
        yuan_text(funding.city_fen),
        yuan_text(funding.district_fen),
        yuan_text(funding.central_fen + funding.city_fen + funding.district_fen),
    )
    console.print(shares)

    lines = Table(title="服务机构明细(元)")
    lines.add_column("服务机构")
    lines.add_column("机构编号", overflow="fold")
    for column in ("笔数", "补贴抵扣", "核减", "应付", "抵扣追回款", "应支付"):
        lines.add_column(column, justify="right")
    lines.add_column("支付")
    for line in out.lines:
        paid = f"已支付 {line.paid_on} {line.payment_reference or ''}".strip() if line.paid else "未支付"
        lines.add_row(
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
    if out.lines:
        console.print(lines)
    else:
        console.print("本批次没有核销记录")

    history = Table(title="办理记录")
    for column in ("时间", "操作", "状态", "操作人"):
        history.add_column(column)
    for event in out.events:
        step = transition(event.from_status, event.action) if event.from_status else None
        title = step.action_title if step else EVENT_TITLES.get(event.action, event.action)
        before = _status_text(event.from_status) + " → " if event.from_status else ""
        history.add_row(
            event.at.astimezone(_beijing()).strftime("%Y-%m-%d %H:%M"),
            title,
            before + _status_text(event.to_status),
            escape(event.actor),
        )
    console.print(history)


def _beijing():
    from app.rules.months import BEIJING

    return BEIJING


# --- the working-day calendar -----------------------------------------------------------------------
calendar_app = typer.Typer(
    help="The working-day calendar: official holidays and make-up days, plus city-admin overrides.",
    no_args_is_help=True,
)
app.add_typer(calendar_app, name="calendar")


@calendar_app.command("list")
def calendar_list(
    year: Annotated[int | None, typer.Option(min=1900, max=9999, help="only this year")] = None,
) -> None:
    """The stored overrides (they win over the holidays package)."""
    from app.calendar import service
    from app.db import session_scope

    with _app_errors(), session_scope(write=False) as session:
        rows = [row for row in service.list_overrides(session) if year is None or row.day.year == year]
    if not rows:
        console.print("没有人工校正" + (f"({year} 年)" if year else ""))
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
            escape(row.set_by),
            row.set_at.astimezone(_beijing()).strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@calendar_app.command("set")
def calendar_set(
    day: DayArgument,
    working: Annotated[
        bool,
        typer.Option("--working/--holiday", help="a working day (e.g. a make-up day) or a day off"),
    ],
    note: Annotated[str, typer.Option(help="why, e.g. the State Council notice (1-500 characters)")],
) -> None:
    """Set whether a day is a working day (an override wins over the holidays package)."""
    from app.calendar import service
    from app.db import session_scope

    note = note.strip()
    if not 1 <= len(note) <= 500:
        raise typer.BadParameter("note must be 1-500 characters", param_hint="--note")
    with _app_errors(), session_scope() as session:
        row = service.set_override(session, _operator(), day, working=working, note=note)
        what = "工作日" if row.working else "休息日"
    console.print(
        f"[green]{day.isoformat()}({WEEKDAYS[day.weekday()]})已校正为{what}[/green]: {escape(note)}"
    )
    console.print("结算批次各阶段截止日按新的日历重新计算")


@calendar_app.command("delete")
def calendar_delete(day: DayArgument) -> None:
    """Delete a day's override (the holidays package decides again)."""
    from app.calendar import service
    from app.db import session_scope
    from app.errors import NotFound

    with _app_errors(), session_scope() as session:
        if not service.delete_override(session, day):
            raise NotFound(f"{day.isoformat()} 没有人工校正")
    console.print(f"[green]已删除 {day.isoformat()} 的人工校正[/green]")


@calendar_app.command("show")
def calendar_show(month: MonthOption) -> None:
    """A month's days on the effective calendar, its working days and its 10th working day."""
    from datetime import timedelta

    from app.calendar import service
    from app.db import session_scope
    from app.rules.calendar import is_working_day, nth_working_day_of_month
    from app.rules.settlement import CIVIL_REVIEW_WORKING_DAYS

    with _app_errors(), session_scope(write=False) as session:
        calendar = service.working_calendar(session)
        notes = {row.day: row.note for row in service.list_overrides(session)}
    table = Table(title=f"{month} 工作日历")
    for column in ("日期", "星期", "", "依据", "说明"):
        table.add_column(column)
    working_days: list[date] = []
    day = month.first_day
    while day <= month.last_day:
        working = is_working_day(day, calendar)
        if day in calendar.overrides:
            source = "人工校正"
        elif day in calendar.makeup_workdays:
            source = "调休上班"
        elif day in calendar.public_holidays:
            source = "法定节假日"
        else:
            source = "周末" if day.weekday() >= 5 else "工作日"
        if working:
            working_days.append(day)
        table.add_row(
            day.isoformat(),
            WEEKDAYS[day.weekday()],
            f"第 {len(working_days)} 个工作日" if working else "[yellow]休息[/yellow]",
            source,
            escape(notes.get(day, "")),
        )
        day += timedelta(days=1)
    console.print(table)
    tenth = nth_working_day_of_month(month, CIVIL_REVIEW_WORKING_DAYS, calendar)
    console.print(f"{month} 共 {len(working_days)} 个工作日")
    console.print(
        f"第 {CIVIL_REVIEW_WORKING_DAYS} 个工作日: [bold]{tenth.isoformat()}[/bold]"
        f"({WEEKDAYS[tenth.weekday()]}),即 {month.previous()} 结算批次的民政审核截止日"
    )


# --- the journal ------------------------------------------------------------------------------------
ledger_app = typer.Typer(help="The journal.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Recompute every balance from the journal; exit 1 on any mismatch."""
    from app.db import session_scope
    from app.ledger import service

    with _app_errors(), console.status("核对分录…"), session_scope(write=False) as session:
        report = service.verify(session)
    table = Table(title="账本核对")
    for column in ("分录", "分录行", "核对消费券", "不一致"):
        table.add_column(column, justify="right")
    table.add_row(
        str(report.entries),
        str(report.lines),
        str(report.vouchers_checked),
        str(len(report.mismatches)),
    )
    console.print(table)
    for mismatch in report.mismatches:
        console.print(f"[red]{escape(str(mismatch))}[/red]")
    if not report.ok:
        raise typer.Exit(code=1)
    console.print("[green]账本平衡,余额与分录一致[/green]")


# --- providers --------------------------------------------------------------------------------------
providers_app = typer.Typer(help="Providers (一(四)).", no_args_is_help=True)
app.add_typer(providers_app, name="providers")


@providers_app.command("conflicts")
def providers_conflicts() -> None:
    """Organisations registered both as an assessment agency and as a care provider; exit 1 if any."""
    from app.db import session_scope
    from app.providers import service

    with _app_errors(), session_scope(write=False) as session:
        conflicts = service.assessment_agency_conflicts(session)
        table = Table(title="评估经办机构与养老服务机构重复登记(一(四))")
        for column in ("统一社会信用代码", "行政区", "类型", "名称", "状态", "服务机构 ID"):
            table.add_column(column)
        for conflict in conflicts:
            for provider in conflict.registrations:
                table.add_row(
                    conflict.credit_code,
                    provider.district_code,
                    provider.kind,
                    escape(provider.name),
                    provider.status,
                    str(provider.id),
                )
    if not conflicts:
        console.print("[green]没有组织同时登记为评估经办机构和养老服务机构[/green]")
        return
    console.print(table)
    console.print(f"[red]{len(conflicts)} 个组织需处理:评估经办机构不得提供补贴养老服务[/red]")
    raise typer.Exit(code=1)


# --- staff ------------------------------------------------------------------------------------------
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


@staff_app.command("create")
def staff_create(
    name: Annotated[str, typer.Option()],
    role: Annotated[
        str,
        typer.Option(help="city_admin | district_civil | district_finance | auditor"),
    ],
    district: Annotated[str | None, typer.Option(help="District code for district roles")] = None,
) -> None:
    """Create a staff account and print its token once."""
    from app.auth.principal import Role
    from app.db import session_scope
    from app.staff import service

    try:
        parsed_role = Role(role)
    except ValueError:
        raise typer.BadParameter(
            "role must be city_admin | district_civil | district_finance | auditor", param_hint="--role"
        ) from None
    with _app_errors(), session_scope() as session:
        _staff, token = service.create_staff(
            session, name=name, role=parsed_role, district_code=district, created_by=_operator()
        )
    console.print(f"令牌(仅显示一次): [bold]{token}[/bold]")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
