"""Errors of provider sanctions (stable codes, Chinese titles), and the error each refusal of the
sanction rules (app/rules/sanctions.py) is answered with."""

from __future__ import annotations

from app.errors import AppError


class AlreadyBlacklisted(AppError):
    code, status, title = "ALREADY_BLACKLISTED", 409, "该机构已在失信联合惩戒对象名单中"


class BlacklistAlreadyLifted(AppError):
    code, status, title = "BLACKLIST_ALREADY_LIFTED", 409, "该失信联合惩戒记录已解除"


class RectificationAlreadyOpen(AppError):
    code, status, title = "RECTIFICATION_ALREADY_OPEN", 409, "该服务机构已有未结束的整改通知"


class RectificationClosed(AppError):
    code, status, title = "RECTIFICATION_CLOSED", 409, "该整改通知已结束"


class ProviderDisqualified(AppError):
    code, status, title = "PROVIDER_DISQUALIFIED", 409, "服务机构已被取消资格"
