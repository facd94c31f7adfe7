"""Dashboard sign-in sessions: a staff token is exchanged once for a random session cookie.

The cookie value is 256 random bits and only its SHA-256 is stored (as with staff tokens), so
a leaked table cannot be replayed. Each session carries its own CSRF synchronizer token.
Sessions end on sign-out, on expiry, or as soon as the staff member is deactivated.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import STAFF_ROLES, Principal, Role
from app.auth.security import hash_secret
from app.config import get_settings
from app.models.auth import StaffMember, StaffSession


@dataclass(frozen=True)
class SignedIn:
    """Who a valid session cookie belongs to."""

    principal: Principal
    staff_name: str
    csrf_token: str
    session_id: str


def find_staff_by_token(session: Session, token: str) -> StaffMember | None:
    staff = session.scalars(
        select(StaffMember).where(StaffMember.token_hash == hash_secret(token), StaffMember.active.is_(True))
    ).one_or_none()
    if staff is None or Role(staff.role) not in STAFF_ROLES:
        return None
    return staff


def start_session(session: Session, staff: StaffMember) -> tuple[str, StaffSession]:
    """A new session for ``staff``; returns the cookie value (shown once) and the row."""
    cookie_value = secrets.token_urlsafe(32)
    now = clock.system_now()  # sessions age in real time, whatever the sandbox clock says
    row = StaffSession(
        token_hash=hash_secret(cookie_value),
        staff_id=staff.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=get_settings().dashboard.session_hours),
    )
    session.add(row)
    session.flush()
    return cookie_value, row


def resolve_session(session: Session, cookie_value: str) -> SignedIn | None:
    """The signed-in staff member behind a cookie, or None if it is unknown, ended or expired."""
    row = session.execute(
        select(StaffSession, StaffMember)
        .join(StaffMember, StaffMember.id == StaffSession.staff_id)
        .where(
            StaffSession.token_hash == hash_secret(cookie_value),
            StaffSession.ended_at.is_(None),
            StaffSession.expires_at > clock.system_now(),
            StaffMember.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    staff_session, staff = row
    return SignedIn(
        principal=Principal(
            role=Role(staff.role), subject_id=str(staff.id), district_code=staff.district_code
        ),
        staff_name=staff.name,
        csrf_token=staff_session.csrf_token,
        session_id=str(staff_session.id),
    )


def end_session(session: Session, cookie_value: str) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == hash_secret(cookie_value), StaffSession.ended_at.is_(None))
        .values(ended_at=clock.system_now())
    )
