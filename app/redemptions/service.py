"""Point-of-service redemption: one short transaction per request.

Order inside the transaction: claim the idempotency key, check every rule, take the voucher row
(SELECT … FOR UPDATE on PostgreSQL; SQLite already holds its write lock from BEGIN IMMEDIATE),
deduct with a guarded UPDATE, write the redemption and its journal entry, store the response on
the key. A refusal writes nothing but the key's stored response.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, aliased

from app import clock
from app.anomalies import service as anomalies
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.db import dialect_insert
from app.elders import entitlement
from app.elders.models import Elder, ElderEnrolment
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
from app.providers.models import Provider
from app.redemptions.models import IdempotencyKey, Redemption
from app.redemptions.schemas import RedemptionCreate
from app.reference.service import get_catalogue_item, policy_for_month
from app.rules.entitlement import REFUSAL_TITLES, service_in_window
from app.rules.evidence import evidence_complete
from app.rules.identity import mask_name
from app.rules.ledger import redeem_lines, reverse_lines
from app.rules.months import Month
from app.rules.policy import Category
from app.rules.redemption import (
    ASSESSMENT_RATE,
    Enrolment,
    amount_refusal,
    compute_deduction,
    item_refusal,
    price_warnings,
    voucher_kind_for,
)
from app.schemas import rate_text
from app.settlements import service as settlements
from app.vouchers import service as vouchers
from app.vouchers.models import Voucher

REFUSALS = {
    "INVALID_AMOUNT": InvalidAmount,
    "ITEM_NOT_ALLOWED": ItemNotAllowed,
    "NOT_REDEEMABLE": NotRedeemable,
}


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


def request_hash(body: RedemptionCreate) -> str:
    """SHA-256 of the canonical request: sorted keys, served_at in UTC, no whitespace."""
    data = body.model_dump(mode="json")
    data["served_at"] = body.served_at.astimezone(UTC).isoformat()
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def redeem(session: Session, caller: Principal, *, key: str, body: RedemptionCreate) -> Outcome:
    provider_id = caller.provider_id
    fingerprint = request_hash(body)
    now = clock.now()
    claimed = session.execute(
        dialect_insert(session)(IdempotencyKey)
        .values(
            provider_id=provider_id,
            key=key,
            request_hash=fingerprint,
            response_status=0,
            response_body={},
            month=Month.containing(now).first_day,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    ).first()
    if claimed is None:
        # The key was used before, or by a concurrent request that committed first
        # (PostgreSQL made this INSERT wait for it): answer as that request was answered.
        replay = _replay(session, provider_id, key, fingerprint)
        if replay is None:  # pragma: no cover - the conflicting row must be visible now
            raise RuntimeError("idempotency key conflict without a stored response")
        return replay
    try:
        # A refusal after the month's voucher was issued on demand undoes that issue too: a
        # refused request changes nothing but its key.
        with session.begin_nested():
            status, response = 201, _post(session, caller, body, now)
    except AppError as refusal:
        status, response = refusal.status, refusal.problem()
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.provider_id == provider_id, IdempotencyKey.key == key)
        .values(response_status=status, response_body=response)
    )
    return Outcome(status, response, replayed=False)


def _replay(session: Session, provider_id: uuid.UUID, key: str, fingerprint: str) -> Outcome | None:
    stored = session.execute(
        select(
            IdempotencyKey.request_hash,
            IdempotencyKey.response_status,
            IdempotencyKey.response_body,
        ).where(IdempotencyKey.provider_id == provider_id, IdempotencyKey.key == key)
    ).first()
    if stored is None:
        return None
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused("该 Idempotency-Key 已用于内容不同的请求")
    return Outcome(stored.response_status, stored.response_body, replayed=True)


def _enrolments(session: Session, elder_id: uuid.UUID) -> list[Enrolment]:
    rows = session.execute(
        select(
            ElderEnrolment.kind,
            ElderEnrolment.provider_id,
            ElderEnrolment.starts_on,
            ElderEnrolment.ends_on,
        ).where(ElderEnrolment.elder_id == elder_id)
    )
    return [Enrolment(r.kind, str(r.provider_id), r.starts_on, r.ends_on) for r in rows]


def _refuse_unentitled(elder, now: datetime) -> None:
    refusal = entitlement.refusal_now(elder, now)
    if refusal is not None:
        raise ElderNotEligible(f"该老年人本月不享受补贴:{REFUSAL_TITLES[refusal]}", reason=refusal)


def _current_voucher(session: Session, elder, now: datetime, actor: str) -> Voucher | None:
    """The elder's monthly voucher valid now, locked; issued here first when the month-start job
    has not reached the elder yet (vouchers.issue_on_demand)."""
    voucher = vouchers.valid_voucher(session, elder.id, now, for_update=True)
    if voucher is None and vouchers.issue_on_demand(session, elder, now, actor=actor):
        voucher = vouchers.valid_voucher(session, elder.id, now, for_update=True)
    return voucher


def _post(session: Session, caller: Principal, body: RedemptionCreate, now: datetime) -> dict:
    # Plain column selects, not ORM entities: this is the hottest path of the service.
    same_organisation_agency = aliased(Provider)
    agency_organisation = (
        select(same_organisation_agency.id)
        .where(
            same_organisation_agency.credit_code == Provider.credit_code,
            same_organisation_agency.kind == "assessment_agency",
        )
        .exists()
    )
    provider = session.execute(
        select(
            Provider.id, Provider.kind, Provider.status, agency_organisation.label("agency_organisation")
        ).where(Provider.id == caller.provider_id)
    ).first()
    if provider is None or provider.status != "listed":
        raise ProviderNotListed("服务机构当前不在名单内,不能核销")
    elder_uuid = parse_id(body.elder_id)
    elder = None
    if elder_uuid is not None:
        elder = session.execute(
            select(*entitlement.ENTITLEMENT_COLUMNS).where(Elder.id == elder_uuid)
        ).first()
    if elder is None:
        raise ElderNotFound()
    if not body.id_checked:
        raise IdNotChecked()
    refusal = amount_refusal(body.amount_fen, body.ltci_paid_fen)
    if refusal:
        raise REFUSALS[refusal]("消费金额须为正整数(分),长护险支付金额须小于消费金额")
    catalogue_item = get_catalogue_item(session, body.item)
    if catalogue_item is None:
        raise UnknownItem(f"补贴项目清单中没有第 {body.item} 项")
    category = Category(catalogue_item.category)
    refusal = item_refusal(
        provider_kind=provider.kind,
        provider_id=str(provider.id),
        item=body.item,
        category=category,
        enrolments=_enrolments(session, elder.id),
        service_day=body.served_at.astimezone(now.tzinfo).date(),
        organisation_is_agency=provider.agency_organisation,
    )
    if refusal:
        raise REFUSALS[refusal]()
    if voucher_kind_for(category) == "assessment":
        voucher, rate = _assessment_voucher(session, provider, elder.id, body.served_at, now), ASSESSMENT_RATE
    else:
        _refuse_unentitled(elder, now)
        voucher = _current_voucher(session, elder, now, caller.actor)
        if voucher is None:
            raise NoActiveVoucher("该老年人当前没有有效的电子消费券(未发放、已过期或已作废)")
        if not service_in_window(
            body.served_at, valid_from=voucher.valid_from, valid_until=voucher.valid_until, now=now
        ):
            raise ServedAtOutOfRange(
                "服务时间须在消费券有效期内(当月,且不早于审核通过时间)并且不晚于当前时间"
            )
        rate = policy_for_month(session, Month.of(voucher.month)).rate_for(category)
    if voucher.balance_fen == 0:
        raise VoucherExhausted()
    deduction = compute_deduction(
        amount_fen=body.amount_fen,
        ltci_paid_fen=body.ltci_paid_fen,
        rate=rate,
        balance_fen=voucher.balance_fen,
    )
    if deduction.deduction_fen == 0:
        raise InvalidAmount("可抵扣金额不足1分")
    # Guarded UPDATE: even if the row lock were missing, the balance could not go below zero.
    new_balance = session.execute(
        update(Voucher)
        .where(
            Voucher.id == voucher.id,
            Voucher.status == "active",
            Voucher.balance_fen >= deduction.deduction_fen,
        )
        .values(balance_fen=Voucher.balance_fen - deduction.deduction_fen)
        .returning(Voucher.balance_fen)
    ).scalar_one_or_none()
    if new_balance is None:
        raise VoucherExhausted("余额已被并发核销占用")
    warnings = price_warnings(body.amount_fen, catalogue_item.ref_price_max_fen)
    redemption = Redemption(
        id=uuid.uuid4(),
        district_code=elder.district_code,
        month=voucher.month,
        voucher_id=voucher.id,
        elder_id=elder.id,
        provider_id=provider.id,
        item=body.item,
        category=category.value,
        rate=rate,
        amount_fen=body.amount_fen,
        ltci_paid_fen=body.ltci_paid_fen,
        eligible_fen=deduction.eligible_fen,
        deduction_fen=deduction.deduction_fen,
        self_pay_fen=deduction.self_pay_fen,
        served_at=body.served_at,
        receipt_no=body.receipt_no,
        warnings=warnings,
        status="posted",
        # Nothing uploaded yet: complete only where the category requires nothing.
        evidence_complete=evidence_complete(category.value, frozenset()),
        created_at=now,
    )
    session.execute(
        insert(Redemption).values(
            {
                c.key: getattr(redemption, c.key)
                for c in Redemption.__table__.columns
                if c.key != "reversed_at"
            }
        )
    )
    ledger.post_entry(
        session,
        kind="redeem",
        district_code=elder.district_code,
        month=voucher.month,
        lines=redeem_lines(voucher.id, provider.id, deduction.deduction_fen),
        created_by=caller.actor,
        redemption_id=redemption.id,
    )
    # The cheap anomaly rules (四(二)), recorded in this transaction; the rest run nightly.
    anomalies.record_inline(
        session,
        redemption,
        ref_price_max_fen=catalogue_item.ref_price_max_fen,
        elder_status=elder.status,
        died_on=elder.died_on,
    )
    return redemption_out(redemption, voucher_balance_fen=new_balance)


def _assessment_voucher(
    session: Session, provider: Provider, elder_id: uuid.UUID, served_at: datetime, now: datetime
) -> Voucher:
    """The elder's assessment voucher, usable only by the agency that made the assessment it
    pays for, for an assessment made on or after that assessment's day (it precedes the
    voucher: the voucher is issued when the result is approved)."""
    from app.assessments.models import Assessment

    voucher = vouchers.valid_assessment_voucher(session, elder_id, now)
    if voucher is None:
        raise NoActiveVoucher("该老年人当前没有有效的能力评估电子消费券")
    assessment = session.get(Assessment, voucher.assessment_id)
    if assessment is None or assessment.agency_id != provider.id:
        raise ItemNotAllowed("能力评估电子消费券只能由作出该评估的评估机构核销")
    assessed_from = datetime.combine(assessment.assessed_on, datetime.min.time(), tzinfo=clock.BEIJING)
    if not (assessed_from <= served_at <= now):
        raise ServedAtOutOfRange("评估服务时间应在评估当日至今之间")
    return voucher


def redemption_out(redemption: Redemption, *, voucher_balance_fen: int | None = None) -> dict:
    def instant(value: datetime | None) -> str | None:
        return value.astimezone(clock.BEIJING).isoformat() if value else None

    return {
        "id": str(redemption.id),
        "voucher_id": str(redemption.voucher_id),
        "elder_id": str(redemption.elder_id),
        "provider_id": str(redemption.provider_id),
        "item": redemption.item,
        "category": redemption.category,
        "rate": rate_text(redemption.rate),
        "amount_fen": redemption.amount_fen,
        "ltci_paid_fen": redemption.ltci_paid_fen,
        "eligible_fen": redemption.eligible_fen,
        "deduction_fen": redemption.deduction_fen,
        "self_pay_fen": redemption.self_pay_fen,
        "voucher_balance_fen": voucher_balance_fen,
        "status": redemption.status,
        "warnings": list(redemption.warnings),
        "served_at": instant(redemption.served_at),
        "receipt_no": redemption.receipt_no,
        "month": str(Month.of(redemption.month)),
        "created_at": instant(redemption.created_at),
        "reversed_at": instant(redemption.reversed_at),
    }


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
