"""Running the service: migrate, demo data, serve, the OpenAPI document, the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url

from app.cli import terminal
from app.config import get_settings
from app.db import session_scope
from app.demo.loader import DemoSummary, load_demo
from app.logging_setup import configure_logging
from app.migrate import upgrade
from app.openapi_export import OPENAPI_PATH, render_openapi, write_openapi
from app.rules.money import yuan_text
from app.scheduler import JobScheduler


def migrate() -> None:
    """把数据库结构和参考数据迁移到最新版本(Alembic upgrade head)。"""
    with terminal.console.status("迁移数据库…"):
        upgrade()
    terminal.console.print(f"[green]数据库已迁移到最新版本[/green] ({_safe_url()})")


def _safe_url() -> str:
    return make_url(get_settings().database_url).render_as_string(hide_password=True)


def _demo_step_reporter(progress: Progress) -> Callable[[str, int, int], None]:
    """``progress(step, done, total)`` from the demo loader drives one bar; its description
    follows the step in progress."""
    task = progress.add_task("载入演示数据", total=None)

    def report(step: str, done: int, total: int) -> None:
        progress.update(task, description=step, completed=done, total=total)

    return report


def demo(
    elders_per_district: Annotated[int, typer.Option(min=1, max=5000, help="每个区的演示老年人数")] = 150,
) -> None:
    """载入演示用的服务机构、老年人和核销(仅限开发环境;可重复执行)。"""
    if get_settings().environment == "production":
        terminal.console.print("[red]演示数据不能载入生产环境[/red]")
        raise typer.Exit(code=2)
    upgrade()
    with terminal.app_errors(), session_scope() as session, terminal.progress() as progress:
        summary = load_demo(
            session, elders_per_district=elders_per_district, progress=_demo_step_reporter(progress)
        )
    if not summary.loaded:
        terminal.console.print("演示数据已存在,未重复载入。")
        return
    _print_demo(summary)


def _print_demo(summary: DemoSummary) -> None:
    console = terminal.console
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


def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    with_demo: Annotated[bool, typer.Option("--demo", help="先载入演示数据(开发环境)")] = False,
    workers: Annotated[int, typer.Option(min=1, help="工作进程数")] = 1,
) -> None:
    """迁移数据库,可选载入演示数据,然后用 uvicorn 运行 HTTP 服务。"""
    migrate()
    if with_demo:
        demo()
    terminal.console.print(f"服务地址: http://{host}:{port}/api/v1  健康检查: http://{host}:{port}/healthz")
    uvicorn.run("app.main:app", host=host, port=port, workers=workers, log_level="info")


def openapi(
    check: Annotated[bool, typer.Option(help="只检查:已提交的文档与应用不一致时失败")] = False,
) -> None:
    """按应用重新生成 openapi/openapi.json(或用 --check 检查是否最新)。"""
    if check:
        current = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
        if current != render_openapi():
            terminal.console.print("[red]openapi/openapi.json 已过期: 运行 voucher openapi[/red]")
            raise typer.Exit(code=1)
        terminal.console.print("openapi/openapi.json 与应用一致")
        return
    terminal.console.print(f"已写入 {write_openapi()}")


def scheduler() -> None:
    """按计划运行月初作业(失效、发放)和每日作业,先补做错过的作业。"""
    configure_logging(get_settings().log_level)
    runner = JobScheduler(blocking=True)
    terminal.console.print(f"调度器已启动 ({runner.holder});按 Ctrl+C 退出")
    try:
        runner.start()
    except (KeyboardInterrupt, SystemExit):
        runner.shutdown()
