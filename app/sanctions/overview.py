"""The monthly view (GET /sanctions): every sanction imposed on providers in a month, in Beijing
time — suspensions and disqualifications from the listing history, blacklistings and
rectification orders — each with its state now, scoped like the rows it shows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.models.providers import ProviderStatusChange
from app.models.sanctions import BlacklistEntry
from app.rules.listing import ListingStatus
from app.rules.months import Month
from app.sanctions import service as rectifications
from app.sanctions.blacklist import blacklist_responses
from app.sanctions.lookups import provider_rows, scoped
from app.sanctions.schemas import SanctionKind, SanctionListOut, SanctionOut

# The listing statuses that are sanctions, and the kind each shows as.
SANCTION_STATUSES = {
    ListingStatus.SUSPENDED.value: SanctionKind.SUSPENSION,
    ListingStatus.DISQUALIFIED.value: SanctionKind.DISQUALIFICATION,
}


def list_sanctions(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    month: Month,
    kind: SanctionKind | None,
) -> SanctionListOut:
    """The month's sanctions of ``kind`` (all kinds when None) in the district asked for, or in
    every district the caller sees."""
    items: list[SanctionOut] = []
    if kind in (None, SanctionKind.SUSPENSION, SanctionKind.DISQUALIFICATION):
        items += _status_sanctions(session, caller, district_code, month, kind)
    if kind in (None, SanctionKind.BLACKLIST):
        items += _blacklistings(session, caller, district_code, month)
    if kind in (None, SanctionKind.RECTIFICATION):
        items += _rectifications(session, caller, district_code, month)
    # A provider asked for no district sees none named; district staff see their own.
    shown = district_code if caller.provider_id is not None else district_code or caller.visible_districts()
    return SanctionListOut.of(items, district_code=shown, month=str(month))


def _status_sanctions(
    session: Session, caller: Principal, district_code: str | None, month: Month, kind: SanctionKind | None
) -> list[SanctionOut]:
    change = ProviderStatusChange
    statuses = [status for status, shown_as in SANCTION_STATUSES.items() if kind in (None, shown_as)]
    query = select(change).where(
        change.to_status.in_(statuses),
        change.changed_at >= month.starts_at(),
        change.changed_at < month.ends_at(),
    )
    query = scoped(session, caller, query, change.district_code, change.provider_id, district_code)
    changes = list(session.scalars(query))
    rows = provider_rows(session, {c.provider_id for c in changes})
    return [
        SanctionOut.of_status_change(
            c,
            SANCTION_STATUSES[c.to_status],
            provider_name=rows[c.provider_id].name,
            credit_code=rows[c.provider_id].credit_code,
        )
        for c in changes
    ]


def _blacklistings(
    session: Session, caller: Principal, district_code: str | None, month: Month
) -> list[SanctionOut]:
    entry = BlacklistEntry
    query = select(entry).where(entry.listed_at >= month.starts_at(), entry.listed_at < month.ends_at())
    query = scoped(session, caller, query, entry.district_code, entry.provider_id, district_code)
    return [
        SanctionOut.of_blacklisting(out) for out in blacklist_responses(session, list(session.scalars(query)))
    ]


def _rectifications(
    session: Session, caller: Principal, district_code: str | None, month: Month
) -> list[SanctionOut]:
    orders = rectifications.list_rectifications(session, caller, district_code=district_code, month=month)
    rows = provider_rows(session, {o.provider_id for o in orders})
    return [
        SanctionOut.of_rectification(out, credit_code=rows[order.provider_id].credit_code)
        for order, out in zip(orders, rectifications.rectification_responses(session, orders), strict=True)
    ]
