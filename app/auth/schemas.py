from __future__ import annotations

from app.schemas import ResponseModel


class WhoAmI(ResponseModel):
    role: str
    subject_id: str
    district_code: str | None
