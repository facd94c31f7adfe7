"""Settlement batches read back: the answer every /settlements endpoint gives (and ``voucher
settle`` prints), and what ``voucher settle build`` needs to know before and after building."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.calendar.service import working_calendar
from app.errors import MonthNotEnded
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.settlements import SettlementBatch, SettlementLine
from app.reference.service import ensure_district
from app.rules.months import Month
from app.settlements import statements
from app.settlements.schemas import BatchOut
from app.settlements.service import batch_deadlines, events_of, lines_of, list_batches


def batch_summary(session: Session, batch: SettlementBatch) -> BatchOut:
    """The batch with its deadlines, where its current stage stands today, its provider lines,
    its review history and how many of its redemptions still lack evidence."""
    return BatchOut.of(
        batch,
        deadlines=batch_deadlines(session, batch),
        today=clock.today(),
        calendar=working_calendar(session),
        provider_names=_provider_names(session, batch),
        missing_evidence=statements.item_counts(session, batch.id).missing_evidence,
        lines=lines_of(session, batch),
        events=events_of(session, batch),
    )


def batch_summaries(
    session: Session, caller: Principal, *, district_code: str | None, month: Month | None
) -> list[BatchOut]:
    """The batches the caller sees, latest month first, each as :func:`batch_summary`."""
    batches = list_batches(session, caller, district_code=district_code, month=month)
    return [batch_summary(session, batch) for batch in batches]


def _provider_names(session: Session, batch: SettlementBatch) -> dict[uuid.UUID, str]:
    lines = select(SettlementLine.provider_id).where(SettlementLine.batch_id == batch.id)
    return dict(session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(lines))).all())


def districts_to_settle(session: Session, month: Month, requested: list[str] | None) -> list[str]:
    """The districts ``voucher settle build`` builds: those requested (duplicates dropped; an
    unknown code refuses them all), else every district with posted redemptions in ``month``.

    A month that has not ended is refused first (``build_batch`` refuses it too), so that the
    current month is not reported as having nothing to settle."""
    if clock.now() < month.ends_at():
        raise MonthNotEnded(f"{month} 尚未结束,不能结算")
    if requested:
        codes = list(dict.fromkeys(requested))
        for code in codes:
            ensure_district(session, code)
        return codes
    return list(
        session.scalars(
            select(Redemption.district_code)
            .where(Redemption.month == month.first_day, Redemption.status == "posted")
            .distinct()
            .order_by(Redemption.district_code)
        )
    )


def existing_batch_id(session: Session, caller: Principal, *, district_code: str, month: Month) -> str | None:
    """The id of the district's batch for ``month`` if the caller sees it: reported beside a
    SETTLEMENT_EXISTS refusal so that the operator can open it."""
    found = list_batches(session, caller, district_code=district_code, month=month)
    return str(found[0].id) if found else None


def visible_batch_ids(session: Session, caller: Principal) -> list[str]:
    """The id of every batch the caller sees (a few hundred at most: districts × months), so that
    ``voucher`` can shorten ids to unique prefixes and find a batch by one."""
    query = select(SettlementBatch.id)
    district_code = district_filter(caller, None)
    if district_code is not None:
        query = query.where(SettlementBatch.district_code == district_code)
    return [str(batch_id) for batch_id in session.scalars(query)]
