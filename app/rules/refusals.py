"""A pure decision's "no", as a value: the API's error code, with an optional message and extra
problem fields.

Decisions return a ``Refusal`` instead of raising, so that their tables read as plain values
(``tests/rules/``). The domain's service turns it into the domain's ``AppError`` (by ``code``)
right after the decision, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Refusal:
    code: str  # the API's error code
    detail: str | None = None  # None: the error's title
    extra: tuple[tuple[str, Any], ...] = ()  # more members of the problem+json body
