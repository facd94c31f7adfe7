"""An elder's places in government-funded programmes (一(八)4 station basic services, 一(八)5
family care beds), whose services the voucher may not pay for."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.elders.errors import InvalidEnrolment
from app.errors import NotFound
from app.ids import parse_id
from app.models.elders import Elder, ElderEnrolment
from app.models.providers import Provider


def add_enrolment(
    session: Session,
    caller: Principal,
    elder: Elder,
    *,
    kind: str,
    provider_id: str,
    starts_on: date,
    ends_on: date | None,
) -> ElderEnrolment:
    parsed = parse_id(provider_id)
    provider = session.get(Provider, parsed) if parsed else None
    if provider is None or not caller.sees_district(provider.district_code):
        raise InvalidEnrolment("provider_id 不是可见的服务机构")
    if kind == "station_basic_services" and provider.kind != "station":
        raise InvalidEnrolment("四项基本养老服务须由社区养老服务驿站提供")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidEnrolment("结束日期不能早于开始日期")
    enrolment = ElderEnrolment(
        id=uuid.uuid4(),
        district_code=elder.district_code,
        elder_id=elder.id,
        provider_id=provider.id,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        created_at=clock.now(),
        created_by=caller.actor,
    )
    session.add(enrolment)
    session.flush()
    return enrolment


def list_enrolments(session: Session, elder: Elder) -> list[ElderEnrolment]:
    return list(
        session.scalars(
            select(ElderEnrolment)
            .where(ElderEnrolment.elder_id == elder.id)
            .order_by(ElderEnrolment.starts_on)
        )
    )


def end_enrolment(session: Session, elder: Elder, enrolment_id: str, ends_on: date) -> ElderEnrolment:
    parsed = parse_id(enrolment_id)
    enrolment = session.get(ElderEnrolment, parsed) if parsed else None
    if enrolment is None or enrolment.elder_id != elder.id:
        raise NotFound("未找到该项目登记")
    if ends_on < enrolment.starts_on:
        raise InvalidEnrolment("结束日期不能早于开始日期")
    enrolment.ends_on = ends_on
    session.flush()
    return enrolment
