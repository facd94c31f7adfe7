"""``voucher staff``: staff accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from app.auth.principal import Role
from app.cli import terminal
from app.cli.options import operator
from app.db import session_scope
from app.reference.service import resolve_district
from app.staff import service

group = typer.Typer(help="员工账号。", no_args_is_help=True)


@group.command("create")
def create(
    name: Annotated[str, typer.Option(help="姓名")],
    role: Annotated[
        str,
        typer.Option(
            help="角色:city_admin(市级管理员)| district_civil(区民政局)| district_finance(区财政局)| auditor(审计人员)"
        ),
    ],
    district: Annotated[
        str | None, typer.Option(help="区级角色的行政区:代码、全称或简称(如 110105、朝阳区、朝阳)")
    ] = None,
) -> None:
    """创建员工账号,令牌只显示这一次。"""
    try:
        parsed_role = Role(role)
    except ValueError:
        raise typer.BadParameter(
            "角色只能是 city_admin | district_civil | district_finance | auditor", param_hint="--role"
        ) from None
    with terminal.app_errors(), session_scope() as session:
        code = resolve_district(session, district) if district is not None else None
        _staff, token = service.create_staff(
            session, name=name, role=parsed_role, district_code=code, created_by=operator()
        )
    terminal.console.print(f"令牌(仅显示一次): [bold]{token}[/bold]")
