"""What every decision returns when the request may not go ahead: the API's error code, with an
optional message and extra problem fields. The service turns it into its problem+json error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Refusal:
    code: str  # the API's error code
    detail: str | None = None  # None: the error's title
    extra: tuple[tuple[str, Any], ...] = ()  # more members of the problem+json body
