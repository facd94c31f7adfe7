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

group = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@group.command("create")
def create(
    name: Annotated[str, typer.Option()],
    role: Annotated[
        str,
        typer.Option(help="city_admin | district_civil | district_finance | auditor"),
    ],
    district: Annotated[
        str | None, typer.Option(help="区级角色的行政区:代码、全称或简称(如 110105、朝阳区、朝阳)")
    ] = None,
) -> None:
    """Create a staff account and print its token once."""
    try:
        parsed_role = Role(role)
    except ValueError:
        raise typer.BadParameter(
            "role must be city_admin | district_civil | district_finance | auditor", param_hint="--role"
        ) from None
    with terminal.app_errors(), session_scope() as session:
        code = resolve_district(session, district) if district is not None else None
        _staff, token = service.create_staff(
            session, name=name, role=parsed_role, district_code=code, created_by=operator()
        )
    terminal.console.print(f"令牌(仅显示一次): [bold]{token}[/bold]")
