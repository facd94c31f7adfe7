"""API shapes of audit samples and findings, and the functions that build them from the tables."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import Field

from app.models.audits import AuditFinding, AuditFindingRedemption, AuditSample
from app.rules.months import Month
from app.rules.sampling import Unit
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


# --- built from the tables -------------------------------------------------------------------------
def _sample_fields(sample: AuditSample, findings_recorded: int) -> dict:
    return {
        "id": str(sample.id),
        "district_code": sample.district_code,
        "month": str(Month.of(sample.month)),
        "kind": sample.kind,
        "method": sample.method,
        "population": sample.population,
        "sample_size": sample.sample_size,
        "seed": sample.seed,
        "population_sha256": sample.population_sha256,
        "drawn_at": sample.drawn_at,
        "drawn_by": sample.drawn_by,
        "findings_recorded": findings_recorded,
    }


def sample_summary(sample: AuditSample, findings_recorded: int) -> SampleSummary:
    return SampleSummary(**_sample_fields(sample, findings_recorded))


def sample_out(sample: AuditSample, findings_recorded: int, elder_ids: list[str]) -> SampleOut:
    return SampleOut(**_sample_fields(sample, findings_recorded), elder_ids=elder_ids)


def population_out(sample: AuditSample, units: list[Unit], drawn: set[str]) -> PopulationOut:
    return PopulationOut(
        sample_id=str(sample.id),
        method=sample.method,
        seed=sample.seed,
        population_sha256=sample.population_sha256,
        units=[
            PopulationUnit(elder_id=unit.elder_id, stratum=unit.stratum, drawn=unit.elder_id in drawn)
            for unit in units
        ],
    )


def findings_out(
    findings: list[AuditFinding], lines: dict[uuid.UUID, list[AuditFindingRedemption]]
) -> list[FindingOut]:
    """Each finding with the redemptions it names (``lines``: app.audits.findings.finding_lines)."""
    return [
        FindingOut(
            id=str(f.id),
            sample_id=str(f.sample_id),
            elder_id=str(f.elder_id),
            district_code=f.district_code,
            month=str(Month.of(f.month)),
            provider_id=str(f.provider_id) if f.provider_id else None,
            outcome=f.outcome,
            note=f.note,
            excluded_fen=f.excluded_fen,
            clawback_fen=f.clawback_fen,
            redemptions=[
                FindingRedemptionOut(
                    redemption_id=str(line.redemption_id),
                    deduction_fen=line.deduction_fen,
                    effect=line.effect,
                )
                for line in lines[f.id]
            ],
            recorded_at=f.recorded_at,
            recorded_by=f.recorded_by,
        )
        for f in findings
    ]
