from __future__ import annotations

from pydantic import Field

from app.schemas import ResponseModel


class LedgerVerifyOut(ResponseModel):
    ok: bool
    entries: int
    lines: int
    vouchers_checked: int
    mismatches: list[dict] = Field(default_factory=list)
