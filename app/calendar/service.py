from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.models.calendar import CalendarOverride
from app.rules.calendar import WorkingCalendar

# Years the package is asked about: the program and the year its last settlement runs in.
CALENDAR_YEARS = range(2024, 2031)


@lru_cache(maxsize=1)
def _official() -> WorkingCalendar:
    return WorkingCalendar.china(CALENDAR_YEARS)


def working_calendar(session: Session) -> WorkingCalendar:
    """The package's calendar with the stored overrides on top."""
    overrides = {row.day: row.working for row in session.scalars(select(CalendarOverride))}
    official = _official()
    return WorkingCalendar(official.public_holidays, official.makeup_workdays, overrides)


def list_overrides(session: Session) -> list[CalendarOverride]:
    return list(session.scalars(select(CalendarOverride).order_by(CalendarOverride.day)))


def set_override(
    session: Session, caller: Principal, day: date, *, working: bool, note: str
) -> CalendarOverride:
    row = session.get(CalendarOverride, day)
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.working = working
    row.note = note
    row.set_by = caller.actor
    row.set_at = clock.now()
    session.flush()
    return row


def delete_override(session: Session, day: date) -> bool:
    return bool(session.execute(delete(CalendarOverride).where(CalendarOverride.day == day)).rowcount)
