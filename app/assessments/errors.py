"""Errors of ability assessments (stable codes, Chinese titles), and the error each refusal of
app.rules.assessment_review raises."""

from __future__ import annotations

from app.errors import AppError


class InvalidScores(AppError):
    # ``errors`` lists every problem (app.rules.assessment.ScoreProblem.as_dict()).
    code, status, title = "INVALID_SCORES", 422, "能力评估评分无效"


class NotAnAssessmentAgency(AppError):
    code, status, title = "NOT_AN_ASSESSMENT_AGENCY", 422, "评估机构须为已登记的评估经办机构"


class AgencyNotListed(AppError):
    code, status, title = "ASSESSMENT_AGENCY_NOT_LISTED", 409, "评估经办机构不在补贴服务名单内"


class AssessorConflictOfInterest(AppError):
    code, status, title = (
        "ASSESSOR_CONFLICT_OF_INTEREST",
        409,
        "评估人员所在机构为该老年人提供过补贴服务,应当回避",
    )


class AssessmentPending(AppError):
    code, status, title = "ASSESSMENT_PENDING", 409, "该老年人已有待审批的能力评估"


class AssessmentAlreadyDecided(AppError):
    code, status, title = "ASSESSMENT_ALREADY_DECIDED", 409, "该能力评估已审批,不能再次审批"


class AssessmentResultExpired(AppError):
    code, status, title = "ASSESSMENT_RESULT_EXPIRED", 409, "该能力评估结论已超过有效期"


class AssessmentSuperseded(AppError):
    code, status, title = "ASSESSMENT_SUPERSEDED", 409, "该老年人已有评估日期更晚的评估结论"
