"""The provider registry: registration (by the rules of app/rules/listing.py), the listing status
and its history, API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

import app.providers.errors  # noqa: F401  (registers the errors this module\'s refusals name)
from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.auth.security import hash_secret, new_secret
from app.errors import NotFound, error_for
from app.ids import parse_id
from app.models.providers import Provider, ProviderStatusChange
from app.providers.blacklist import active_blacklisting, lock_credit_code
from app.providers.errors import InvalidCreditCode, ProviderExists
from app.providers.schemas import ProviderKind
from app.reference.service import ensure_district
from app.rules.identity import normalise_credit_code
from app.rules.listing import (
    ASSESSMENT_AGENCY,
    ListingStatus,
    Registration,
    RegistrationFacts,
    registration_refusal,
    status_change_refusal,
)


def get_visible_provider(
    session: Session, caller: Principal, provider_id: str, *, for_update: bool = False
) -> Provider:
    """The provider, if the caller may see it; unknown and out-of-scope both answer 404.
    ``for_update`` locks the row so that concurrent status changes run one after the other."""
    parsed = parse_id(provider_id)
    provider = session.get(Provider, parsed, with_for_update=for_update) if parsed else None
    if provider is None:
        raise NotFound("未找到该服务机构")
    if caller.provider_id is not None:
        if provider.id != caller.provider_id:
            raise NotFound("未找到该服务机构")
    elif not caller.sees_district(provider.district_code):
        raise NotFound("未找到该服务机构")
    return provider


def _record_status(
    session: Session,
    provider: Provider,
    *,
    from_status: str | None,
    reason: str,
    actor: str,
) -> None:
    session.add(
        ProviderStatusChange(
            provider_id=provider.id,
            district_code=provider.district_code,
            from_status=from_status,
            to_status=provider.status,
            reason=reason,
            changed_by=actor,
            changed_at=clock.now(),
        )
    )


def create_provider(
    session: Session,
    caller: Principal,
    *,
    name: str,
    kind: ProviderKind,
    district_code: str,
    credit_code: str,
    parent_id: str | None,
    api_key: str | None = None,
) -> tuple[Provider, str]:
    """Register and list a provider; returns it with its API key (shown once)."""
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    normalised = normalise_credit_code(credit_code)
    if normalised is None:
        raise InvalidCreditCode("统一社会信用代码应为18位且校验码正确")
    # Held to the end of the transaction: two registrations of one code in two districts, or a
    # registration and a blacklisting, cannot both pass the rules below.
    lock_credit_code(session, normalised)
    parent = _named_parent(session, parent_id)
    facts = RegistrationFacts(
        credit_code=normalised,
        kind=kind.value,
        district_code=district_code,
        blacklisting=active_blacklisting(session, normalised),
        registrations=_registrations_of(session, normalised),
        parent_id_given=parent_id is not None,
        parent=Registration(parent.kind, parent.district_code) if parent is not None else None,
    )
    if refusal := registration_refusal(facts):
        raise error_for(refusal)
    api_key = api_key or new_secret("pk")
    provider = Provider(
        id=uuid.uuid4(),
        district_code=district_code,
        name=name,
        kind=kind.value,
        credit_code=normalised,
        parent_id=parent.id if parent is not None else None,
        status=ListingStatus.LISTED.value,
        api_key_hash=hash_secret(api_key),
        created_at=clock.now(),
        created_by=caller.actor,
    )
    _insert(session, provider)
    _record_status(session, provider, from_status=None, reason="登记纳入", actor=caller.actor)
    session.flush()
    return provider, api_key


def _insert(session: Session, provider: Provider) -> None:
    try:
        # The unique (district_code, credit_code) constraint closes the race of two
        # registrations of one organisation; the savepoint keeps the request's transaction usable.
        with session.begin_nested():
            session.add(provider)
            session.flush()
    except IntegrityError:
        raise ProviderExists(f"统一社会信用代码 {provider.credit_code} 已在本区登记") from None


def _named_parent(session: Session, parent_id: str | None) -> Provider | None:
    parsed = parse_id(parent_id) if parent_id is not None else None
    return session.get(Provider, parsed) if parsed else None


def _registrations_of(session: Session, credit_code: str) -> tuple[Registration, ...]:
    return tuple(
        Registration(row.kind, row.district_code)
        for row in session.execute(
            select(Provider.kind, Provider.district_code).where(Provider.credit_code == credit_code)
        )
    )


@dataclass(frozen=True)
class AgencyConflict:
    credit_code: str
    registrations: list[Provider]


def assessment_agency_conflicts(session: Session) -> list[AgencyConflict]:
    """Organisations registered both as an assessment agency and as a care provider (registered
    before the rule was enforced): the city admin's worklist. One query."""
    agency = aliased(Provider)
    care = aliased(Provider)
    conflicted = (
        select(agency.credit_code)
        .join(care, and_(care.credit_code == agency.credit_code, care.kind != ASSESSMENT_AGENCY))
        .where(agency.kind == ASSESSMENT_AGENCY)
        .distinct()
    )
    rows = session.scalars(
        select(Provider)
        .where(Provider.credit_code.in_(conflicted))
        .order_by(Provider.credit_code, Provider.district_code, Provider.kind, Provider.id)
    )
    grouped: dict[str, list[Provider]] = {}
    for provider in rows:
        grouped.setdefault(provider.credit_code, []).append(provider)
    return [AgencyConflict(code, providers) for code, providers in grouped.items()]


def change_status(
    session: Session,
    caller: Principal,
    provider: Provider,
    *,
    status: ListingStatus,
    reason: str,
) -> Provider:
    """Change the listing status (the caller holds the provider's row lock), recorded in the
    listing history. Every status change of a provider, a sanction's too, goes through here."""
    current = ListingStatus(provider.status)
    refusal = status_change_refusal(
        current,
        status,
        credit_code=provider.credit_code,
        blacklisting=active_blacklisting(session, provider.credit_code),
    )
    if refusal:
        raise error_for(refusal)
    provider.status = status.value
    _record_status(session, provider, from_status=current.value, reason=reason, actor=caller.actor)
    session.flush()
    return provider


def rotate_api_key(session: Session, provider: Provider) -> str:
    api_key = new_secret("pk")
    provider.api_key_hash = hash_secret(api_key)
    session.flush()
    return api_key


def list_providers(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    status: ListingStatus | None,
    kind: ProviderKind | None,
) -> list[Provider]:
    query = select(Provider).order_by(Provider.district_code, Provider.name, Provider.id)
    if caller.provider_id is not None:
        query = query.where(Provider.id == caller.provider_id)
        if district_code is not None:
            query = query.where(Provider.district_code == district_code)
    else:
        district_code = district_filter(caller, district_code)
        if district_code is not None:
            query = query.where(Provider.district_code == district_code)
    if status is not None:
        query = query.where(Provider.status == status.value)
    if kind is not None:
        query = query.where(Provider.kind == kind.value)
    return list(session.scalars(query))


def status_history(session: Session, provider: Provider) -> list[ProviderStatusChange]:
    return list(
        session.scalars(
            select(ProviderStatusChange)
            .where(ProviderStatusChange.provider_id == provider.id)
            .order_by(ProviderStatusChange.id)
        )
    )


def _search_conditions(district_code: str, kind: str | None, text: str | None) -> list:
    """A district's providers, optionally of one kind, whose name holds ``text`` or whose credit
    code is ``text`` (normalised) or starts with it."""
    where = [Provider.district_code == district_code]
    if kind is not None:
        where.append(Provider.kind == kind)
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        code = normalise_credit_code(text) or escaped.upper()
        where.append(
            or_(
                Provider.name.like(f"%{escaped}%", escape="\\"),
                Provider.credit_code.like(f"{code}%", escape="\\"),
            )
        )
    return where


def search_providers(
    session: Session,
    district_code: str,
    *,
    status: str | None,
    kind: str | None,
    text: str | None,
    limit: int | None,
    offset: int = 0,
) -> tuple[list[Provider], int, dict[str, int]]:
    """One page of a district's providers by name (the dashboard's list and its exports, which
    check the district first), the number matching, and the count by listing status of those
    matching everything but the status."""
    where = _search_conditions(district_code, kind, text)
    counts = dict(
        session.execute(select(Provider.status, func.count()).where(*where).group_by(Provider.status)).all()
    )
    if status is not None:
        where.append(Provider.status == status)
    total = sum(counts.values()) if status is None else counts.get(status, 0)
    query = select(Provider).where(*where).order_by(Provider.name, Provider.id).offset(offset)
    rows = list(session.scalars(query if limit is None else query.limit(limit)))
    return rows, int(total), {k: int(v) for k, v in counts.items()}
