from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from app.schemas import BeijingTime, DistrictCode, MonthText, RequestModel, ResponseModel

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class SettlementCreate(RequestModel):
    district_code: DistrictCode
    month: MonthText


class Rejection(RequestModel):
    redemption_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: Reason


class CivilReview(RequestModel):
    rejections: list[Rejection] = Field(default_factory=list, max_length=100_000)


class FinanceReview(RequestModel):
    approve: StrictBool
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Payment(RequestModel):
    provider_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount_fen: StrictInt
    reference: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class DeadlinesOut(ResponseModel):
    civil_review: date
    finance_review: date | None
    payment: date | None


class TotalsOut(ResponseModel):
    redemptions: int
    elders: int
    providers: int
    amount_fen: int
    deduction_fen: int
    rejected_fen: int
    payable_fen: int
    clawback_fen: int = Field(description="本批次抵扣的追回款合计(分)")
    payment_due_fen: int = Field(description="本批次应支付合计 = 应付 - 抵扣的追回款(分)")


class FundingOut(ResponseModel):
    central_fen: int
    city_fen: int
    district_fen: int


class LineOut(ResponseModel):
    provider_id: str
    provider_name: str
    redemptions: int
    deduction_fen: int
    rejected_fen: int
    payable_fen: int
    clawback_fen: int = Field(description="抵扣的追回款(此前认定虚假服务的已结算金额,分)")
    payment_due_fen: int = Field(description="应支付金额 = 应付 - 抵扣的追回款(分)")
    paid: bool
    paid_on: date | None
    payment_reference: str | None


class EventOut(ResponseModel):
    action: str
    from_status: str | None
    to_status: str
    actor: str
    at: BeijingTime
    details: dict


class BatchOut(ResponseModel):
    id: str
    district_code: str
    month: str
    status: str
    deadlines: DeadlinesOut
    overdue: bool
    working_days_left: int | None
    totals: TotalsOut
    funding: FundingOut
    missing_evidence: int
    lines: list[LineOut]
    events: list[EventOut]
    created_at: BeijingTime
