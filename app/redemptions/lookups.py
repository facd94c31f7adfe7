"""Redemptions found by id: for the routes (visible to the caller) and for other modules."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.errors import NotFound
from app.ids import parse_id
from app.models.redemptions import Redemption


def redemptions_by_ids(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Redemption]:
    """Redemptions by id, in one query (the ones a warning, a finding or a page names)."""
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(Redemption).where(Redemption.id.in_(ids)))}


def get_visible_redemption(session: Session, caller: Principal, redemption_id: str) -> Redemption:
    parsed = parse_id(redemption_id)
    redemption = session.get(Redemption, parsed) if parsed else None
    if redemption is None:
        raise NotFound("未找到该笔核销")
    if caller.provider_id is not None:
        if redemption.provider_id != caller.provider_id:
            raise NotFound("未找到该笔核销")
    elif not caller.sees_district(redemption.district_code):
        raise NotFound("未找到该笔核销")
    return redemption
