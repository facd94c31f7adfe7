"""What every decision returns when the request may not go ahead: the API's error code, with an
optional message and extra problem fields. The service turns it into its problem+json error."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    code: str  # the API's error code
    detail: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
