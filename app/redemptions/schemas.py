from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from app.elders.schemas import VoucherOut
from app.rules.entitlement import REFUSAL_TITLES
from app.rules.identity import mask_name
from app.schemas import BeijingTime, IsoDateTime, RequestModel, ResponseModel

# 1-64 visible ASCII characters (CONTRACT.md).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,64}$"


class RedemptionCreate(RequestModel):
    elder_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    item: StrictInt
    amount_fen: StrictInt
    ltci_paid_fen: StrictInt = 0
    served_at: IsoDateTime
    id_checked: StrictBool
    receipt_no: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class RedemptionOut(ResponseModel):
    id: str
    voucher_id: str
    elder_id: str
    provider_id: str
    item: int
    category: str
    rate: str
    amount_fen: int
    ltci_paid_fen: int
    eligible_fen: int
    deduction_fen: int
    self_pay_fen: int
    voucher_balance_fen: int | None = None
    status: str
    warnings: list[str]
    served_at: BeijingTime
    receipt_no: str | None
    month: str
    created_at: BeijingTime
    reversed_at: BeijingTime | None = None


class RedemptionPage(ResponseModel):
    items: list[RedemptionOut]
    total: int
    limit: int
    offset: int


class ReversalOut(ResponseModel):
    id: str
    status: str
    voucher_balance_fen: int


class PosLookup(RequestModel):
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class LookupReason(ResponseModel):
    code: str = Field(description="ELDER_DECEASED、ELDER_NOT_APPROVED、ELDER_SUSPENDED 或 ASSESSMENT_EXPIRED")
    title: str


class PosLookupOut(ResponseModel):
    elder_id: str
    name_masked: str
    eligible: bool = Field(description="本月是否享受消费券(已审核、未停发、能力评估结论在本月有效)")
    ineligible_reasons: list[LookupReason] = Field(description="不享受的原因;享受时为空")
    voucher: VoucherOut | None


def pos_lookup_body(elder_id: str, name: str, refusal: str | None, voucher: dict | None) -> dict:
    """The body of POST /pos/lookup (both paths build it here): the elder masked, whether they are
    entitled now and why not, and the voucher valid now."""
    return {
        "elder_id": elder_id,
        "name_masked": mask_name(name),
        "eligible": refusal is None,
        "ineligible_reasons": []
        if refusal is None
        else [{"code": refusal, "title": REFUSAL_TITLES[refusal]}],
        "voucher": voucher,
    }
