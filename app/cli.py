"""``voucher``: the operator's command line (serve, migrate, demo, openapi, staff)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.config import get_settings

app = typer.Typer(
    help="北京市养老服务消费补贴电子消费券账本 — operator commands.",
    no_args_is_help=True,
)
console = Console()


@app.command()
def migrate() -> None:
    """Bring the database schema and reference data up to date (Alembic upgrade head)."""
    from app.migrate import upgrade

    upgrade()
    console.print(f"[green]数据库已迁移到最新版本[/green] ({_safe_url()})")


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
    with session_scope() as session:
        summary = load_demo(session, elders_per_district=elders_per_district)
    if not summary.loaded:
        console.print("演示数据已存在,未重复载入。")
        return
    _print_demo(summary)


def _print_demo(summary) -> None:
    table = Table(title="演示账号令牌 (Authorization: Bearer <token>)")
    table.add_column("账号")
    table.add_column("角色")
    table.add_column("令牌")
    for name, role, token in summary.staff_tokens:
        table.add_row(name, role, token)
    for name, kind, key in summary.provider_keys:
        table.add_row(name, f"provider:{kind}", key)
    console.print(table)
    for district, count in summary.elders.items():
        console.print(f"{district}: {count} 位老年人")
    console.print(f"本月演示核销 {summary.redemptions} 笔")


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


jobs_app = typer.Typer(help="Month-start jobs, the same code the scheduler runs.")
app.add_typer(jobs_app, name="jobs")


def _month(text: str):
    from app.rules.months import Month

    try:
        return Month.parse(text)
    except ValueError:
        raise typer.BadParameter("month must be YYYY-MM") from None


@jobs_app.command("issue")
def jobs_issue(month: Annotated[str, typer.Option(help="YYYY-MM")]) -> None:
    """Issue the month's vouchers to every entitled elder (safe to repeat)."""
    from app.db import session_scope
    from app.errors import AppError
    from app.jobs import service

    try:
        with console.status(f"发放 {month} 电子消费券…"), session_scope() as session:
            result, run = service.run_issue(session, _month(month), trigger="cli")
    except AppError as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(code=2) from None
    console.print(
        f"{result.month}: 新发放 {result.issued} 张,此前已发放 {result.already_issued} 张 (job run {run.id})"
    )


@jobs_app.command("expire")
def jobs_expire(month: Annotated[str, typer.Option(help="YYYY-MM")]) -> None:
    """Expire an ended month's vouchers and release their balances (safe to repeat)."""
    from app.db import session_scope
    from app.errors import AppError
    from app.jobs import service
    from app.rules.money import yuan_text

    try:
        with console.status(f"{month} 电子消费券失效处理…"), session_scope() as session:
            result, run = service.run_expire(session, _month(month), trigger="cli")
    except AppError as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(code=2) from None
    console.print(
        f"{result.month}: 失效 {result.expired} 张,释放 {yuan_text(result.released_fen)} 元 (job run {run.id})"
    )


anomalies_app = typer.Typer(help="Anomaly warnings (四(二) 异常交易预警).")
app.add_typer(anomalies_app, name="anomalies")


@anomalies_app.command("scan")
def anomalies_scan(month: Annotated[str, typer.Option(help="YYYY-MM")]) -> None:
    """Run every anomaly rule over a month's redemptions (safe to repeat: nothing found twice)."""
    from app.db import session_scope
    from app.errors import AppError
    from app.jobs import service
    from app.rules.anomalies import RULES

    try:
        with console.status(f"扫描 {month} 异常交易…"), session_scope() as session:
            result, run = service.run_anomaly_scan(session, _month(month), trigger="cli")
    except AppError as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(code=2) from None
    table = Table(title=f"{result.month} 异常交易预警(新增)")
    table.add_column("规则")
    table.add_column("说明")
    table.add_column("新增", justify="right")
    for rule, count in result.found.items():
        table.add_row(rule, RULES[rule].title, str(count))
    console.print(table)
    console.print(f"新增 {result.total} 条 (job run {run.id})")


audit_app = typer.Typer(help="Audit samples (四(二) 抽查): draw and verify.")
app.add_typer(audit_app, name="audit")


@audit_app.command("sample")
def audit_sample(
    district: Annotated[str, typer.Option(help="district code, e.g. 110105")],
    month: Annotated[str, typer.Option(help="YYYY-MM (must have ended)")],
    kind: Annotated[str, typer.Option(help="redemption | assessment")] = "redemption",
) -> None:
    """Draw the month's 1 % sample (or show the one drawn before: a sample is never redrawn)."""
    from app.audits import service
    from app.auth.principal import Principal, Role
    from app.db import session_scope
    from app.errors import AppError
    from app.rules.sampling import SAMPLE_KINDS

    if kind not in SAMPLE_KINDS:
        console.print(f"[red]kind 须为 {' / '.join(SAMPLE_KINDS)}[/red]")
        raise typer.Exit(code=2)
    operator = Principal(role=Role.CITY_ADMIN, subject_id="cli")
    try:
        with console.status("抽取样本…"), session_scope() as session:
            drawn = service.draw_sample(
                session, operator, district_code=district, month=_month(month), kind=kind
            )
            sample, elder_ids = drawn.sample, service.drawn_elder_ids(session, drawn.sample)
    except AppError as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(code=2) from None
    table = Table(title=f"{district} {month} 抽查样本({'新抽取' if drawn.created else '此前已抽取'})")
    for column in ("样本编号", "总体", "样本量"):
        table.add_column(column)
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
    from app.errors import AppError

    try:
        with console.status("复核样本…"), session_scope(write=False) as session:
            sample = service.get_visible_sample(
                session, Principal(role=Role.AUDITOR, subject_id="cli"), sample_id
            )
            report = service.verify(session, sample)
    except AppError as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(code=2) from None
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


ledger_app = typer.Typer(help="The journal.")
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Recompute every balance from the journal; exit 1 on any mismatch."""
    from app.db import session_scope
    from app.ledger import service

    with console.status("核对分录…"), session_scope(write=False) as session:
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
        console.print(f"[red]{mismatch}[/red]")
    if not report.ok:
        raise typer.Exit(code=1)
    console.print("[green]账本平衡,余额与分录一致[/green]")


staff_app = typer.Typer(help="Staff accounts.")
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
    from app.auth import service
    from app.auth.principal import Principal, Role
    from app.db import session_scope
    from app.errors import AppError

    try:
        with session_scope() as session:
            _staff, token = service.create_staff(
                session,
                name=name,
                role=Role(role),
                district_code=district,
                created_by=Principal(
                    role=Role.CITY_ADMIN,
                    subject_id=f"cli:{os.environ.get('USER', 'operator')}",
                ),
            )
    except (AppError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from None
    console.print(f"令牌(仅显示一次): [bold]{token}[/bold]")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
