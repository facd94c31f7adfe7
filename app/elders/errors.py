"""Errors of the elder registry (stable codes, Chinese titles); the refusals of
app.rules.elder_status are answered with them by code (app.errors.error_for)."""

from __future__ import annotations

from app.errors import AppError


class ElderDeceased(AppError):
    """Death is final: a deceased elder is never approved or re-activated again; only a city
    admin corrects a mistaken death record (POST /elders/{id}/correct-death)."""

    code, status, title = "ELDER_DECEASED", 409, "老年人已登记身故,不能再审核通过"


class NotDeceased(AppError):
    code, status, title = "NOT_DECEASED", 409, "该老年人没有身故登记,无需更正"


class InvalidDeathDate(AppError):
    code, status, title = "INVALID_DEATH_DATE", 422, "身故日期无效"


# --- elders ----------------------------------------------------------------------------------
class InvalidIdNumber(AppError):
    code, status, title = "INVALID_ID_NUMBER", 422, "身份证号码校验失败"


class ElderExists(AppError):
    code, status, title = "ELDER_EXISTS", 409, "该身份证号码已提交申请"


class NotEligible(AppError):
    code, status, title = "NOT_ELIGIBLE", 409, "老年人不符合补贴条件"


class InvalidAssessmentDate(AppError):
    code, status, title = "INVALID_ASSESSMENT_DATE", 422, "评估日期无效"


class ElderNotFound(AppError):
    code, status, title = "ELDER_NOT_FOUND", 404, "未找到该老年人"


class InvalidEnrolment(AppError):
    code, status, title = "INVALID_ENROLMENT", 422, "项目登记信息无效"
