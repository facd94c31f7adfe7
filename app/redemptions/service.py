"""Point of service: redemption, reversal, POS lookup, listing.

A redemption is facts -> one pure decision (app/rules/redemption.decide) -> one write, in one
short transaction that starts by claiming the idempotency key. This module holds the steps both
stores share; app/redemptions/store.py reads and writes on a SQLAlchemy session (SQLite, and
in-process callers), app/redemptions/pg.py on asyncpg under the web server (PostgreSQL).
A refusal writes nothing but the key's stored response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import anyio
import asyncpg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.auth import terminals
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.config import anomaly_thresholds as thresholds
from app.config import get_settings
from app.db import session_scope
from app.elders.errors import ElderNotFound
from app.elders.service import find_by_id_number
from app.errors import InvalidToken, error_for
from app.ids import parse_id
from app.models.redemptions import Redemption
from app.redemptions import pg, store
from app.redemptions.errors import IdempotencyKeyReused
from app.redemptions.plan import RedeemCall, WritePlan, accepted_plan, call_of, redemption_body, refusal_plan
from app.redemptions.schemas import RedemptionCreate, pos_lookup_body
from app.reference.service import ReferenceSnapshot, reference_data, reference_data_of
from app.rules.months import Month
from app.rules.policy import Category
from app.rules.redemption import RedemptionFacts, Refusal, decide, voucher_kind_for
from app.vouchers import entitlement
from app.vouchers import service as vouchers

# The AppError of each refusal code the rules return (its status and Chinese title).
# A concurrent first redemption issued the month's voucher between the read and the write: read
# again (it is then found, locked, like any voucher). Bounded, it cannot recur once issued.
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


def problem_of(refusal: Refusal) -> dict:
    error = error_for(refusal)
    return error.problem()


def plan_for(facts: RedemptionFacts, call: RedeemCall, now: datetime) -> WritePlan:
    """Facts -> the decision -> what to write (no database)."""
    decision = decide(facts, call.request, now)
    if isinstance(decision, Refusal):
        return refusal_plan(decision, problem_of(decision))
    return accepted_plan(
        decision, call, district_code=facts.elder.district_code, elder_id=uuid.UUID(facts.elder.id), now=now
    )


def replay_of(stored, call: RedeemCall) -> Outcome:
    """The answer stored on a key already used: the same again, or IDEMPOTENCY_KEY_REUSED."""
    request_hash, status, body = stored
    if request_hash != call.request_hash:
        raise IdempotencyKeyReused("该 Idempotency-Key 已用于内容不同的请求")
    return Outcome(status, body, replayed=True)


def redeem(session: Session, caller: Principal, *, key: str, body: RedemptionCreate) -> Outcome:
    """POST /redemptions on a SQLAlchemy session (SQLite, in-process callers): claim the key,
    read the facts, decide, write, all in the caller's transaction."""
    call = call_of(body, provider_id=caller.provider_id, actor=caller.actor, key=key)
    now = clock.now()
    if not store.claim_key(session, call, now):
        # Used before, or by a concurrent request that committed first (PostgreSQL made the
        # claim wait for it): answer as that request was answered.
        return replay_of(store.stored_response(session, call), call)
    for _attempt in range(WRITE_ATTEMPTS):
        plan = plan_for(store.load_facts(session, call, now), call, now)
        if store.apply(session, call, plan, now=now):
            return Outcome(plan.status, plan.response, replayed=False)
    raise RuntimeError("the voucher kept changing between read and write")  # pragma: no cover


def redeem_in_session(caller: Principal, *, key: str, body: RedemptionCreate) -> Outcome:
    """:func:`redeem` in a transaction of its own (the SQLite web path, on a worker thread)."""
    with session_scope() as session:
        return redeem(session, caller, key=key, body=body)


def _reference() -> ReferenceSnapshot:
    with session_scope(write=False) as session:
        return reference_data(session)


async def reference_snapshot() -> ReferenceSnapshot:
    """The reference data for the async path: from the process's memory, read once."""
    return reference_data_of(get_settings().database_url) or await anyio.to_thread.run_sync(_reference)


def pos_lookup_in_session(caller: Principal, id_number: str) -> dict:
    with session_scope() as session:
        return pos_lookup(session, caller, id_number)


async def redeem_on_postgres(
    pool: asyncpg.Pool, caller: Principal, *, key: str, body: RedemptionCreate, token_hash: str
) -> Outcome:
    """POST /redemptions on PostgreSQL (app/redemptions/pg.py): the facts in one read-only
    statement, the decision, the effects in one statement; if the voucher changed in between,
    once more under its row lock."""
    call = call_of(body, provider_id=caller.provider_id, actor=caller.actor, key=key)
    now = await clock.now_async()
    snapshot = await reference_snapshot()
    entry = snapshot.catalogue.get(body.item)
    kind = voucher_kind_for(Category(entry.category)) if entry else "monthly"
    settings = dict(now=now, snapshot=snapshot, token_hash=token_hash, kind=kind)
    async with pool.acquire() as connection:
        try:
            outcome = await _settle(connection, call, locked=False, **settings)
            if outcome is None:
                async with connection.transaction():
                    outcome = await _settle(connection, call, locked=True, **settings)
        except asyncpg.UniqueViolationError as conflict:
            if conflict.constraint_name != pg.KEY_CONSTRAINT:
                raise
            # The key was used meanwhile (its primary key refused this write): answer as it was.
            outcome = replay_of(tuple(await pg.stored(connection, call)), call)
    if outcome is None:  # pragma: no cover - under the row lock the voucher cannot change
        raise RuntimeError("the voucher changed under its row lock")
    return outcome


async def _settle(connection, call: RedeemCall, *, locked: bool, now, snapshot, token_hash: str, kind: str):
    """One read, the decision, one write; None when the voucher was not as read."""
    row = await pg.read_facts(connection, call, now, token_hash=token_hash, kind=kind, locked=locked)
    if row["request_hash"] is not None:
        return replay_of((row["request_hash"], row["response_status"], row["response_body"]), call)
    if row["provider_kind"] is None:
        terminals.forget(token_hash)  # a rotated key (or a provider gone): refused from now on
        raise InvalidToken()
    plan = plan_for(pg.facts_from(row, call, now, snapshot, thresholds()), call, now)
    if not await pg.write(connection, call, plan, now):
        return None
    return Outcome(plan.status, plan.response, replayed=False)


def redemption_out(redemption: Redemption, *, voucher_balance_fen: int | None = None) -> dict:
    return redemption_body(
        {c.key: getattr(redemption, c.key) for c in Redemption.__table__.columns},
        voucher_balance_fen=voucher_balance_fen,
    )


def list_redemptions(
    session: Session,
    caller: Principal,
    *,
    month: Month | None,
    provider_id: str | None,
    elder_id: str | None,
    district_code: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Redemption], int]:
    query = select(Redemption)
    if caller.provider_id is not None:
        query = query.where(Redemption.provider_id == caller.provider_id)
    else:
        district_code = district_filter(caller, district_code)
        if district_code is not None:
            query = query.where(Redemption.district_code == district_code)
    for value, column in (
        (provider_id, Redemption.provider_id),
        (elder_id, Redemption.elder_id),
    ):
        if value is not None:
            parsed = parse_id(value)
            if parsed is None:
                return [], 0
            query = query.where(column == parsed)
    if month is not None:
        query = query.where(Redemption.month == month.first_day)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Redemption.created_at, Redemption.id).limit(limit).offset(offset))
    return list(rows), int(total or 0)


def pos_lookup(session: Session, caller: Principal, id_number: str) -> dict:
    """What the terminal shows before a service: whether the elder is entitled this month, why
    not, and the voucher valid now (issued here if the month-start job has not reached the elder
    yet, so that the 1st's first minute is no gap)."""
    elder = find_by_id_number(session, id_number)
    if elder is None:
        raise ElderNotFound("未找到该身份证号码对应的老年人")
    now = clock.now()
    refusal = entitlement.refusal_now(elder, now)
    voucher = None
    if refusal is None:
        voucher = vouchers.valid_voucher(session, elder.id, now)
        if voucher is None and vouchers.issue_on_demand(session, elder, now, actor=caller.actor):
            voucher = vouchers.valid_voucher(session, elder.id, now)
    voucher_body = vouchers.voucher_out(voucher, now) if voucher is not None else None
    return pos_lookup_body(str(elder.id), elder.name, refusal, voucher_body)
