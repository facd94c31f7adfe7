"""What an accepted or refused redemption writes, as plain rows: built from the decision
(app/rules/redemption.decide) without the database, applied in one write by a store
(app/redemptions/store.py on any SQLAlchemy session, app/redemptions/pg.py on asyncpg)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from app.ids import parse_id
from app.redemptions.schemas import RedemptionCreate
from app.rules.evidence import evidence_complete
from app.rules.ledger import Line, check_balanced, issue_lines, redeem_lines
from app.rules.months import BEIJING, Month
from app.rules.redemption import Accepted, RedemptionRequest, Refusal
from app.schemas import rate_text


@dataclass(frozen=True)
class RedeemCall:
    """One POST /redemptions as the service sees it: who, with which key, about which elder, and
    the request the rules decide on."""

    provider_id: uuid.UUID
    actor: str
    key: str
    request_hash: str
    elder_id: uuid.UUID | None  # None: not an id at all (ELDER_NOT_FOUND)
    receipt_no: str | None
    request: RedemptionRequest


def call_of(body: RedemptionCreate, *, provider_id: uuid.UUID, actor: str, key: str) -> RedeemCall:
    return RedeemCall(
        provider_id=provider_id,
        actor=actor,
        key=key,
        request_hash=request_hash(body),
        elder_id=parse_id(body.elder_id),
        receipt_no=body.receipt_no,
        request=RedemptionRequest(
            item=body.item,
            amount_fen=body.amount_fen,
            ltci_paid_fen=body.ltci_paid_fen,
            served_at=body.served_at,
            id_checked=body.id_checked,
        ),
    )


def request_hash(body: RedemptionCreate) -> str:
    """SHA-256 of the canonical request: sorted keys, served_at in UTC, no whitespace."""
    data = body.model_dump(mode="json")
    data["served_at"] = body.served_at.astimezone(UTC).isoformat()
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    kind: str
    lines: list[Line]


@dataclass
class WritePlan:
    """Every effect of one request, in the order a store applies them."""

    status: int
    response: dict
    voucher_insert: dict | None = None  # a month's voucher issued by this redemption
    voucher_debit: tuple[uuid.UUID, int] | None = None  # (voucher id, deduction) on an existing one
    # The balance the decision read: the debit applies only while it still is (compare-and-set).
    balance_read_fen: int | None = None
    redemption: dict | None = None
    entries: list[Entry] = field(default_factory=list)
    anomalies: list[dict] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.redemption is not None


def refusal_plan(refusal: Refusal, problem: dict) -> WritePlan:
    """A refusal writes only its response on the key (replayed to a retry)."""
    return WritePlan(status=problem["status"], response=problem)


def accepted_plan(
    decision: Accepted, call: RedeemCall, *, district_code: str, elder_id: uuid.UUID, now: datetime
) -> WritePlan:
    voucher = decision.voucher
    voucher_id = uuid.UUID(voucher.id) if voucher.id else uuid.uuid4()
    plan = WritePlan(status=201, response={})
    if decision.issues_voucher:
        # The month's voucher, issued now (the month-start job has not reached the elder), with
        # this redemption already taken: its journal says issue, then redeem.
        plan.voucher_insert = {
            "id": voucher_id,
            "district_code": district_code,
            "elder_id": elder_id,
            "kind": "monthly",
            "month": voucher.month,
            "face_value_fen": voucher.face_value_fen,
            "balance_fen": decision.new_balance_fen,
            "status": "active",
            "valid_from": voucher.valid_from,
            "valid_until": voucher.valid_until,
            "issued_at": now,
        }
        plan.entries.append(Entry("issue", issue_lines(voucher_id, voucher.face_value_fen)))
    else:
        plan.voucher_debit = (voucher_id, decision.deduction.deduction_fen)
        plan.balance_read_fen = voucher.balance_fen
    plan.redemption = _redemption_row(decision, call, district_code, elder_id, voucher_id, now)
    plan.entries.append(
        Entry("redeem", redeem_lines(voucher_id, call.provider_id, decision.deduction.deduction_fen))
    )
    for entry in plan.entries:
        check_balanced(entry.lines)
    plan.anomalies = [_warning_row(finding, plan.redemption, now) for finding in decision.findings]
    plan.response = redemption_body(plan.redemption, voucher_balance_fen=decision.new_balance_fen)
    return plan


def _redemption_row(
    decision: Accepted,
    call: RedeemCall,
    district_code: str,
    elder_id: uuid.UUID,
    voucher_id: uuid.UUID,
    now: datetime,
) -> dict:
    request, deduction = call.request, decision.deduction
    return {
        "id": uuid.uuid4(),
        "district_code": district_code,
        "month": decision.voucher.month,
        "voucher_id": voucher_id,
        "elder_id": elder_id,
        "provider_id": call.provider_id,
        "item": request.item,
        "category": decision.category.value,
        "rate": decision.rate,
        "amount_fen": request.amount_fen,
        "ltci_paid_fen": request.ltci_paid_fen,
        "eligible_fen": deduction.eligible_fen,
        "deduction_fen": deduction.deduction_fen,
        "self_pay_fen": deduction.self_pay_fen,
        "served_at": request.served_at,
        "receipt_no": call.receipt_no,
        "warnings": list(decision.warnings),
        "status": "posted",
        # Nothing uploaded yet: complete only where the category requires nothing.
        "evidence_complete": evidence_complete(decision.category.value, frozenset()),
        "created_at": now,
    }


def _warning_row(finding, redemption: dict, now: datetime) -> dict:
    """An in-line anomaly warning: every rule checked in-line is about one redemption."""
    return {
        "id": uuid.uuid4(),
        "district_code": redemption["district_code"],
        "month": redemption["month"],
        "rule": finding.rule,
        "status": "open",
        "subject_key": redemption["id"].hex,
        "redemption_id": redemption["id"],
        "provider_id": redemption["provider_id"],
        "elder_id": redemption["elder_id"],
        "evidence": finding.evidence,
        "detected_at": now,
        "detected_by": "redemption",
    }


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(BEIJING).isoformat() if value else None


def redemption_body(row: dict, *, voucher_balance_fen: int | None = None) -> dict:
    """The redemption as the API answers it (CONTRACT.md "Point of service")."""
    month: date = row["month"]
    return {
        "id": str(row["id"]),
        "voucher_id": str(row["voucher_id"]),
        "elder_id": str(row["elder_id"]),
        "provider_id": str(row["provider_id"]),
        "item": row["item"],
        "category": row["category"],
        "rate": rate_text(row["rate"]),
        "amount_fen": row["amount_fen"],
        "ltci_paid_fen": row["ltci_paid_fen"],
        "eligible_fen": row["eligible_fen"],
        "deduction_fen": row["deduction_fen"],
        "self_pay_fen": row["self_pay_fen"],
        "voucher_balance_fen": voucher_balance_fen,
        "status": row["status"],
        "warnings": list(row["warnings"]),
        "served_at": _instant(row["served_at"]),
        "receipt_no": row["receipt_no"],
        "month": str(Month.of(month)),
        "created_at": _instant(row["created_at"]),
        "reversed_at": _instant(row.get("reversed_at")),
    }
