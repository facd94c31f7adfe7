"""Errors of the providers' list publication (stable codes, Chinese titles)."""

from __future__ import annotations

from app.errors import AppError


class ListAlreadyPublished(AppError):
    code, status, title = "LIST_ALREADY_PUBLISHED", 409, "该区该月的服务机构变动名单已公布"
