"""Errors of the elders module (the older ones still live in app/errors.py), and the error each
refusal of app.rules.elder_status raises."""

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
