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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.elders import entitlement
from app.elders.service import find_by_id_number
from app.errors import (
    AlreadyReversed,
    AppError,
    ElderNotEligible,
    ElderNotFound,
    IdempotencyKeyReused,
    IdNotChecked,
    InSettlement,
    InvalidAmount,
    ItemNotAllowed,
    MonthClosed,
    NoActiveVoucher,
    NotFound,
    NotRedeemable,
    ProviderNotListed,
    ServedAtOutOfRange,
    UnknownItem,
    VoucherClosed,
    VoucherExhausted,
)
from app.ids import parse_id
from app.ledger import service as ledger
from app.redemptions import store
from app.redemptions.models import Redemption
from app.redemptions.plan import RedeemCall, WritePlan, accepted_plan, call_of, redemption_body, refusal_plan
from app.redemptions.schemas import RedemptionCreate
from app.rules.entitlement import REFUSAL_TITLES
from app.rules.identity import mask_name
from app.rules.ledger import reverse_lines
from app.rules.months import Month
from app.rules.redemption import RedemptionFacts, Refusal, decide
from app.settlements import service as settlements
from app.vouchers import service as vouchers
from app.vouchers.models import Voucher

# The AppError of each refusal code the rules return (its status and Chinese title).
REFUSALS: dict[str, type[AppError]] = {
    error.code: error
    for error in (
        ProviderNotListed,
        ElderNotFound,
        IdNotChecked,
        InvalidAmount,
        UnknownItem,
        ItemNotAllowed,
        NotRedeemable,
        ElderNotEligible,
        NoActiveVoucher,
        ServedAtOutOfRange,
        VoucherExhausted,
    )
}
# A concurrent first redemption issued the month's voucher between the read and the write: read
# again (it is then found, locked, like any voucher). Bounded, it cannot recur once issued.
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


def problem_of(refusal: Refusal) -> dict:
    error = REFUSALS[refusal.code](refusal.detail, **dict(refusal.extra))
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


def redemption_out(redemption: Redemption, *, voucher_balance_fen: int | None = None) -> dict:
    return redemption_body(
        {c.key: getattr(redemption, c.key) for c in Redemption.__table__.columns},
        voucher_balance_fen=voucher_balance_fen,
    )


def redemptions_by_ids(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Redemption]:
    """Redemptions by id, in one query (the ones a warning, a finding or a page names)."""
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(Redemption).where(Redemption.id.in_(ids)))}


def get_visible_redemption(session: Session, caller: Principal, redemption_id: str) -> Redemption:
    parsed = parse_id(redemption_id)
    redemption = session.get(Redemption, parsed) if parsed else None
    if redemption is None:
        raise NotFound("未找到该笔核销")
    if caller.provider_id is not None:
        if redemption.provider_id != caller.provider_id:
            raise NotFound("未找到该笔核销")
    elif not caller.sees_district(redemption.district_code):
        raise NotFound("未找到该笔核销")
    return redemption


def reverse(session: Session, caller: Principal, redemption: Redemption) -> dict:
    """Undo a redemption within its month, exactly once, through a new journal entry."""
    now = clock.now()
    voucher = session.scalars(
        select(Voucher).where(Voucher.id == redemption.voucher_id).with_for_update()
    ).one()
    if redemption.status == "reversed":
        raise AlreadyReversed()
    if settlements.in_settlement(session, redemption.id):
        raise InSettlement()
    if now >= voucher.valid_until:
        raise MonthClosed("消费券所属月份已结束,不能撤销")
    if voucher.status != "active":
        raise VoucherClosed()
    # The status guard closes the race of two reversals: only one UPDATE matches 'posted'.
    reversed_row = session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "posted")
        .values(status="reversed", reversed_at=now)
        .returning(Redemption.id)
    ).first()
    if reversed_row is None:
        raise AlreadyReversed()
    new_balance = session.execute(
        update(Voucher)
        .where(
            Voucher.id == voucher.id,
            Voucher.balance_fen + redemption.deduction_fen <= Voucher.face_value_fen,
        )
        .values(balance_fen=Voucher.balance_fen + redemption.deduction_fen)
        .returning(Voucher.balance_fen)
    ).scalar_one()
    ledger.post_entry(
        session,
        kind="reverse",
        district_code=redemption.district_code,
        month=redemption.month,
        lines=reverse_lines(voucher.id, redemption.provider_id, redemption.deduction_fen),
        created_by=caller.actor,
        redemption_id=redemption.id,
    )
    session.refresh(redemption)
    return {
        "id": str(redemption.id),
        "status": "reversed",
        "voucher_balance_fen": new_balance,
    }


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
    return {
        "elder_id": str(elder.id),
        "name_masked": mask_name(elder.name),
        "eligible": refusal is None,
        "ineligible_reasons": []
        if refusal is None
        else [{"code": refusal, "title": REFUSAL_TITLES[refusal]}],
        "voucher": vouchers.voucher_out(voucher, now) if voucher is not None else None,
    }
