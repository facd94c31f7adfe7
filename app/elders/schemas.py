from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from app.rules.eligibility import Benefit, DisabilityLevel, Residency
from app.schemas import (
    BeijingTime,
    DistrictCode,
    IsoDate,
    RequestModel,
    ResponseModel,
)

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
AllowanceTier = Literal[200, 400, 600]  # app.rules.eligibility.ALLOWANCE_TIERS


class SuspensionReason(StrEnum):
    DECEASED = "deceased"
    MOVED_OUT = "moved_out"
    NO_LONGER_ELIGIBLE = "no_longer_eligible"
    OTHER = "other"


def _unique(benefits: list[Benefit]) -> list[Benefit]:
    if len(set(benefits)) != len(benefits):
        raise ValueError("benefits must not repeat")
    return benefits


class ElderCreate(RequestModel):
    name: PersonName
    # Checked (length, birth date, check character) by the service: INVALID_ID_NUMBER.
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    district_code: DistrictCode
    residency: Residency
    disability_level: DisabilityLevel
    assessed_on: IsoDate
    benefits: list[Benefit] = Field(default_factory=list, max_length=len(Benefit))
    # 失能老年人护理补贴 tier (yuan/month) held when applying; 400/600 exempt from reassessment.
    disability_allowance_tier: AllowanceTier | None = None

    _benefits_unique = field_validator("benefits")(_unique)


class ElderUpdate(RequestModel):
    """Facts that change after application (a new assessment, leaving an allowance, ...)."""

    name: PersonName | None = None
    residency: Residency | None = None
    disability_level: DisabilityLevel | None = None
    assessed_on: IsoDate | None = None
    benefits: list[Benefit] | None = Field(default=None, max_length=len(Benefit))
    disability_allowance_tier: AllowanceTier | None = None

    _benefits_unique = field_validator("benefits")(lambda value: value if value is None else _unique(value))


class ElderSuspend(RequestModel):
    reason: SuspensionReason
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
    died_on: IsoDate | None = Field(
        default=None,
        description="身故日期(仅 reason 为 deceased 时可填;默认为登记当日)。此日及以后的服务记为异常预警",
    )

    @model_validator(mode="after")
    def _death_date_only_for_death(self) -> ElderSuspend:
        if self.died_on is not None and self.reason is not SuspensionReason.DECEASED:
            raise ValueError("died_on is only given with reason deceased")
        return self


class DeathCorrection(RequestModel):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="更正身故登记的理由(记入老年人状态变更记录)"
    )


class IneligibleReason(ResponseModel):
    code: str
    title: str


class ElderOut(ResponseModel):
    id: str
    name: str
    id_number_masked: str
    age: int
    district_code: str
    residency: str
    disability_level: str
    assessed_on: date
    benefits: list[str]
    disability_allowance_tier: int | None
    status: str
    eligible: bool
    ineligible_reasons: list[IneligibleReason]
    eligibility_checked_on: date
    created_at: BeijingTime
    approved_at: BeijingTime | None
    suspended_at: BeijingTime | None
    suspension_reason: str | None
    last_voucher_month: str | None
    died_on: date | None
    assessment_valid_until: date | None = Field(
        description="能力评估结论有效期的最后一天;享受失能护理补贴400/600元档免评估时为 null"
    )


class VoucherOut(ResponseModel):
    id: str
    elder_id: str
    kind: str = Field(description="monthly(月度消费券)或 assessment(能力评估电子消费券)")
    month: str
    face_value_fen: int
    balance_fen: int
    status: str
    valid_from: BeijingTime
    valid_until: BeijingTime


class ElderApproved(ElderOut):
    voucher: VoucherOut | None = Field(
        description="审核通过时发放的当月消费券;首张为次月券或不在项目期内时为 null"
    )
    first_voucher_month: str = Field(
        description="首张消费券所属月份:当月剩余不足设定天数时为次月(次月1日起可用)"
    )


class ExpiringAssessment(ResponseModel):
    elder_id: str
    name: str
    id_number_masked: str
    district_code: str
    status: str
    disability_level: str
    assessed_on: date
    assessment_valid_until: date
    days_left: int


class ExpiringAssessmentPage(ResponseModel):
    within_days: int
    items: list[ExpiringAssessment]
    total: int
    limit: int
    offset: int


class ElderStatusChangeOut(ResponseModel):
    from_status: str | None
    to_status: str
    reason: str | None
    note: str | None
    changed_by: str
    changed_at: BeijingTime


class ElderPage(ResponseModel):
    items: list[ElderOut]
    total: int
    limit: int
    offset: int


class EnrolmentCreate(RequestModel):
    kind: Literal["station_basic_services", "family_care_bed"]
    provider_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    starts_on: IsoDate
    ends_on: IsoDate | None = None


class EnrolmentOut(ResponseModel):
    id: str
    elder_id: str
    kind: str
    provider_id: str
    starts_on: date
    ends_on: date | None
    created_at: BeijingTime


class EnrolmentEnd(RequestModel):
    ends_on: IsoDate
