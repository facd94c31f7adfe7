from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.calendar import service
from app.calendar.schemas import CalendarDay, MonthCalendar, OverrideOut, OverrideSet
from app.deps import AnyPrincipal, CityAdmin, SessionDep
from app.errors import NotFound
from app.routing import TransactionRetryRoute
from app.rules.calendar import is_working_day
from app.rules.months import Month
from app.schemas import IsoDate, MonthText, problem_responses

router = APIRouter(
    prefix="/calendar",
    route_class=TransactionRetryRoute,
    tags=["calendar"],
    responses=problem_responses(401, 403, 404, 422),
)


@router.get("", response_model=MonthCalendar, summary="某月工作日历(含调休与人工校正)")
def month_calendar(session: SessionDep, _caller: AnyPrincipal, month: Annotated[MonthText, Query()]):
    calendar = service.working_calendar(session)
    parsed = Month.parse(month)
    days = []
    day = parsed.first_day
    while day <= parsed.last_day:
        if day in calendar.overrides:
            source = "override"
        elif day in calendar.makeup_workdays or day in calendar.public_holidays:
            source = "official"
        else:
            source = "weekend" if day.weekday() >= 5 else "weekday"
        days.append(CalendarDay(day=day, working=is_working_day(day, calendar), source=source))
        day += timedelta(days=1)
    return MonthCalendar(month=str(parsed), working_days=sum(d.working for d in days), days=days)


@router.get("/overrides", response_model=list[OverrideOut], summary="工作日人工校正列表")
def list_overrides(session: SessionDep, _caller: AnyPrincipal):
    return service.list_overrides(session)


@router.put(
    "/overrides/{day}", response_model=OverrideOut, summary="设置某日是否为工作日(国务院新公布的安排)"
)
def set_override(day: Annotated[IsoDate, Path()], body: OverrideSet, session: SessionDep, caller: CityAdmin):
    return service.set_override(session, caller, day, working=body.working, note=body.note)


@router.delete("/overrides/{day}", status_code=status.HTTP_204_NO_CONTENT, summary="删除某日的人工校正")
def delete_override(day: Annotated[IsoDate, Path()], session: SessionDep, _caller: CityAdmin):
    if not service.delete_override(session, day):
        raise NotFound("该日没有人工校正")
