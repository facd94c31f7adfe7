"""Errors of the provider registry (stable codes, Chinese titles); its decisions' refusals
(app/rules/listing.py) are answered with them by code (app.errors.error_for)."""

from __future__ import annotations

from app.errors import AppError


class AssessmentAgencyConflict(AppError):
    """一(四): an organisation registered as an assessment agency anywhere may not be a care
    provider anywhere, and the other way round."""

    code, status, title = "ASSESSMENT_AGENCY_CONFLICT", 409, "评估经办机构不得同时作为养老服务机构登记"


class ProviderBlacklisted(AppError):
    code, status, title = "PROVIDER_BLACKLISTED", 409, "该机构已被纳入失信联合惩戒对象名单,不得登记或纳入名单"


class InvalidCreditCode(AppError):
    code, status, title = "INVALID_CREDIT_CODE", 422, "统一社会信用代码校验失败"


class ProviderExists(AppError):
    code, status, title = "PROVIDER_EXISTS", 409, "该服务机构已在本区登记"


class InvalidParent(AppError):
    code, status, title = "INVALID_PARENT", 422, "上级区域养老服务中心无效"


class InvalidStatusTransition(AppError):
    code, status, title = "INVALID_STATUS_TRANSITION", 409, "服务机构状态变更不被允许"
