"""The blacklist (失信联合惩戒, 四(三)): an organisation, by its unified social credit code, put on
it by a district, which disqualifies every registration of it in every district; lifted (信用修复)
by city admins only, the entry staying as history.

The rules are in ``app.rules.sanctions`` (``decide_blacklisting``, ``lift_refusal``); the
registry refuses a blacklisted organisation through ``app.providers.blacklist``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import app.sanctions.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.errors import NotFound, error_for
from app.ids import parse_id
from app.models.providers import Provider
from app.models.sanctions import BlacklistEntry
from app.providers import service as providers
from app.providers.blacklist import active_entry, lock_credit_code
from app.rules.identity import normalise_credit_code
from app.rules.listing import ListingStatus
from app.rules.refusals import Refusal
from app.rules.sanctions import (
    BlacklistingFacts,
    RegistrationStatus,
    already_blacklisted,
    decide_blacklisting,
    lift_refusal,
)
from app.sanctions.lookups import own_credit_code, provider_rows
from app.sanctions.schemas import BlacklistOut


def blacklist(
    session: Session, caller: Principal, provider: Provider, *, reason: str, legal_basis: str
) -> BlacklistEntry:
    """Put the provider's organisation on the blacklist and disqualify every registration of it
    (in every district) that is not disqualified yet, each through the listing history."""
    credit_code = provider.credit_code
    lock_credit_code(session, credit_code)
    registrations = _registrations_locked(session, credit_code)
    facts = BlacklistingFacts(
        credit_code=credit_code,
        deciding_provider_id=provider.id,
        deciding_district=provider.district_code,
        already_blacklisted=active_entry(session, credit_code) is not None,
        registrations=tuple(
            RegistrationStatus(r.id, r.district_code, ListingStatus(r.status)) for r in registrations.values()
        ),
    )
    decision = decide_blacklisting(facts, reason=reason)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    for disqualification in decision.disqualifications:
        providers.change_status(
            session,
            caller,
            registrations[disqualification.provider_id],
            status=ListingStatus.DISQUALIFIED,
            reason=disqualification.listing_reason,
        )
    entry = BlacklistEntry(
        id=uuid.uuid4(),
        credit_code=credit_code,
        provider_id=provider.id,
        district_code=provider.district_code,
        reason=reason,
        legal_basis=legal_basis,
        listed_at=clock.now(),
        listed_by=caller.actor,
    )
    try:
        # One active entry per code (a partial unique index): the savepoint keeps the request's
        # transaction usable when a concurrent blacklisting won.
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        raise error_for(already_blacklisted(credit_code)) from None
    return entry


def _registrations_locked(session: Session, credit_code: str) -> dict[uuid.UUID, Provider]:
    """Every registration of the organisation, row-locked, in a fixed order (no deadlock)."""
    return {
        registration.id: registration
        for registration in session.scalars(
            select(Provider)
            .where(Provider.credit_code == credit_code)
            .order_by(Provider.district_code, Provider.id)
            .with_for_update()
        )
    }


def lift_blacklist(
    session: Session, caller: Principal, entry: BlacklistEntry, *, reason: str
) -> BlacklistEntry:
    """Lift an entry (信用修复, city admins only): the entry stays, with who lifted it, when and
    why. No registration is re-listed: disqualification is final; the organisation may register
    again."""
    if refusal := lift_refusal(entry.lifted_at):
        raise error_for(refusal)
    entry.lifted_at = clock.now()
    entry.lifted_by = caller.actor
    entry.lift_reason = reason
    session.flush()
    return entry


def get_visible_blacklist_entry(
    session: Session, caller: Principal, entry_id: str, *, for_update: bool = False
) -> BlacklistEntry:
    """All staff read the whole blacklist (it binds every district); a provider only the entries
    on its own credit code. Anything else is 404."""
    parsed = parse_id(entry_id)
    entry = session.get(BlacklistEntry, parsed, with_for_update=for_update) if parsed else None
    if entry is None or (
        caller.provider_id is not None and entry.credit_code != own_credit_code(session, caller)
    ):
        raise NotFound("未找到该失信联合惩戒记录")
    return entry


def list_blacklist(
    session: Session,
    caller: Principal,
    *,
    credit_code: str | None,
    district_code: str | None,
    active: bool | None,
) -> list[BlacklistEntry]:
    query = select(BlacklistEntry).order_by(BlacklistEntry.listed_at.desc(), BlacklistEntry.id)
    if caller.provider_id is not None:
        query = query.where(BlacklistEntry.credit_code == own_credit_code(session, caller))
    if credit_code is not None:
        # Not a valid code: nothing is stored under it (and no stray byte reaches the database).
        code = normalise_credit_code(credit_code)
        query = query.where(BlacklistEntry.credit_code == code if code else false())
    if district_code is not None:
        query = query.where(BlacklistEntry.district_code == district_code)
    if active is not None:
        query = query.where(
            BlacklistEntry.lifted_at.is_(None) if active else BlacklistEntry.lifted_at.is_not(None)
        )
    return list(session.scalars(query))


def blacklist_responses(session: Session, entries: list[BlacklistEntry]) -> list[BlacklistOut]:
    """The entries as the API shows them, with the name of the registration found at fault."""
    rows = provider_rows(session, {entry.provider_id for entry in entries})
    return [BlacklistOut.of(entry, rows[entry.provider_id].name) for entry in entries]


def active_entries_of(session: Session, credit_codes: set[str]) -> dict[str, BlacklistEntry]:
    """The active entry of each of these organisations that has one (one query; the dashboard's
    providers page)."""
    if not credit_codes:
        return {}
    return {
        entry.credit_code: entry
        for entry in session.scalars(
            select(BlacklistEntry).where(
                BlacklistEntry.credit_code.in_(sorted(credit_codes)), BlacklistEntry.lifted_at.is_(None)
            )
        )
    }
