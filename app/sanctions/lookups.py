"""Reads the blacklist, the rectification orders and the monthly view share: the providers the
rows name (one query), and which rows a caller may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.models.providers import Provider
from app.reference.service import ensure_district


@dataclass(frozen=True)
class ProviderRow:
    """A sanctioned provider as the responses name it, with its listing status now."""

    name: str
    status: str
    credit_code: str


def provider_rows(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, ProviderRow]:
    if not ids:
        return {}
    return {
        row.id: ProviderRow(row.name, row.status, row.credit_code)
        for row in session.execute(
            select(Provider.id, Provider.name, Provider.status, Provider.credit_code).where(
                Provider.id.in_(ids)
            )
        )
    }


def own_credit_code(session: Session, caller: Principal) -> str | None:
    """The calling provider's organisation (None for staff)."""
    return session.scalar(select(Provider.credit_code).where(Provider.id == caller.provider_id))


def scoped(
    session: Session,
    caller: Principal,
    query: Select,
    district_column: InstrumentedAttribute,
    provider_column: InstrumentedAttribute,
    requested: str | None,
) -> Select:
    """A provider sees only its own rows; staff their district (city-wide roles: all, or the one
    asked for; another district asked for by district staff is 403)."""
    if requested is not None:
        ensure_district(session, requested)
    if caller.provider_id is not None:
        query = query.where(provider_column == caller.provider_id)
        return query.where(district_column == requested) if requested is not None else query
    district = district_filter(caller, requested)
    return query.where(district_column == district) if district is not None else query
