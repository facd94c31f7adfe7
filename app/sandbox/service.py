from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import clock
from app.models.sandbox import SandboxClock


def frozen_at(session: Session) -> datetime | None:
    return session.scalar(select(SandboxClock.frozen_at).where(SandboxClock.id == 1))


def freeze(session: Session, instant: datetime, *, actor: str) -> datetime:
    row = session.get(SandboxClock, 1)
    if row is None:
        row = SandboxClock(id=1)
        session.add(row)
    row.frozen_at = instant
    row.set_by = actor
    row.set_at = clock.system_now()
    session.flush()
    return instant


def unfreeze(session: Session) -> None:
    session.execute(delete(SandboxClock))
