"""The only place that reads the time. All policy time is Asia/Shanghai.

With ``VOUCHER_SANDBOX_CLOCK=true`` a frozen instant stored in the database (table
``sandbox_clock``) replaces the real time for every process of the deployment, so tests and
rehearsals move through month ends and deadlines without sleeping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.config import get_settings
from app.rules.months import BEIJING, Month


def _frozen_instant() -> datetime | None:
    from app.db import get_side_engine
    from app.sandbox.models import SandboxClock

    with get_side_engine().connect() as connection:
        return connection.execute(
            select(SandboxClock.frozen_at).where(SandboxClock.id == 1)
        ).scalar_one_or_none()


def system_now() -> datetime:
    return datetime.now(UTC).astimezone(BEIJING)


def now() -> datetime:
    """The service's notion of now, aware, in Asia/Shanghai."""
    if get_settings().sandbox_clock:
        frozen = _frozen_instant()
        if frozen is not None:
            return frozen.astimezone(BEIJING)
    return system_now()


def today() -> date:
    return now().date()


def current_month() -> Month:
    return Month.containing(now())
