"""The redemption's reads and writes on a SQLAlchemy session: the path SQLite takes (the embedded
default), and every in-process caller (the demo loader). PostgreSQL under the web server takes
app/redemptions/pg.py, which does the same in one round trip for the facts and one for the write.

Order inside the transaction: claim the key, read the facts (the voucher row locked on
PostgreSQL; SQLite holds its write lock from BEGIN IMMEDIATE), decide, write everything, store
the response on the key.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, aliased

from app.config import anomaly_thresholds as thresholds
from app.db import dialect_insert
from app.models.anomalies import Anomaly
from app.models.assessments import Assessment
from app.models.elders import Elder, ElderEnrolment, ElderStatusChange
from app.models.ledger import JournalEntry, JournalLine
from app.models.providers import Provider
from app.models.redemptions import IdempotencyKey, Redemption
from app.models.vouchers import Voucher
from app.redemptions.plan import RedeemCall, WritePlan
from app.reference.service import reference_data, terms_for
from app.rules.entitlement import due_at_month_start
from app.rules.months import Month
from app.rules.policy import Category
from app.rules.redemption import (
    ElderFacts,
    Enrolment,
    ProviderFacts,
    RedemptionFacts,
    VoucherFacts,
    voucher_kind_for,
)
from app.vouchers import entitlement


def claim_key(session: Session, call: RedeemCall, now: datetime) -> bool:
    """Claim the provider's key first: a concurrent request with the same key waits on the
    unique index (PostgreSQL) until this transaction ends, then finds it taken."""
    return (
        session.execute(
            dialect_insert(session)(IdempotencyKey)
            .values(
                provider_id=call.provider_id,
                key=call.key,
                request_hash=call.request_hash,
                response_status=0,
                response_body={},
                month=Month.containing(now).first_day,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        ).first()
        is not None
    )


def stored_response(session: Session, call: RedeemCall):
    """(request hash, status, body) stored on the key, or None."""
    return session.execute(
        select(
            IdempotencyKey.request_hash, IdempotencyKey.response_status, IdempotencyKey.response_body
        ).where(IdempotencyKey.provider_id == call.provider_id, IdempotencyKey.key == call.key)
    ).first()


def load_facts(session: Session, call: RedeemCall, now: datetime) -> RedemptionFacts:
    snapshot = reference_data(session)
    entry = snapshot.catalogue.get(call.request.item)
    category = Category(entry.category) if entry else None
    elder = _elder(session, call.elder_id) if call.elder_id else None
    voucher = None
    if elder is not None and category is not None:
        voucher = _voucher(session, elder, voucher_kind_for(category), now)
    return RedemptionFacts(
        provider=_provider(session, call.provider_id),
        elder=elder,
        category=category,
        ref_price_max_fen=entry.ref_price_max_fen if entry else None,
        enrolments=_enrolments(session, call.elder_id, call.provider_id) if elder else (),
        voucher=voucher,
        rate=terms_for(snapshot, Month.of(voucher.month)).rate_for(category) if voucher else None,
        valid_months=entitlement.valid_months(),
        thresholds=thresholds(),
    )


def _provider(session: Session, provider_id: uuid.UUID) -> ProviderFacts | None:
    agency = aliased(Provider)
    agency_organisation = (
        select(agency.id)
        .where(agency.credit_code == Provider.credit_code, agency.kind == "assessment_agency")
        .exists()
    )
    row = session.execute(
        select(Provider.kind, Provider.status, agency_organisation).where(Provider.id == provider_id)
    ).first()
    return ProviderFacts(str(provider_id), row[0], row[1], bool(row[2])) if row else None


def _elder(session: Session, elder_id: uuid.UUID) -> ElderFacts | None:
    row = session.execute(select(*entitlement.ENTITLEMENT_COLUMNS).where(Elder.id == elder_id)).first()
    if row is None:
        return None
    suspension = None
    if row.status == "suspended":  # rare: only then the latest status change
        latest = session.execute(
            select(ElderStatusChange.id, ElderStatusChange.changed_at, ElderStatusChange.reason)
            .where(ElderStatusChange.elder_id == elder_id)
            .order_by(ElderStatusChange.changed_at.desc(), ElderStatusChange.id.desc())
            .limit(1)
        ).first()
        suspension = tuple(latest) if latest else None
    return ElderFacts(str(row.id), row.district_code, entitlement.facts_of(row), row.died_on, suspension)


def _enrolments(session: Session, elder_id: uuid.UUID, provider_id: uuid.UUID) -> tuple[Enrolment, ...]:
    """The elder's enrolments with this provider: only those can make an item not redeemable."""
    rows = session.execute(
        select(ElderEnrolment.kind, ElderEnrolment.starts_on, ElderEnrolment.ends_on).where(
            ElderEnrolment.elder_id == elder_id, ElderEnrolment.provider_id == provider_id
        )
    )
    return tuple(Enrolment(r.kind, str(provider_id), r.starts_on, r.ends_on) for r in rows)


def _voucher(session: Session, elder: ElderFacts, kind: str, now: datetime) -> VoucherFacts | None:
    month = Month.containing(now)
    query = (
        select(
            Voucher.id,
            Voucher.status,
            Voucher.balance_fen,
            Voucher.face_value_fen,
            Voucher.valid_from,
            Voucher.valid_until,
            Assessment.agency_id,
            Assessment.assessed_on,
        )
        .outerjoin(Assessment, Assessment.id == Voucher.assessment_id)
        .where(
            Voucher.elder_id == uuid.UUID(elder.id), Voucher.month == month.first_day, Voucher.kind == kind
        )
        .with_for_update(of=Voucher)
    )
    row = session.execute(query).first()
    if row is not None:
        return VoucherFacts(
            id=str(row.id),
            month=month.first_day,
            status=row.status,
            balance_fen=row.balance_fen,
            face_value_fen=row.face_value_fen,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            assessment_agency_id=str(row.agency_id) if row.agency_id else None,
            assessed_on=row.assessed_on,
        )
    return prospective_voucher(session, elder, kind, month)


def prospective_voucher(session: Session, elder: ElderFacts, kind: str, month: Month) -> VoucherFacts | None:
    """The monthly voucher the month-start job would issue the elder, when it has not run yet."""
    snapshot = reference_data(session)
    if kind != "monthly" or not snapshot.program.includes(month):
        return None
    if not due_at_month_start(elder.entitlement, month, valid_months=entitlement.valid_months()):
        return None
    face_value = terms_for(snapshot, month).monthly_cap_fen
    return VoucherFacts(
        None, month.first_day, "active", face_value, face_value, month.starts_at(), month.ends_at()
    )


def apply(session: Session, call: RedeemCall, plan: WritePlan, *, now: datetime) -> bool:
    """Write every effect of the plan and the response on the key. False, with nothing written,
    when the voucher is no longer as read (a concurrent first redemption issued it): the caller
    reads the facts again."""
    if plan.voucher_insert is not None:
        inserted = session.execute(
            dialect_insert(session)(Voucher)
            .values(plan.voucher_insert)
            .on_conflict_do_nothing(index_elements=["elder_id", "month", "kind"])
            .returning(Voucher.id)
        ).first()
        if inserted is None:
            return False
    if plan.voucher_debit is not None:
        voucher_id, deduction = plan.voucher_debit
        # Guarded: even without the row lock the balance could not go below zero.
        debited = session.execute(
            update(Voucher)
            .where(
                Voucher.id == voucher_id,
                Voucher.status == "active",
                Voucher.balance_fen == plan.balance_read_fen,
                Voucher.balance_fen >= deduction,
            )
            .values(balance_fen=Voucher.balance_fen - deduction)
            .returning(Voucher.id)
        ).first()
        if debited is None:
            return False
    if plan.redemption is not None:
        session.execute(insert(Redemption).values(plan.redemption))
        for entry in plan.entries:
            _post(session, entry, plan.redemption, call.actor, now)
        if plan.anomalies:
            session.execute(dialect_insert(session)(Anomaly).values(plan.anomalies).on_conflict_do_nothing())
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.provider_id == call.provider_id, IdempotencyKey.key == call.key)
        .values(response_status=plan.status, response_body=plan.response)
    )
    return True


def _post(session: Session, entry, redemption: dict, actor: str, now: datetime) -> None:
    entry_id = session.execute(
        insert(JournalEntry)
        .values(
            kind=entry.kind,
            district_code=redemption["district_code"],
            month=redemption["month"],
            redemption_id=redemption["id"] if entry.kind == "redeem" else None,
            created_at=now,
            created_by=actor,
        )
        .returning(JournalEntry.id)
    ).scalar_one()
    session.execute(
        insert(JournalLine).values(
            [
                {
                    "entry_id": entry_id,
                    "district_code": redemption["district_code"],
                    "account": line.account,
                    "voucher_id": line.voucher_id,
                    "provider_id": line.provider_id,
                    "amount_fen": line.amount_fen,
                }
                for line in entry.lines
            ]
        )
    )
