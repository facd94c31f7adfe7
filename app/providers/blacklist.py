"""The city-wide blacklist (失信联合惩戒) as the provider registry sees it: an organisation on it
is neither registered nor listed again. Sanctions write the list; providers read it here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import lock_for_transaction
from app.models.sanctions import BlacklistEntry
from app.providers.errors import ProviderBlacklisted
from app.rules.months import BEIJING


def lock_credit_code(session: Session, credit_code: str) -> None:
    """Registering, re-listing and blacklisting one organisation run one after the other, so that
    a registration cannot slip past a blacklisting committed at the same moment."""
    lock_for_transaction(session, f"credit-code:{credit_code}")


def active_entry(session: Session, credit_code: str) -> BlacklistEntry | None:
    return session.scalar(
        select(BlacklistEntry).where(
            BlacklistEntry.credit_code == credit_code, BlacklistEntry.lifted_at.is_(None)
        )
    )


def ensure_not_blacklisted(session: Session, credit_code: str, *, registering: bool = True) -> None:
    """Refuse a registration or a return to the list of a blacklisted organisation (any
    district: the joint punishment binds the whole city).

    A registration has no row to lock yet, so it takes the organisation's lock, which a
    blacklisting holds. A return to the list needs no more than the provider's row lock (the
    status route holds it): a blacklisting locks every registration before disqualifying it,
    so it either sees the re-listed row or is seen by the check; taking the organisation's lock
    after a row lock would invert the blacklisting's order and risk a deadlock."""
    if registering:
        lock_credit_code(session, credit_code)
    entry = active_entry(session, credit_code)
    if entry is not None:
        listed_on = entry.listed_at.astimezone(BEIJING).date()
        raise ProviderBlacklisted(
            f"统一社会信用代码 {credit_code} 已于 {listed_on} 由行政区 {entry.district_code} "
            "纳入失信联合惩戒对象名单,不得登记或纳入补贴服务名单"
        )
