"""Who did it, for people: ``staff:<id>`` in history and audit rows shown as the staff member's
name and role."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.ids import parse_id
from app.staff import service as staff

ROLE_TITLES = {
    "city_admin": "市级管理员",
    "auditor": "审计人员",
    "district_civil": "区民政局",
    "district_finance": "区财政局",
}
SYSTEM_TITLES = {"flag_overdue": "系统:逾期检查", "rectification_trigger": "系统:整改自动触发"}


def actor_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """Each actor string as people read it: 张三(区民政局), 命令行 tester(市级管理员), …"""
    wanted = set(actors)
    staff_ids: dict[str, uuid.UUID] = {}
    for actor in wanted:
        kind, _, subject = actor.partition(":")
        parsed = parse_id(subject) if kind == "staff" else None
        if parsed is not None:
            staff_ids[actor] = parsed
    known = staff.names_by_id(session, set(staff_ids.values()))
    return {actor: _title(actor, known.get(staff_ids.get(actor))) for actor in wanted}


def _title(actor: str, member: tuple[str, str] | None) -> str:
    if member is not None:
        name, role = member
        return f"{name}({ROLE_TITLES.get(role, role)})"
    kind, _, subject = actor.partition(":")
    if kind == "staff" and subject.startswith("cli:"):
        return f"命令行 {subject.removeprefix('cli:')}(市级管理员)"
    if actor == "staff:bootstrap-admin":
        return "初始管理员(市级管理员)"
    if kind == "system":
        return SYSTEM_TITLES.get(subject, f"系统:{subject}")
    return actor
