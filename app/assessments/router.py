"""Ability assessments (二(二), attachment 5): agencies submit, the elder's district decides.

Submitting: an assessment agency's own key, or a city admin / the elder's district civil
officer entering a paper record. Deciding: the elder's district civil officer or a city admin.
Reading: staff in scope (auditors and city admins city-wide), an agency its own records.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.orm import Session

from app import clock
from app.assessments import decision, service, submission
from app.assessments.schemas import (
    AssessmentApprove,
    AssessmentCreate,
    AssessmentDecided,
    AssessmentItemsOut,
    AssessmentOut,
    AssessmentPage,
    AssessmentReject,
    AssessmentStatusOut,
    Status,
)
from app.auth.principal import Principal, Role
from app.deps import READ_ONLY_METHODS, AnyPrincipal, RegistryOfficer, SessionDep, require_roles
from app.elders.dependencies import VisibleElder
from app.elders.schemas import ElderOut
from app.models.assessments import Assessment
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import MAX_OFFSET, DistrictCode, MonthText, problem_responses

router = APIRouter(
    route_class=TransactionRetryRoute,
    tags=["assessments"],
    responses=problem_responses(401, 403, 404, 422),
)

Submitter = Annotated[Principal, Depends(require_roles(Role.CITY_ADMIN, Role.DISTRICT_CIVIL, Role.PROVIDER))]


def visible_assessment(
    assessment_id: str, request: Request, session: SessionDep, caller: AnyPrincipal
) -> Assessment:
    return service.get_visible_assessment(
        session, caller, assessment_id, for_update=request.method not in READ_ONLY_METHODS
    )


VisibleAssessment = Annotated[Assessment, Depends(visible_assessment)]


def _shown(session: Session, assessments: list[Assessment]) -> list[AssessmentOut]:
    names = service.agency_names(session, assessments)
    return [AssessmentOut.of(a, names) for a in assessments]


def _one(session: Session, assessment: Assessment) -> AssessmentOut:
    return _shown(session, [assessment])[0]


@router.post(
    "/assessments",
    status_code=status.HTTP_201_CREATED,
    response_model=AssessmentOut,
    summary="提交能力评估结果(系统按 GB/T 42195-2022 计算能力等级,待区民政部门审批)",
    responses=problem_responses(409),
)
def submit_assessment(body: AssessmentCreate, session: SessionDep, caller: Submitter):
    return _one(session, submission.submit(session, caller, body))


@router.get("/assessments", response_model=AssessmentPage, summary="能力评估记录列表")
def list_assessments(
    session: SessionDep,
    caller: AnyPrincipal,
    district_code: Annotated[DistrictCode | None, Query(description="老年人所在区")] = None,
    elder_id: Annotated[str | None, Query(max_length=64)] = None,
    agency_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Status | None, Query()] = None,
    month: Annotated[MonthText | None, Query(description="评估日期所在月份")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    found, total = service.list_assessments(
        session,
        caller,
        district_code=district_code,
        elder_id=elder_id,
        agency_id=agency_id,
        status=status,
        month=Month.parse(month) if month else None,
        limit=limit,
        offset=offset,
    )
    return AssessmentPage(items=_shown(session, found), total=total, limit=limit, offset=offset)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut, summary="能力评估记录")
def get_assessment(assessment: VisibleAssessment, session: SessionDep):
    return _one(session, assessment)


@router.post(
    "/assessments/{assessment_id}/approve",
    response_model=AssessmentDecided,
    summary="审批通过能力评估(评估等级成为老年人的能力等级,资格随之重新判定)",
    responses=problem_responses(409),
)
def approve_assessment(
    assessment: VisibleAssessment,
    session: SessionDep,
    caller: RegistryOfficer,
    body: AssessmentApprove | None = None,
):
    decided, elder = decision.approve(session, caller, assessment, note=body.note if body else None)
    names = service.agency_names(session, [decided])
    return AssessmentDecided.of_decision(decided, names, ElderOut.of(elder, clock.today()))


@router.post(
    "/assessments/{assessment_id}/reject",
    response_model=AssessmentOut,
    summary="驳回能力评估(记录保留,老年人信息不变)",
    responses=problem_responses(409),
)
def reject_assessment(
    body: AssessmentReject, assessment: VisibleAssessment, session: SessionDep, caller: RegistryOfficer
):
    return _one(session, decision.reject(session, caller, assessment, note=body.note))


@router.get(
    "/elders/{elder_id}/assessments",
    response_model=list[AssessmentOut],
    summary="老年人的能力评估记录(全部历史)",
)
def elder_assessments(elder: VisibleElder, session: SessionDep):
    return _shown(session, service.elder_assessments(session, elder))


@router.get(
    "/elders/{elder_id}/assessment-status",
    response_model=AssessmentStatusOut,
    summary="是否需要重新评估(二(二):2026年前有效评估、失能护理补贴400/600元档可不重新评估)",
)
def elder_assessment_status(elder: VisibleElder, session: SessionDep):
    return service.assessment_status(session, elder, clock.today())


@router.get(
    "/reference/assessment-items",
    response_model=AssessmentItemsOut,
    summary="老年人能力评估项目及分值(GB/T 42195-2022)",
)
def assessment_items(_caller: AnyPrincipal):
    return AssessmentItemsOut.gbt_42195()
