from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import DISTRICT_ROLES, Principal, Role
from app.auth.security import hash_secret, new_secret
from app.models.auth import StaffMember
from app.reference.service import ensure_district
from app.staff.errors import InvalidRole


def create_staff(
    session: Session,
    *,
    name: str,
    role: Role,
    district_code: str | None,
    created_by: Principal,
    token: str | None = None,
) -> tuple[StaffMember, str]:
    """A new staff member and their token (returned once, stored hashed).

    ``token`` is for the demo data only, whose tokens are published in the README.
    """
    if role is Role.PROVIDER:
        raise InvalidRole("服务机构使用 API 密钥,不能创建为员工")
    if role in DISTRICT_ROLES and district_code is None:
        raise InvalidRole(f"角色 {role} 必须指定 district_code")
    if role not in DISTRICT_ROLES and district_code is not None:
        raise InvalidRole(f"角色 {role} 覆盖全市,不能指定 district_code")
    if district_code is not None:
        ensure_district(session, district_code)
    token = token or new_secret("st")
    staff = StaffMember(
        name=name,
        role=role.value,
        district_code=district_code,
        token_hash=hash_secret(token),
        active=True,
        created_at=clock.now(),
        created_by=created_by.actor,
    )
    session.add(staff)
    session.flush()
    return staff, token


def list_staff(session: Session) -> list[StaffMember]:
    return list(session.scalars(select(StaffMember).order_by(StaffMember.created_at)))


def names_by_id(session: Session, staff_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """Each known staff member's (name, role) by id, for rows that record ``staff:<id>``."""
    if not staff_ids:
        return {}
    rows = session.execute(
        select(StaffMember.id, StaffMember.name, StaffMember.role).where(StaffMember.id.in_(staff_ids))
    )
    return {staff_id: (name, role) for staff_id, name, role in rows}
