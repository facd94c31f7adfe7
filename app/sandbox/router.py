from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from app import clock
from app.config import get_settings
from app.deps import CityAdmin, SessionDep
from app.errors import NotFound
from app.routing import TransactionRetryRoute
from app.sandbox import service
from app.schemas import (
    BeijingTime,
    IsoDateTime,
    RequestModel,
    ResponseModel,
    problem_responses,
)

router = APIRouter(
    route_class=TransactionRetryRoute,
    prefix="/sandbox",
    tags=["sandbox"],
    responses=problem_responses(401, 403, 404, 422),
)


class ClockSet(RequestModel):
    now: IsoDateTime


class ClockOut(ResponseModel):
    now: BeijingTime
    frozen: bool


def _require_sandbox() -> None:
    if not get_settings().sandbox_clock:
        raise NotFound("沙箱时钟未启用")


@router.get("/clock", response_model=ClockOut, summary="沙箱时钟当前时间")
def get_clock(session: SessionDep, _caller: CityAdmin):
    _require_sandbox()
    return ClockOut(now=clock.now(), frozen=service.frozen_at(session) is not None)


@router.put("/clock", response_model=ClockOut, summary="冻结沙箱时钟(所有进程共享)")
def set_clock(body: ClockSet, session: SessionDep, caller: CityAdmin):
    _require_sandbox()
    frozen: datetime = service.freeze(session, body.now, actor=caller.actor)
    return ClockOut(now=frozen, frozen=True)


@router.delete("/clock", response_model=ClockOut, summary="恢复真实时间")
def reset_clock(session: SessionDep, _caller: CityAdmin):
    _require_sandbox()
    service.unfreeze(session)
    return ClockOut(now=clock.system_now(), frozen=False)
