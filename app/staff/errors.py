"""Errors of the staff (stable codes, Chinese titles)."""

from __future__ import annotations

from app.errors import AppError


# --- staff and providers ---------------------------------------------------------------------
class InvalidRole(AppError):
    code, status, title = "INVALID_ROLE", 422, "角色与行政区不匹配"
