"""Errors of the providers module (the older ones still live in app/errors.py), and the error
each refusal of the registration rules (app/rules/listing.py) is answered with."""

from __future__ import annotations

from app.errors import AppError


class AssessmentAgencyConflict(AppError):
    """一(四): an organisation registered as an assessment agency anywhere may not be a care
    provider anywhere, and the other way round."""

    code, status, title = "ASSESSMENT_AGENCY_CONFLICT", 409, "评估经办机构不得同时作为养老服务机构登记"


class ProviderBlacklisted(AppError):
    code, status, title = "PROVIDER_BLACKLISTED", 409, "该机构已被纳入失信联合惩戒对象名单,不得登记或纳入名单"
