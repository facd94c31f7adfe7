"""Settlement request bodies and the one batch answer every /settlements endpoint gives (and
``voucher settle`` prints), built from the batch's rows by :meth:`BatchOut.of`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from app.models.settlements import SettlementBatch, SettlementEvent, SettlementLine
from app.rules.calendar import WorkingCalendar, working_days_between
from app.rules.months import Month
from app.rules.settlement import Deadlines, current_deadline, is_overdue
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

    @classmethod
    def of(cls, batch: SettlementBatch) -> TotalsOut:
        return cls(
            redemptions=batch.redemptions,
            elders=batch.elders,
            providers=batch.providers,
            amount_fen=batch.amount_fen,
            deduction_fen=batch.deduction_fen,
            rejected_fen=batch.rejected_fen,
            payable_fen=batch.payable_fen,
            clawback_fen=batch.clawback_fen,
            payment_due_fen=batch.payable_fen - batch.clawback_fen,
        )


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

    @classmethod
    def of(cls, line: SettlementLine, provider_name: str) -> LineOut:
        return cls(
            provider_id=str(line.provider_id),
            provider_name=provider_name,
            redemptions=line.redemptions,
            deduction_fen=line.deduction_fen,
            rejected_fen=line.rejected_fen,
            payable_fen=line.payable_fen,
            clawback_fen=line.clawback_fen,
            payment_due_fen=line.payable_fen - line.clawback_fen,
            paid=line.paid,
            paid_on=line.paid_on,
            payment_reference=line.payment_reference,
        )


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

    @classmethod
    def of(
        cls,
        batch: SettlementBatch,
        *,
        deadlines: Deadlines,
        today: date,
        calendar: WorkingCalendar,
        provider_names: Mapping[uuid.UUID, str],
        missing_evidence: int,
        lines: Sequence[SettlementLine],
        events: Sequence[SettlementEvent],
    ) -> BatchOut:
        """Pure: the rows and facts gathered by app.settlements.summaries.batch_summary, and
        ``today`` to say whether the current stage is overdue and how many working days it has left."""
        deadline = current_deadline(batch.status, deadlines)
        return cls(
            id=str(batch.id),
            district_code=batch.district_code,
            month=str(Month.of(batch.month)),
            status=batch.status,
            deadlines=DeadlinesOut.model_validate(deadlines),
            overdue=is_overdue(batch.status, deadlines, today),
            working_days_left=working_days_between(today, deadline, calendar) if deadline else None,
            totals=TotalsOut.of(batch),
            funding=FundingOut.model_validate(batch),
            missing_evidence=missing_evidence,
            lines=[LineOut.of(line, provider_names.get(line.provider_id, "")) for line in lines],
            events=[EventOut.model_validate(event) for event in events],
            created_at=batch.created_at,
        )
