"""An elder's status history: one row per status change, with who, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.elders import Elder, ElderStatusChange
from app.rules.entitlement import DECEASED


def record_status_change(
    session: Session,
    elder: Elder,
    *,
    from_status: str | None,
    actor: str,
    at: datetime,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    """The change of ``elder`` from ``from_status`` to the status it has now."""
    session.add(
        ElderStatusChange(
            elder_id=elder.id,
            district_code=elder.district_code,
            from_status=from_status,
            to_status=elder.status,
            reason=reason,
            note=note,
            changed_by=actor,
            changed_at=at,
        )
    )


def status_history(session: Session, elder: Elder) -> list[ElderStatusChange]:
    return list(
        session.scalars(
            select(ElderStatusChange)
            .where(ElderStatusChange.elder_id == elder.id)
            .order_by(ElderStatusChange.id)
        )
    )


def status_before_death(session: Session, elder: Elder) -> str | None:
    """The status the elder's latest death record interrupted (None: no such record)."""
    return session.scalars(
        select(ElderStatusChange.from_status)
        .where(ElderStatusChange.elder_id == elder.id, ElderStatusChange.reason == DECEASED)
        .order_by(ElderStatusChange.changed_at.desc(), ElderStatusChange.id.desc())
        .limit(1)
    ).first()
