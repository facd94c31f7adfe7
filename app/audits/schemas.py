from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from app.schemas import BeijingTime, DistrictCode, MonthText, RequestModel, ResponseModel


class SampleKind(StrEnum):
    REDEMPTION = "redemption"  # 1 % of the elders who redeemed (四(二))
    ASSESSMENT = "assessment"  # at least 1 % of subsidised elders' assessment results


class FindingOutcome(StrEnum):
    GENUINE = "genuine"  # 服务真实
    FAKE_SERVICE = "fake_service"  # 虚假服务
    POOR_QUALITY = "poor_quality"  # 服务质量差
    LOW_SATISFACTION = "low_satisfaction"  # 满意度低


class FindingEffect(StrEnum):
    NONE = "none"
    EXCLUDED = "excluded"  # not paid: rejected from its settlement
    CLAWBACK = "clawback"  # already approved: taken back from the provider's next payment


class SampleCreate(RequestModel):
    district_code: DistrictCode
    month: MonthText
    kind: SampleKind


class SampleSummary(ResponseModel):
    id: str
    district_code: str
    month: str
    kind: SampleKind
    method: str
    population: int
    sample_size: int
    seed: str
    population_sha256: str
    drawn_at: BeijingTime
    drawn_by: str
    findings_recorded: int = Field(description="已录入抽查结论的被抽查老年人数")


class SampleOut(SampleSummary):
    elder_ids: list[str] = Field(description="被抽中的老年人,按抽取顺序")


class PopulationUnit(ResponseModel):
    elder_id: str
    stratum: str
    drawn: bool


class PopulationOut(ResponseModel):
    sample_id: str
    method: str
    seed: str
    population_sha256: str
    units: list[PopulationUnit]


class VerifyOut(ResponseModel):
    ok: bool
    method: str
    seed: str
    population: int
    sample_size: int
    draw_matches: bool = Field(description="按公开种子重新抽取的结果与保存的样本一致")
    population_matches: bool = Field(description="保存的总体与按当前数据重新计算的总体一致")
    population_sha256: str
    current_population_sha256: str


class FindingCreate(RequestModel):
    elder_id: str = Field(max_length=64)
    outcome: FindingOutcome
    note: str = Field(min_length=1, max_length=2000)
    redemption_ids: list[str] = Field(default_factory=list, max_length=500)


class FindingRedemptionOut(ResponseModel):
    redemption_id: str
    deduction_fen: int
    effect: FindingEffect


class FindingOut(ResponseModel):
    id: str
    sample_id: str
    elder_id: str
    district_code: str
    month: str
    provider_id: str | None
    outcome: FindingOutcome
    note: str
    excluded_fen: int = Field(description="因认定虚假服务而不予结算的金额(分)")
    clawback_fen: int = Field(description="因认定虚假服务而追回、在下次支付中抵扣的金额(分)")
    redemptions: list[FindingRedemptionOut]
    recorded_at: BeijingTime
    recorded_by: str


class FindingPage(ResponseModel):
    items: list[FindingOut]
    total: int
    limit: int
    offset: int
