"""Read-only lists of elders for the district workbench (the dashboard): search by name or ID
number, filters by status, level, eligibility reason and an assessment ending soon, counts per
status. Everything is filtered in SQL and paged with LIMIT/OFFSET; the district scope is the
caller's, as in the API's list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.elders.eligibility import eligibility_rules
from app.models.elders import Elder
from app.rules.eligibility import EXEMPTING_ALLOWANCE_TIERS, NEW_ASSESSMENTS_FROM
from app.rules.entitlement import earliest_assessment_valid_on
from app.rules.identity import normalise_id_number

# A masked ID number as pages show it: the region code, stars, the last four characters.
_MASKED_ID = re.compile(r"^([0-9]{6})\*+([0-9]{3}[0-9Xx])$")
_LIKE_SPECIALS = re.compile(r"([\\%_])")


@dataclass(frozen=True)
class ElderFilters:
    """What the officer asked for; None (or empty) means "any"."""

    text: str | None = None  # a name (substring), a full ID number or a masked one
    status: str | None = None
    level: str | None = None
    reason: str | None = None  # an ineligibility reason code of the stored verdict
    expiring_within: int | None = None  # days: the assessment counts today and ends within them


def _like(text: str) -> str:
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", text) + "%"


def _text_condition(text: str):
    """A full ID number matches its normalised value exactly, a masked one its visible region
    code and last four characters, anything else a substring of the name."""
    full = normalise_id_number(text)
    if full is not None:
        return Elder.id_number == full
    masked = _MASKED_ID.match(text.replace(" ", ""))
    if masked is not None:
        prefix, suffix = masked.group(1), masked.group(2).upper()
        return Elder.id_number.like(f"{prefix}%{suffix}")
    return Elder.name.like(_like(text), escape="\\")


def expiring_condition(within_days: int):
    """The assessment counts today and ends within ``within_days`` days (approved and pending
    elders, not standing on the 400/600 allowance tier): the expiring-assessments list's rule."""
    today = clock.today()
    months = eligibility_rules().assessment_valid_months
    return (
        Elder.status.in_(("approved", "pending"))
        & (Elder.assessed_on >= earliest_assessment_valid_on(today, months))
        & (Elder.assessed_on < earliest_assessment_valid_on(today + timedelta(days=within_days + 1), months))
        & or_(
            Elder.disability_allowance_tier.is_(None),
            Elder.disability_allowance_tier.not_in(sorted(EXEMPTING_ALLOWANCE_TIERS)),
            Elder.assessed_on >= NEW_ASSESSMENTS_FROM,
        )
    )


def _filtered(query: Select, filters: ElderFilters) -> Select:
    text = (filters.text or "").strip()
    if text:
        query = query.where(_text_condition(text))
    if filters.level:
        query = query.where(Elder.disability_level == filters.level)
    if filters.reason:
        # The stored verdict's reason codes (a JSON list, refreshed daily), matched as text.
        query = query.where(cast(Elder.ineligible_reasons, String).like(f'%"{filters.reason}"%'))
    if filters.expiring_within:
        query = query.where(expiring_condition(filters.expiring_within))
    return query


def search_elders(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    filters: ElderFilters,
    limit: int,
    offset: int,
) -> tuple[list[Elder], int]:
    """One page of the district's elders matching ``filters``, oldest application first, and
    how many match in all."""
    query = select(Elder)
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(Elder.district_code == district_code)
    if filters.status:
        query = query.where(Elder.status == filters.status)
    query = _filtered(query, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Elder.created_at, Elder.id).limit(limit).offset(offset))
    return list(rows), int(total or 0)


def status_counts(
    session: Session, caller: Principal, *, district_code: str | None, filters: ElderFilters
) -> dict[str, int]:
    """How many elders match ``filters`` (its status aside) in each status: the tabs' counts."""
    query = select(Elder.status, func.count()).group_by(Elder.status)
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(Elder.district_code == district_code)
    query = _filtered(query, filters)
    return {status: int(count) for status, count in session.execute(query)}
