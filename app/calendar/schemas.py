from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import StringConstraints

from app.schemas import BeijingTime, RequestModel, ResponseModel


class OverrideSet(RequestModel):
    working: bool
    note: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class OverrideOut(ResponseModel):
    day: date
    working: bool
    note: str
    set_by: str
    set_at: BeijingTime


class CalendarDay(ResponseModel):
    day: date
    working: bool
    source: str  # "override" | "official" | "weekend" | "weekday"


class MonthCalendar(ResponseModel):
    month: str
    working_days: int
    days: list[CalendarDay]
