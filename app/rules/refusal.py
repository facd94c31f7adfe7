"""A pure decision's "no", as a value.

Decisions return a ``Refusal`` instead of raising, so that their tables read as plain values
(``tests/rules/``). The domain's service turns it into the domain's ``AppError`` (by ``code``)
right after the decision, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    code: str  # the API's error code
    detail: str  # what the caller is told (Simplified Chinese)
