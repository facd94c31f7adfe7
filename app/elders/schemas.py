from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from app.elders.eligibility import assessment_valid_until_of, current_eligibility
from app.models.elders import Elder, ElderEnrolment
from app.rules.eligibility import Benefit, DisabilityLevel, Residency, age_on, reasons_with_titles
from app.rules.identity import mask_id_number
from app.rules.months import Month
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

    @classmethod
    def of(cls, elder: Elder, today: date) -> ElderOut:
        return cls(**_elder_fields(elder, today))


def _elder_fields(elder: Elder, today: date) -> dict[str, Any]:
    """The elder as the API shows it: the ID number only masked, age instead of birth date,
    eligibility as of ``today`` (an assessment expires without any event)."""
    eligibility = current_eligibility(elder, today)
    return {
        "id": str(elder.id),
        "name": elder.name,
        "id_number_masked": mask_id_number(elder.id_number),
        "age": age_on(elder.birth_date, today),
        "district_code": elder.district_code,
        "residency": elder.residency,
        "disability_level": elder.disability_level,
        "assessed_on": elder.assessed_on,
        "benefits": list(elder.benefits),
        "disability_allowance_tier": elder.disability_allowance_tier,
        "status": elder.status,
        "eligible": eligibility.eligible,
        "ineligible_reasons": reasons_with_titles(eligibility.reasons),
        "eligibility_checked_on": today,
        "created_at": elder.created_at,
        "approved_at": elder.approved_at,
        "suspended_at": elder.suspended_at,
        "suspension_reason": elder.suspension_reason,
        "last_voucher_month": str(Month.of(elder.last_voucher_month)) if elder.last_voucher_month else None,
        "died_on": elder.died_on,
        "assessment_valid_until": assessment_valid_until_of(elder),
    }


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

    @classmethod
    def of_approval(
        cls, elder: Elder, today: date, *, voucher: dict[str, Any] | None, first_voucher_month: Month
    ) -> ElderApproved:
        """``voucher``: the voucher issued at approval, as app.vouchers.service.voucher_out shows it."""
        return cls(
            **_elder_fields(elder, today), voucher=voucher, first_voucher_month=str(first_voucher_month)
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

    @classmethod
    def of(cls, elder: Elder, valid_until: date, today: date) -> ExpiringAssessment:
        return cls(
            elder_id=str(elder.id),
            name=elder.name,
            id_number_masked=mask_id_number(elder.id_number),
            district_code=elder.district_code,
            status=elder.status,
            disability_level=elder.disability_level,
            assessed_on=elder.assessed_on,
            assessment_valid_until=valid_until,
            days_left=(valid_until - today).days,
        )


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

    @classmethod
    def of(cls, enrolment: ElderEnrolment) -> EnrolmentOut:
        return cls(
            id=str(enrolment.id),
            elder_id=str(enrolment.elder_id),
            kind=enrolment.kind,
            provider_id=str(enrolment.provider_id),
            starts_on=enrolment.starts_on,
            ends_on=enrolment.ends_on,
            created_at=enrolment.created_at,
        )


class EnrolmentEnd(RequestModel):
    ends_on: IsoDate
