"""District scoping shared by every module: what a caller may act on and list."""

from __future__ import annotations

from app.auth.principal import Principal
from app.errors import DistrictOutOfScope


def ensure_district_in_scope(caller: Principal, district_code: str) -> None:
    if not caller.sees_district(district_code):
        raise DistrictOutOfScope(f"无权操作行政区 {district_code} 的数据")


def district_filter(caller: Principal, requested: str | None) -> str | None:
    """The district a staff list is limited to: the one asked for (if the caller may see it),
    else the caller's own; None for a city-wide caller who asked for none."""
    if requested is not None:
        ensure_district_in_scope(caller, requested)
    return requested or caller.visible_districts()
