"""The city-wide blacklist (失信联合惩戒) as the provider registry sees it: an organisation on it
is neither registered nor listed again (app/rules/listing.py). Sanctions write the list;
providers read it here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import lock_for_transaction
from app.models.sanctions import BlacklistEntry
from app.rules.listing import ActiveBlacklisting
from app.rules.months import BEIJING


def lock_credit_code(session: Session, credit_code: str) -> None:
    """Registering and blacklisting one organisation run one after the other, so that a
    registration cannot slip past a blacklisting committed at the same moment.

    A return to the list needs no more than the provider's row lock (the status route holds
    it): a blacklisting locks every registration before disqualifying it, so it either sees the
    re-listed row or is seen by the re-listing; taking this lock after a row lock would invert
    the blacklisting's order and risk a deadlock."""
    lock_for_transaction(session, f"credit-code:{credit_code}")


def active_entry(session: Session, credit_code: str) -> BlacklistEntry | None:
    return session.scalar(
        select(BlacklistEntry).where(
            BlacklistEntry.credit_code == credit_code, BlacklistEntry.lifted_at.is_(None)
        )
    )


def active_blacklisting(session: Session, credit_code: str) -> ActiveBlacklisting | None:
    """The organisation's entry not lifted yet, as the registration rules need it."""
    entry = active_entry(session, credit_code)
    if entry is None:
        return None
    return ActiveBlacklisting(entry.listed_at.astimezone(BEIJING).date(), entry.district_code)
