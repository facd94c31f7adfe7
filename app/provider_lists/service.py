"""The monthly list of providers added and withdrawn per district (一(四)), computed from the
listing history with one set-based query, and published once per district and month with who,
when and whether late (``app.rules.provider_list.decide_publication``). The API's shapes are in
``schemas.py``, the XLSX in ``xlsx.py``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, String, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import app.provider_lists.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.auth.scope import ensure_district_in_scope
from app.calendar.service import working_calendar
from app.errors import NotFound, error_for
from app.ids import parse_id
from app.models.provider_lists import ProviderListPublication
from app.models.providers import Provider, ProviderStatusChange
from app.models.reference import District
from app.reference.service import ensure_district, program_period
from app.rules.listing import ListingStatus
from app.rules.months import BEIJING, Month
from app.rules.policy import ProgramPeriod
from app.rules.provider_list import (
    KIND_TITLES,
    PublicationFacts,
    already_published,
    change_title,
    decide_publication,
    month_refusal,
    publication_due,
)
from app.rules.refusals import Refusal


def _program_in_scope(session: Session, caller: Principal, district_code: str) -> ProgramPeriod:
    """The program's period, once the district is known and the caller's to act on."""
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    return program_period(session)


# --- the list computed from the listing history -----------------------------------------------
def _changes(source, change: str, *conditions) -> Select:
    """Listing changes as list entries: ``change`` is "added" or "withdrawn"."""
    return select(
        source.provider_id,
        source.id,
        source.to_status,
        source.changed_at,
        source.reason,
        literal(change, String).label("change"),
    ).where(*conditions)


def _listed_when_the_month_began(district_code: str, start: datetime) -> Select:
    """The first list also names every provider listed when its month began: each provider's
    last change before the month, when it was into ``listed``."""
    change = ProviderStatusChange
    ranked = (
        select(
            change.provider_id,
            change.id,
            change.to_status,
            change.changed_at,
            change.reason,
            func.row_number()
            .over(partition_by=change.provider_id, order_by=(change.changed_at.desc(), change.id.desc()))
            .label("position"),
        )
        .where(change.district_code == district_code, change.changed_at < start)
        .subquery()
    )
    return _changes(
        ranked.c, "added", ranked.c.position == 1, ranked.c.to_status == ListingStatus.LISTED.value
    )


def compute_entries(session: Session, district_code: str, month: Month, *, first_list: bool) -> list[dict]:
    """The district's listing changes in ``month`` (Beijing time), oldest first: every change
    into ``listed`` is an addition, every change out of it (withdrawn, suspended, disqualified)
    a withdrawal. For the first list, every provider listed when the month began is added too."""
    change = ProviderStatusChange
    listed = ListingStatus.LISTED.value
    start, end = month.starts_at(), month.ends_at()
    in_month = (change.district_code == district_code, change.changed_at >= start, change.changed_at < end)
    parts = [
        _changes(change, "added", *in_month, change.to_status == listed),
        _changes(change, "withdrawn", *in_month, change.from_status == listed, change.to_status != listed),
    ]
    if first_list:
        parts.append(_listed_when_the_month_began(district_code, start))
    changes = union_all(*parts).subquery()
    rows = session.execute(
        select(
            changes.c.provider_id,
            Provider.name,
            Provider.kind,
            Provider.credit_code,
            changes.c.change,
            changes.c.to_status,
            changes.c.changed_at,
            changes.c.reason,
        )
        .join(Provider, Provider.id == changes.c.provider_id)
        .order_by(changes.c.changed_at, changes.c.id)
    ).all()
    return [_entry(row) for row in rows]


def _entry(row) -> dict:
    """One entry as a publication stores it (JSON, the list exactly as published) and as the
    API shows it (``schemas.ListEntryOut``)."""
    at: datetime = row.changed_at.astimezone(BEIJING)  # UtcDateTime: read back aware
    return {
        "provider_id": str(row.provider_id),
        "name": row.name,
        "kind": row.kind,
        "kind_title": KIND_TITLES.get(row.kind, row.kind),
        "credit_code": row.credit_code,
        "change": row.change,
        "change_title": change_title(row.change, row.to_status),
        "to_status": row.to_status,
        "changed_on": at.date().isoformat(),
        "changed_at": at.isoformat(),
        "reason": row.reason,
    }


# --- reading ---------------------------------------------------------------------------------
def find_publication(session: Session, district_code: str, month: Month) -> ProviderListPublication | None:
    return session.scalars(
        select(ProviderListPublication).where(
            ProviderListPublication.district_code == district_code,
            ProviderListPublication.month == month.first_day,
        )
    ).one_or_none()


def due_on(session: Session, month: Month, first_month: Month) -> date:
    return publication_due(month, working_calendar(session), first_month=first_month)


@dataclass(frozen=True)
class MonthList:
    """A district's list of a month as computed now, with its publication if there is one."""

    district_code: str
    month: Month
    first_list: bool
    complete: bool  # the month has ended: no change can be added any more
    entries: list[dict]
    publication: ProviderListPublication | None
    due_on: date
    today: date  # Beijing date


def current_list(session: Session, caller: Principal, *, district_code: str, month: Month) -> MonthList:
    """The computed list of a district and month with its publication state."""
    period = _program_in_scope(session, caller, district_code)
    if refusal := month_refusal(month, period.first_month, period.last_month):
        raise error_for(refusal)
    first_list = month == period.first_month
    now = clock.now()
    return MonthList(
        district_code=district_code,
        month=month,
        first_list=first_list,
        complete=now >= month.ends_at(),
        entries=compute_entries(session, district_code, month, first_list=first_list),
        publication=find_publication(session, district_code, month),
        due_on=due_on(session, month, period.first_month),
        today=now.astimezone(BEIJING).date(),
    )


def get_visible_publication(
    session: Session, caller: Principal, publication_id: str
) -> ProviderListPublication:
    parsed = parse_id(publication_id)
    publication = session.get(ProviderListPublication, parsed) if parsed else None
    if (
        publication is None
        or caller.provider_id is not None
        or not caller.sees_district(publication.district_code)
    ):
        raise NotFound("未找到该名单公布记录")
    return publication


def district_name(session: Session, district_code: str) -> str:
    return session.scalar(select(District.name).where(District.code == district_code)) or district_code


# --- publishing ------------------------------------------------------------------------------
def publish(
    session: Session, caller: Principal, *, district_code: str, month: Month
) -> ProviderListPublication:
    """Record the list as published now, with the list exactly as it stands."""
    period = _program_in_scope(session, caller, district_code)
    facts = PublicationFacts(
        district_code=district_code,
        month=month,
        first_month=period.first_month,
        last_month=period.last_month,
        due_on=due_on(session, month, period.first_month),
        already_published=find_publication(session, district_code, month) is not None,
    )
    now = clock.now()
    decision = decide_publication(facts, now)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    publication = ProviderListPublication(
        id=uuid.uuid4(),
        district_code=district_code,
        month=month.first_day,
        due_on=facts.due_on,
        published_at=now,
        published_by=caller.actor,
        late=decision.late,
        entries=compute_entries(session, district_code, month, first_list=month == period.first_month),
    )
    try:
        # The unique (district_code, month) closes the race of two officers publishing at once.
        with session.begin_nested():
            session.add(publication)
            session.flush()
    except IntegrityError:
        raise error_for(already_published(district_code, month)) from None
    return publication
