"""``voucher``: the operator's command line.

Every operator job: serve, migrate, demo, the month-start and daily jobs, anomaly scans, audit
samples, settlement batches, the working-day calendar, the ledger check, staff accounts.
Help and messages are Simplified Chinese (app.cli.zh translates Click's own); option names,
command names and error codes stay English. A refused operation (an
``AppError``) prints its code and detail in red and exits 2; a bad argument is a usage error
(exit 2, nothing changed).

One module per command group; each parses arguments, calls the domain's services and prints
(app.cli.terminal: the console and how a refusal is reported; app.cli.options: shared arguments).
"""

from __future__ import annotations

import typer

from app.cli import (
    anomalies,
    audit,
    calendar,
    districts,
    jobs,
    ledger,
    providers,
    server,
    settle,
    staff,
    terminal,
    zh,
)

zh.use_chinese_panels()

app = typer.Typer(
    help="北京市养老服务消费补贴电子消费券账本:运维与业务命令。",
    no_args_is_help=True,
)


@app.callback()
def _fresh_console() -> None:
    """Each invocation measures the terminal (COLUMNS included) when it runs, not at import."""
    terminal.use_fresh_console()


app.command()(server.migrate)
app.command()(server.demo)
app.command()(server.serve)
app.command()(server.openapi)
app.command()(server.scheduler)
app.command()(districts.districts)
app.add_typer(jobs.group, name="jobs")
app.add_typer(anomalies.group, name="anomalies")
app.add_typer(audit.group, name="audit")
app.add_typer(settle.group, name="settle")
app.add_typer(calendar.group, name="calendar")
app.add_typer(ledger.group, name="ledger")
app.add_typer(providers.group, name="providers")
app.add_typer(staff.group, name="staff")
