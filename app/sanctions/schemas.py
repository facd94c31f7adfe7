from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from app.rules.sanctions import EscalationAction, RectificationStatus
from app.schemas import BeijingTime, RequestModel, ResponseModel

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class SanctionKind(StrEnum):
    SUSPENSION = "suspension"  # 暂停 (listing status suspended)
    DISQUALIFICATION = "disqualification"  # 取消资格 (listing status disqualified)
    BLACKLIST = "blacklist"  # 纳入失信联合惩戒对象
    RECTIFICATION = "rectification"  # 限期整改


class RectificationSource(StrEnum):
    MANUAL = "manual"
    AUTOMATIC = "automatic"


# --- requests --------------------------------------------------------------------------------
class BlacklistCreate(RequestModel):
    reason: Reason
    # The legal basis or reference (e.g. the verification report and 京民发〔2026〕6号 四(三)).
    legal_basis: LongText


class BlacklistLift(RequestModel):
    reason: Reason


class RectificationCreate(RequestModel):
    reason: Reason
    # Working days until the due day; the setting when absent.
    working_days: int | None = Field(None, ge=1, le=250, strict=True)


class RectificationClose(RequestModel):
    note: Reason


class RectificationEscalate(RequestModel):
    reason: Reason
    # 整改不力: suspend the provider (default) or disqualify it (四(三) "及时取消参与资格").
    action: EscalationAction = EscalationAction.SUSPEND


# --- responses -------------------------------------------------------------------------------
class BlacklistOut(ResponseModel):
    id: str
    credit_code: str
    provider_id: str
    provider_name: str
    district_code: str
    reason: str
    legal_basis: str
    active: bool
    listed_at: BeijingTime
    listed_by: str
    lifted_at: BeijingTime | None
    lifted_by: str | None
    lift_reason: str | None


class RectificationOut(ResponseModel):
    id: str
    provider_id: str
    provider_name: str
    provider_status: str
    district_code: str
    status: RectificationStatus
    source: RectificationSource
    reason: str
    working_days: int
    opened_on: date
    due_on: date
    overdue: bool
    opened_at: BeijingTime
    opened_by: str
    trigger_finding_id: str | None
    # Serious findings this order answers: counted when it opened, or recorded while open.
    finding_ids: list[str]
    closed_at: BeijingTime | None
    closed_by: str | None
    close_note: str | None
    escalation_action: EscalationAction | None


class SanctionOut(ResponseModel):
    kind: SanctionKind
    id: str  # the status change, blacklist entry or rectification order
    provider_id: str
    provider_name: str
    credit_code: str
    district_code: str
    at: BeijingTime
    by: str
    reason: str
    blacklist: BlacklistOut | None = None
    rectification: RectificationOut | None = None


class SanctionListOut(ResponseModel):
    district_code: str | None
    month: str
    counts: dict[SanctionKind, int]
    overdue_rectifications: int
    items: list[SanctionOut]
