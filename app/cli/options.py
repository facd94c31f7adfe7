"""Arguments several command groups take, and who the command line acts as."""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Annotated

import typer

from app.auth.principal import Principal, Role
from app.rules.months import Month

_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise typer.BadParameter("月份格式应为 YYYY-MM") from None


def parse_day(text: str) -> date:
    try:
        if not _DAY_RE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("日期格式应为 YYYY-MM-DD") from None


MonthOption = Annotated[
    Month, typer.Option("--month", parser=parse_month, metavar="YYYY-MM", help="月份 YYYY-MM")
]
EndedMonthOption = Annotated[
    Month, typer.Option(parser=parse_month, metavar="YYYY-MM", help="月份 YYYY-MM(须已结束)")
]
OptionalMonthOption = Annotated[
    Month | None, typer.Option(parser=parse_month, metavar="YYYY-MM", help="月份 YYYY-MM")
]
DayArgument = Annotated[date, typer.Argument(parser=parse_day, metavar="DATE", help="日期 YYYY-MM-DD")]


def operator() -> Principal:
    """The CLI acts as a city admin, named after the operating-system user in audit rows."""
    user = (os.environ.get("USER") or "operator")[:40]  # audit columns hold 64 characters
    return Principal(role=Role.CITY_ADMIN, subject_id=f"cli:{user}")


DistrictOption = Annotated[
    str | None,
    typer.Option("--district", help="行政区:代码、全称或简称(如 110105、朝阳区、朝阳;见 voucher districts)"),
]
