"""Provider sanctions (四(三)): rectification orders (限期整改) and when one opens by itself.

四(三): "对差评较多的养老服务机构要限期整改,整改不力的应及时取消参与资格" and the spot checks
"对发现的虚假服务、服务质量差、老年人满意度低等问题,及时依法依规处理". An order is open until the
district closes it as rectified or escalates it; it is overdue while open after its due day.
The blacklist (失信联合惩戒) binds an organisation by its credit code in every district.
Pure: thresholds, the calendar and ``today`` are arguments; refusals are returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from app.rules.calendar import WorkingCalendar, add_working_days
from app.rules.listing import ListingStatus, may_change
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal

# Audit finding outcomes that count towards the automatic rectification order. fake_service is
# the most serious of them: it counts too (it is also the district's ground for 取消资格 and the
# blacklist, which need the district's own verification and are never automatic).
SERIOUS_OUTCOMES = frozenset({"poor_quality", "low_satisfaction", "fake_service"})


class RectificationStatus(StrEnum):
    OPEN = "open"
    RECTIFIED = "rectified"  # closed: the provider put things right
    ESCALATED = "escalated"  # closed: 整改不力, the provider was suspended or disqualified


class EscalationAction(StrEnum):
    SUSPEND = "suspend"
    DISQUALIFY = "disqualify"


CLOSING_STATUSES = frozenset({RectificationStatus.RECTIFIED, RectificationStatus.ESCALATED})


def may_close(current: RectificationStatus, target: RectificationStatus) -> bool:
    """Only an open order closes, once, as rectified or escalated."""
    return current is RectificationStatus.OPEN and target in CLOSING_STATUSES


def rectification_due(opened_on: date, working_days: int, calendar: WorkingCalendar) -> date:
    """The due day: the ``working_days``-th working day after the day the order was opened
    (that day itself does not count), on the official calendar with its overrides."""
    if working_days < 1:
        raise ValueError("a rectification needs at least one working day")
    return add_working_days(opened_on, working_days, calendar)


def is_overdue(status: RectificationStatus, due_on: date, today: date) -> bool:
    """Overdue: still open after the due day (the due day itself is still in time)."""
    return status is RectificationStatus.OPEN and today > due_on


def trigger_window(finding_month: Month, window_months: int) -> tuple[Month, Month]:
    """The service months whose findings count: the ``window_months`` months ending with the
    month of the finding just recorded (e.g. 3 → 2026-01 … 2026-03 for a finding on 2026-03)."""
    if window_months < 1:
        raise ValueError("the window holds at least one month")
    return finding_month.plus(-(window_months - 1)), finding_month


def counts_towards_trigger(outcome: str) -> bool:
    return outcome in SERIOUS_OUTCOMES


def should_open_rectification(*, serious_findings: int, threshold: int, has_open_order: bool) -> bool:
    """Open an order automatically when the count reaches the threshold and none is open."""
    return not has_open_order and serious_findings >= threshold


# --- decisions -------------------------------------------------------------------------------
# Each takes the facts read under the locks and returns what to write, or a Refusal.


@dataclass(frozen=True)
class OrderTerms:
    """What an order is opened with: its working days and the due day they give."""

    working_days: int
    opened_on: date
    due_on: date


def order_terms(today: date, working_days: int, calendar: WorkingCalendar) -> OrderTerms:
    return OrderTerms(working_days, today, rectification_due(today, working_days, calendar))


def decide_manual_order(
    *,
    provider_status: ListingStatus,
    has_open_order: bool,
    requested_days: int | None,
    default_days: int,
    today: date,
    calendar: WorkingCalendar,
) -> Refusal | OrderTerms:
    """A district orders a provider to rectify: not a disqualified one (nothing to rectify), and
    not while another order is open. The working days asked for, else the setting."""
    if provider_status is ListingStatus.DISQUALIFIED:
        return Refusal("PROVIDER_DISQUALIFIED", "服务机构已被取消资格,无需整改")
    if has_open_order:
        return Refusal(
            "RECTIFICATION_ALREADY_OPEN", "该服务机构已有未结束的整改通知,请先结束后再发出新的通知"
        )
    return order_terms(today, requested_days or default_days, calendar)


@dataclass(frozen=True)
class TriggerFacts:
    """A serious finding was just recorded on a provider: what the trigger looks at."""

    provider_disqualified: bool
    has_open_order: bool
    window: tuple[Month, Month]  # trigger_window of the finding's month
    unanswered_in_window: int  # serious findings in the window no order has answered yet


@dataclass(frozen=True)
class AttachToOpenOrder:
    """The open order answers the finding too."""


@dataclass(frozen=True)
class AutomaticOrder:
    reason: str
    terms: OrderTerms


def decide_after_finding(
    facts: TriggerFacts, *, threshold: int, working_days: int, today: date, calendar: WorkingCalendar
) -> AttachToOpenOrder | AutomaticOrder | None:
    """四(三): a serious finding on a provider with an open order is attached to it; otherwise,
    when the unanswered serious findings of the window reach the threshold, an order opens by
    itself. A disqualified provider gets none (None: nothing to do)."""
    if facts.provider_disqualified:
        return None
    if facts.has_open_order:
        return AttachToOpenOrder()
    count = facts.unanswered_in_window
    if not should_open_rectification(serious_findings=count, threshold=threshold, has_open_order=False):
        return None
    first, last = facts.window
    span = str(first) if first == last else f"{first} 至 {last}"
    reason = (
        f"{span} 服务抽查发现问题 {count} 条(服务质量差、老年人满意度低或虚假服务),"
        f"达到 {threshold} 条,自动责令限期整改"
    )
    return AutomaticOrder(reason, order_terms(today, working_days, calendar))


def closing_refusal(
    status: RectificationStatus, closed_at: datetime | None, target: RectificationStatus
) -> Refusal | None:
    """RECTIFICATION_CLOSED unless the order is open (see ``may_close``)."""
    if may_close(status, target):
        return None
    closed_on = closed_at.astimezone(BEIJING).date() if closed_at else None
    return Refusal("RECTIFICATION_CLOSED", f"该整改通知已于 {closed_on} 结束({status})")


@dataclass(frozen=True)
class Escalation:
    # The provider's new listing status, with the reason for its history; None when the action
    # cannot apply to it any more (already suspended, withdrawn or disqualified).
    provider_status: ListingStatus | None
    listing_reason: str


ESCALATION_STATUSES = {
    EscalationAction.SUSPEND: ListingStatus.SUSPENDED,
    EscalationAction.DISQUALIFY: ListingStatus.DISQUALIFIED,
}


def decide_escalation(
    *,
    order_status: RectificationStatus,
    closed_at: datetime | None,
    provider_status: ListingStatus,
    action: EscalationAction,
    reason: str,
) -> Refusal | Escalation:
    """整改不力: the open order closes as escalated and the provider is suspended (or
    disqualified) when that status change is allowed from where it stands."""
    if refusal := closing_refusal(order_status, closed_at, RectificationStatus.ESCALATED):
        return refusal
    target = ESCALATION_STATUSES[action]
    return Escalation(target if may_change(provider_status, target) else None, f"整改不力:{reason}")


# --- the blacklist (失信联合惩戒) ---------------------------------------------------------------
@dataclass(frozen=True)
class RegistrationStatus:
    provider_id: UUID
    district_code: str
    status: ListingStatus


@dataclass(frozen=True)
class BlacklistingFacts:
    credit_code: str
    deciding_provider_id: UUID  # the registration the district found at fault
    deciding_district: str  # its district, which decides for the whole city
    already_blacklisted: bool  # an entry on the code not lifted yet
    registrations: tuple[RegistrationStatus, ...]  # every registration of the organisation


@dataclass(frozen=True)
class Disqualification:
    provider_id: UUID
    listing_reason: str


@dataclass(frozen=True)
class Blacklisting:
    disqualifications: tuple[Disqualification, ...]


def already_blacklisted(credit_code: str) -> Refusal:
    return Refusal("ALREADY_BLACKLISTED", f"统一社会信用代码 {credit_code} 已在失信联合惩戒对象名单中")


def decide_blacklisting(facts: BlacklistingFacts, *, reason: str) -> Refusal | Blacklisting:
    """One active entry per organisation; every registration of it not disqualified yet, in
    every district, is disqualified (another district's history says who decided)."""
    if facts.already_blacklisted:
        return already_blacklisted(facts.credit_code)
    disqualifications = []
    for registration in facts.registrations:
        if registration.status is ListingStatus.DISQUALIFIED:
            continue
        where = (
            ""
            if registration.provider_id == facts.deciding_provider_id
            else f"(由行政区 {facts.deciding_district} 认定)"
        )
        disqualifications.append(
            Disqualification(registration.provider_id, f"纳入失信联合惩戒对象{where}:{reason}")
        )
    return Blacklisting(tuple(disqualifications))


def lift_refusal(lifted_at: datetime | None) -> Refusal | None:
    """An entry is lifted (信用修复) once; it stays as history."""
    if lifted_at is None:
        return None
    return Refusal("BLACKLIST_ALREADY_LIFTED", f"该记录已于 {lifted_at.astimezone(BEIJING).date()} 解除")
