"""The error each refusal of the provider list rules (app/rules/provider_list.py) is answered
with (the error classes themselves still live in app/errors.py)."""

from __future__ import annotations

from app.errors import AppError, ListAlreadyPublished, MonthNotEnded, NoPolicyForMonth
from app.rules.refusal import Refusal

_REFUSALS: dict[str, type[AppError]] = {
    error.code: error for error in (ListAlreadyPublished, MonthNotEnded, NoPolicyForMonth)
}


def refused(refusal: Refusal) -> AppError:
    return _REFUSALS[refusal.code](refusal.detail)
