"""Request and response shapes of provider sanctions; each response is built here from its rows
(``of``), so the JSON of the API has one home."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StringConstraints

from app.models.providers import ProviderStatusChange
from app.models.sanctions import BlacklistEntry, RectificationOrder
from app.rules.sanctions import EscalationAction, RectificationStatus, is_overdue
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

    @classmethod
    def of(cls, entry: BlacklistEntry, provider_name: str) -> Self:
        return cls(
            id=str(entry.id),
            credit_code=entry.credit_code,
            provider_id=str(entry.provider_id),
            provider_name=provider_name,
            district_code=entry.district_code,
            reason=entry.reason,
            legal_basis=entry.legal_basis,
            active=entry.lifted_at is None,
            listed_at=entry.listed_at,
            listed_by=entry.listed_by,
            lifted_at=entry.lifted_at,
            lifted_by=entry.lifted_by,
            lift_reason=entry.lift_reason,
        )


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

    @classmethod
    def of(
        cls,
        order: RectificationOrder,
        *,
        provider_name: str,
        provider_status: str,
        finding_ids: list[str],
        today: date,
    ) -> Self:
        status = RectificationStatus(order.status)
        return cls(
            id=str(order.id),
            provider_id=str(order.provider_id),
            provider_name=provider_name,
            provider_status=provider_status,
            district_code=order.district_code,
            status=status,
            source=RectificationSource(order.source),
            reason=order.reason,
            working_days=order.working_days,
            opened_on=order.opened_on,
            due_on=order.due_on,
            overdue=is_overdue(status, order.due_on, today),
            opened_at=order.opened_at,
            opened_by=order.opened_by,
            trigger_finding_id=str(order.trigger_finding_id) if order.trigger_finding_id else None,
            finding_ids=finding_ids,
            closed_at=order.closed_at,
            closed_by=order.closed_by,
            close_note=order.close_note,
            escalation_action=order.escalation_action,
        )


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

    @classmethod
    def of_status_change(
        cls, change: ProviderStatusChange, kind: SanctionKind, *, provider_name: str, credit_code: str
    ) -> Self:
        """A suspension or disqualification, from the listing history."""
        return cls(
            kind=kind,
            id=str(change.id),
            provider_id=str(change.provider_id),
            provider_name=provider_name,
            credit_code=credit_code,
            district_code=change.district_code,
            at=change.changed_at,
            by=change.changed_by,
            reason=change.reason,
        )

    @classmethod
    def of_blacklisting(cls, entry: BlacklistOut) -> Self:
        return cls(
            kind=SanctionKind.BLACKLIST,
            id=entry.id,
            provider_id=entry.provider_id,
            provider_name=entry.provider_name,
            credit_code=entry.credit_code,
            district_code=entry.district_code,
            at=entry.listed_at,
            by=entry.listed_by,
            reason=entry.reason,
            blacklist=entry,
        )

    @classmethod
    def of_rectification(cls, order: RectificationOut, *, credit_code: str) -> Self:
        return cls(
            kind=SanctionKind.RECTIFICATION,
            id=order.id,
            provider_id=order.provider_id,
            provider_name=order.provider_name,
            credit_code=credit_code,
            district_code=order.district_code,
            at=order.opened_at,
            by=order.opened_by,
            reason=order.reason,
            rectification=order,
        )


class SanctionListOut(ResponseModel):
    district_code: str | None
    month: str
    counts: dict[SanctionKind, int]
    overdue_rectifications: int
    items: list[SanctionOut]

    @classmethod
    def of(cls, items: list[SanctionOut], *, district_code: str | None, month: str) -> Self:
        """Items in the order they were imposed; at the same instant (a blacklisting disqualifies,
        then lists) in the order of ``SanctionKind``: the disqualification first."""
        kinds = list(SanctionKind)
        items = sorted(items, key=lambda item: (item.at, kinds.index(item.kind), item.id))
        counts = dict.fromkeys(kinds, 0)
        for item in items:
            counts[item.kind] += 1
        return cls(
            district_code=district_code,
            month=month,
            counts=counts,
            overdue_rectifications=sum(
                1 for item in items if item.rectification and item.rectification.overdue
            ),
            items=items,
        )
