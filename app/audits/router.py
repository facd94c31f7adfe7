"""Audit samples and findings (四(二), attachment 5 五(四)).

Drawing and recording findings: district civil officers (their district) and city admins.
Reading and verifying: all staff in scope, auditors city-wide. Providers: 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.audits import findings as audit_findings
from app.audits import service
from app.audits.schemas import (
    FindingCreate,
    FindingOut,
    FindingOutcome,
    FindingPage,
    PopulationOut,
    SampleCreate,
    SampleKind,
    SampleOut,
    SampleSummary,
    VerifyOut,
    findings_out,
    population_out,
    sample_out,
    sample_summary,
)
from app.auth.principal import Principal, Role
from app.deps import SessionDep, StaffPrincipal, require_roles
from app.models.audits import AuditFinding, AuditSample
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import MAX_OFFSET, DistrictCode, MonthText, problem_responses

router = APIRouter(
    route_class=TransactionRetryRoute,
    tags=["audit samples"],
    responses=problem_responses(401, 403, 404, 422),
)

Inspector = Annotated[Principal, Depends(require_roles(Role.DISTRICT_CIVIL, Role.CITY_ADMIN))]


def visible_sample(sample_id: str, session: SessionDep, caller: StaffPrincipal) -> AuditSample:
    return service.get_visible_sample(session, caller, sample_id)


VisibleSample = Annotated[AuditSample, Depends(visible_sample)]


def _sample_detail(session, sample: AuditSample) -> SampleOut:
    return sample_out(
        sample, service.findings_count(session, sample), service.drawn_elder_ids(session, sample)
    )


def _findings(session, findings: list[AuditFinding]) -> list[FindingOut]:
    return findings_out(findings, audit_findings.finding_lines(session, findings))


@router.post(
    "/audit-samples",
    status_code=status.HTTP_201_CREATED,
    response_model=SampleOut,
    summary="抽取某区某月的抽查样本(已抽取过则返回原样本)",
    description=(
        "样本量为总体的 1%(向上取整)。种子在首次抽取时随机生成并保存,抽取方法见 docs/audit-sampling.md;"
        "同一区、月份、类型只抽取一次,再次请求返回原样本(200)。月份结束前不能抽取(MONTH_NOT_ENDED)。"
    ),
    responses={200: {"model": SampleOut, "description": "该样本此前已抽取"}, **problem_responses(409)},
)
def draw_sample(body: SampleCreate, session: SessionDep, caller: Inspector, response: Response):
    drawn = service.draw_sample(
        session, caller, district_code=body.district_code, month=Month.parse(body.month), kind=body.kind.value
    )
    if not drawn.created:
        response.status_code = status.HTTP_200_OK
    return _sample_detail(session, drawn.sample)


@router.get("/audit-samples", response_model=list[SampleSummary], summary="抽查样本列表")
def list_samples(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    month: Annotated[MonthText | None, Query()] = None,
    kind: Annotated[SampleKind | None, Query()] = None,
):
    samples = service.list_samples(
        session,
        caller,
        district_code=district_code,
        month=Month.parse(month) if month else None,
        kind=kind.value if kind else None,
    )
    counts = service.findings_counts(session, samples)
    return [sample_summary(s, counts[s.id]) for s in samples]


@router.get("/audit-samples/{sample_id}", response_model=SampleOut, summary="抽查样本详情")
def get_sample(sample: VisibleSample, session: SessionDep):
    return _sample_detail(session, sample)


@router.get(
    "/audit-samples/{sample_id}/population",
    response_model=PopulationOut,
    summary="抽查样本的总体(供独立复核抽取结果)",
)
def get_population(sample: VisibleSample, session: SessionDep):
    drawn = set(service.drawn_elder_ids(session, sample))
    return population_out(sample, service.stored_population(session, sample), drawn)


@router.get(
    "/audit-samples/{sample_id}/verify",
    response_model=VerifyOut,
    summary="复核抽取结果:按公开种子与总体重新计算",
)
def verify_sample(sample: VisibleSample, session: SessionDep):
    return service.verify(session, sample)


@router.post(
    "/audit-samples/{sample_id}/findings",
    status_code=status.HTTP_201_CREATED,
    response_model=FindingOut,
    summary="录入抽查结论(认定虚假服务的核销不予结算或追回)",
)
def record_finding(sample: VisibleSample, body: FindingCreate, session: SessionDep, caller: Inspector):
    finding = audit_findings.record_finding(
        session,
        caller,
        sample,
        elder_id=body.elder_id,
        outcome=body.outcome.value,
        note=body.note,
        redemption_ids=body.redemption_ids,
    )
    return _findings(session, [finding])[0]


@router.get("/audit-samples/{sample_id}/findings", response_model=list[FindingOut], summary="样本的抽查结论")
def sample_findings(sample: VisibleSample, session: SessionDep):
    return _findings(session, audit_findings.findings_of_sample(session, sample))


@router.get("/audit-findings", response_model=FindingPage, summary="抽查结论列表(按区、月份、结论)")
def list_findings(
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode | None, Query()] = None,
    month: Annotated[MonthText | None, Query()] = None,
    outcome: Annotated[FindingOutcome | None, Query()] = None,
    provider_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    findings, total = audit_findings.list_findings(
        session,
        caller,
        district_code=district_code,
        month=Month.parse(month) if month else None,
        outcome=outcome.value if outcome else None,
        provider_id=provider_id,
        limit=limit,
        offset=offset,
    )
    return FindingPage(items=_findings(session, findings), total=total, limit=limit, offset=offset)
