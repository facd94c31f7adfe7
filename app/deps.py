"""Request dependencies: the session (commit once, at the edge) and who is calling.

Role checks live here, as ``Annotated`` aliases, so that a router states who may call it in
its signature and never checks roles by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import terminals
from app.auth.principal import STAFF_ROLES, Principal, Role
from app.auth.security import hash_secret, same_secret
from app.config import get_settings
from app.db import session_scope
from app.errors import Forbidden, InvalidToken, Unauthenticated
from app.models.auth import StaffMember
from app.models.providers import Provider
from app.pgpool import pool_of

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction (``db.session_scope``): committed when the handler returns,
    rolled back on any error. Writing requests take SQLite's write lock up front; reads stay
    concurrent. The routing retry (app.routing) finds the request's sessions on its state."""
    with session_scope(write=request.method not in READ_ONLY_METHODS) as session:
        if not hasattr(request.state, "db_sessions"):
            request.state.db_sessions = []
        request.state.db_sessions.append(session)
        yield session


# scope="function": the commit runs when the handler returns and before the response is sent,
# so a failed commit can never be answered with a success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="员工令牌或服务机构 API 密钥")


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("请在 Authorization 头中提供 Bearer 令牌")
    token = credentials.credentials
    admin_token = get_settings().admin_token
    if admin_token and same_secret(token, admin_token):
        return Principal(role=Role.CITY_ADMIN, subject_id="bootstrap-admin")
    token_hash = hash_secret(token)
    # Tokens we issue say what they are (st_… staff, pk_… provider): one lookup, not two.
    if not token.startswith("pk_"):
        staff = session.execute(
            select(StaffMember.id, StaffMember.role, StaffMember.district_code).where(
                StaffMember.token_hash == token_hash, StaffMember.active.is_(True)
            )
        ).first()
        if staff is not None:
            return Principal(
                role=Role(staff.role), subject_id=str(staff.id), district_code=staff.district_code
            )
    if not token.startswith("st_"):
        provider = session.execute(
            select(Provider.id, Provider.district_code).where(Provider.api_key_hash == token_hash)
        ).first()
        if provider is not None:
            return Principal(
                role=Role.PROVIDER, subject_id=str(provider.id), district_code=provider.district_code
            )
    raise InvalidToken()


def _principal_in_session(token: str) -> Principal:
    with session_scope(write=False) as session:
        return get_principal(session, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token))


async def get_terminal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The provider calling the point-of-service hot path, without a SQLAlchemy session: from the
    process's memory after the first request (app/auth/terminals.py), else one lookup. Any other
    token gets the answer the other routes give it (401, or 403 for staff)."""
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("请在 Authorization 头中提供 Bearer 令牌")
    token_hash = hash_secret(credentials.credentials)
    request.state.token_hash = token_hash
    principal = terminals.remembered(token_hash)
    if principal is None:
        pool = pool_of(request)
        row = await pool.fetchrow(PROVIDER_BY_KEY, token_hash) if pool is not None else None
        if row is not None:
            principal = Principal(role=Role.PROVIDER, subject_id=str(row[0]), district_code=row[1])
        else:
            principal = await run_in_threadpool(_principal_in_session, credentials.credentials)
        if principal.role is Role.PROVIDER:
            terminals.remember(token_hash, principal)
    if principal.role is not Role.PROVIDER:
        raise Forbidden(f"该操作需要以下角色之一: {Role.PROVIDER}")
    return principal


PROVIDER_BY_KEY = "SELECT id, district_code FROM providers WHERE api_key_hash = $1"


def require_roles(*roles: Role):
    allowed = frozenset(roles)

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"该操作需要以下角色之一: {', '.join(sorted(allowed))}")
        return principal

    return check


AnyPrincipal = Annotated[Principal, Depends(get_principal)]
StaffPrincipal = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
CityAdmin = Annotated[Principal, Depends(require_roles(Role.CITY_ADMIN))]
RegistryOfficer = Annotated[Principal, Depends(require_roles(Role.CITY_ADMIN, Role.DISTRICT_CIVIL))]
# City admins and auditors: the city-wide readers.
CityWideReader = Annotated[Principal, Depends(require_roles(Role.CITY_ADMIN, Role.AUDITOR))]
ProviderTerminal = Annotated[Principal, Depends(require_roles(Role.PROVIDER))]
# The same, for the point-of-service hot path (async, no session).
PosTerminal = Annotated[Principal, Depends(get_terminal)]
