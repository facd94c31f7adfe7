"""Anomaly warnings (京民发〔2026〕6号 四(二) "异常交易预警", 四(三) "先涨价后抵扣"): the rules.

Each rule has a stable code and a threshold from the settings (``VOUCHER_ANOMALIES__*``,
:class:`Thresholds`); docs/anomalies.md says why each exists. The cheap rules are evaluated as a
redemption is posted (:func:`inline_findings`); the nightly scan evaluates every rule over a
whole month as set-based SQL (app/anomalies/scan.py) whose conditions are the functions
below, so that the two can be read, and tested, side by side.

Pure: standard library only, no database, no clock (``today`` and instants are arguments).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from app.rules.months import BEIJING, Month

PRICE_ABOVE_REFERENCE = "PRICE_ABOVE_REFERENCE"
PRICE_JUMP = "PRICE_JUMP"
OVERLAPPING_SERVICE = "OVERLAPPING_SERVICE"
TOO_MANY_SERVICES_PER_DAY = "TOO_MANY_SERVICES_PER_DAY"
NIGHT_HOME_SERVICE = "NIGHT_HOME_SERVICE"
FIRST_DAY_DRAIN = "FIRST_DAY_DRAIN"
REDEEMED_AFTER_SUSPENSION = "REDEEMED_AFTER_SUSPENSION"
SERVICE_AFTER_DEATH = "SERVICE_AFTER_DEATH"


@dataclass(frozen=True)
class Rule:
    code: str
    title: str  # shown to district staff
    inline: bool  # also checked as each redemption is posted (the nightly scan checks all)


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(PRICE_ABOVE_REFERENCE, "消费金额高于项目清单参考价上限", inline=True),
        Rule(PRICE_JUMP, "服务机构同一项目价格较近期中位数明显上涨(先涨价后抵扣)", inline=False),
        Rule(OVERLAPPING_SERVICE, "同一老年人同一时段由两家服务机构服务", inline=False),
        Rule(TOO_MANY_SERVICES_PER_DAY, "同一老年人单日服务次数异常多", inline=False),
        Rule(NIGHT_HOME_SERVICE, "夜间上门服务", inline=True),
        Rule(FIRST_DAY_DRAIN, "服务机构在月初第一天集中用尽多张消费券", inline=False),
        Rule(REDEEMED_AFTER_SUSPENSION, "老年人停发(含身故)登记后仍有核销", inline=True),
        Rule(SERVICE_AFTER_DEATH, "服务日期在老年人身故之日或之后", inline=True),
    )
}
RULE_CODES = tuple(RULES)


@dataclass(frozen=True)
class Thresholds:
    """The rules' thresholds; the defaults are the settings' defaults (docs/anomalies.md)."""

    price_tolerance_percent: int = 0
    price_jump_percent: int = 30
    price_baseline_months: int = 3
    price_baseline_min_redemptions: int = 5
    overlap_minutes: int = 30
    max_services_per_elder_day: int = 12
    night_start_hour: int = 22
    night_end_hour: int = 6
    night_exempt_items: frozenset[int] = field(default_factory=lambda: frozenset({28}))
    drain_min_vouchers: int = 10
    scan_previous_month_days: int = 5

    @classmethod
    def of(cls, values: dict[str, Any]) -> Thresholds:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        if "night_exempt_items" in known:
            known["night_exempt_items"] = frozenset(known["night_exempt_items"])
        return cls(**known)


@dataclass(frozen=True)
class Finding:
    rule: str
    evidence: dict[str, Any]


# --- PRICE_ABOVE_REFERENCE -----------------------------------------------------------------------
def above_reference(amount_fen: int, ref_price_max_fen: int | None, tolerance_percent: int) -> bool:
    """The amount exceeds the catalogue's reference maximum by more than the tolerance.
    Integer arithmetic: amount × 100 > max × (100 + tolerance). Items without a reference
    price (contract-priced institutional care, 2–6, 37) never trigger."""
    if ref_price_max_fen is None:
        return False
    return amount_fen * 100 > ref_price_max_fen * (100 + tolerance_percent)


# --- PRICE_JUMP ----------------------------------------------------------------------------------
def lower_median(values: Iterable[int]) -> int:
    """The lower median (the ⌈n/2⌉-th smallest): always one of the provider's real prices, and
    computable in portable SQL with ROW_NUMBER (row 2·rn − n ∈ {0, 1})."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of nothing")
    return ordered[(len(ordered) + 1) // 2 - 1]


def price_jumped(amount_fen: int, median_fen: int, jump_percent: int) -> bool:
    """A price more than ``jump_percent`` above the provider's own recent median for the item."""
    return amount_fen * 100 > median_fen * (100 + jump_percent)


def baseline_months(month: Month, months: int) -> tuple[Month, Month]:
    """The months whose prices make the baseline: the ``months`` whole months before ``month``."""
    return month.plus(-months), month.previous()


# --- NIGHT_HOME_SERVICE --------------------------------------------------------------------------
def is_night(local: time, start_hour: int, end_hour: int) -> bool:
    """Beijing wall-clock time inside [start_hour:00, end_hour:00), wrapping midnight when
    start > end (22 → 6). start == end means no night at all (the rule is off)."""
    start, end = time(start_hour), time(end_hour)
    if start_hour > end_hour:
        return local >= start or local < end
    return start <= local < end


def night_windows(month: Month, start_hour: int, end_hour: int) -> list[tuple[datetime, datetime]]:
    """The month's nights as [start, end) instants (Beijing-aware), including the one that begins
    the evening before the 1st. SQL compares served_at (UTC) with these: no time-zone function
    in the database."""
    windows = []
    day = month.first_day - timedelta(days=1)
    while day <= month.last_day:
        if start_hour > end_hour:
            start = datetime.combine(day, time(start_hour), BEIJING)
            end = datetime.combine(day + timedelta(days=1), time(end_hour), BEIJING)
            windows.append((start, end))
        elif start_hour < end_hour and day >= month.first_day:
            windows.append(
                (
                    datetime.combine(day, time(start_hour), BEIJING),
                    datetime.combine(day, time(end_hour), BEIJING),
                )
            )
        day += timedelta(days=1)
    return windows


def night_service(
    served_at: datetime, category: str, item: int, start_hour: int, end_hour: int, exempt: frozenset[int]
) -> bool:
    """A home/community service (上门、社区) served at night; exempt items (助急) are not."""
    if category != "home_community" or item in exempt:
        return False
    return is_night(served_at.astimezone(BEIJING).time(), start_hour, end_hour)


# --- TOO_MANY_SERVICES_PER_DAY -------------------------------------------------------------------
def local_days(month: Month) -> list[tuple[date, datetime]]:
    """Each Beijing day of the month with its first instant, for grouping by day in SQL."""
    return [
        (day, datetime.combine(day, time.min, BEIJING))
        for day in (month.first_day + timedelta(days=n) for n in range(month.last_day.day))
    ]


def too_many_services(count: int, max_per_day: int) -> bool:
    return count > max_per_day


# --- OVERLAPPING_SERVICE -------------------------------------------------------------------------
def overlapping(gap_seconds: int, overlap_minutes: int) -> bool:
    """Two services of one elder by different providers starting less than ``overlap_minutes``
    apart (served_at is when a service starts; the catalogue's durations are at least that)."""
    return 0 <= gap_seconds < overlap_minutes * 60


# --- FIRST_DAY_DRAIN -----------------------------------------------------------------------------
def first_day(month: Month) -> tuple[datetime, datetime]:
    """The 1st of the month, 00:00 to 24:00 Beijing time."""
    start = month.starts_at()
    return start, start + timedelta(days=1)


def voucher_drained(deduction_fen: int, face_value_fen: int) -> bool:
    """One provider's first-day deductions took the whole voucher."""
    return deduction_fen >= face_value_fen


def drain_flagged(vouchers_drained: int, min_vouchers: int) -> bool:
    return vouchers_drained >= min_vouchers


# --- REDEEMED_AFTER_SUSPENSION -------------------------------------------------------------------
def after_suspension(served_at: datetime, suspended_at: datetime | None) -> bool:
    """Served at or after the moment the district recorded the suspension (or death)."""
    return suspended_at is not None and served_at >= suspended_at


# --- SERVICE_AFTER_DEATH -------------------------------------------------------------------------
def served_after_death(served_at: datetime, died_on: date | None) -> bool:
    """A service on or after the Beijing day of death recorded by the district (the day counts:
    nobody serves an elder on the day the elder died, in good faith, without the record saying
    so; the district checks)."""
    return died_on is not None and served_at.astimezone(BEIJING).date() >= died_on


# --- in-line -------------------------------------------------------------------------------------
def inline_findings(
    *,
    amount_fen: int,
    ref_price_max_fen: int | None,
    category: str,
    item: int,
    served_at: datetime,
    thresholds: Thresholds,
    suspended_at: datetime | None = None,
    suspension_reason: str | None = None,
    status_change_id: int | None = None,
    died_on: date | None = None,
) -> list[Finding]:
    """The rules cheap enough for the point of service: they need only the redemption, its
    catalogue line and the elder row already read to accept it."""
    t = thresholds
    found = []
    if above_reference(amount_fen, ref_price_max_fen, t.price_tolerance_percent):
        found.append(
            Finding(
                PRICE_ABOVE_REFERENCE,
                {
                    "item": item,
                    "amount_fen": amount_fen,
                    "ref_price_max_fen": ref_price_max_fen,
                    "tolerance_percent": t.price_tolerance_percent,
                },
            )
        )
    if night_service(served_at, category, item, t.night_start_hour, t.night_end_hour, t.night_exempt_items):
        found.append(
            Finding(
                NIGHT_HOME_SERVICE,
                {
                    "item": item,
                    "night_start_hour": t.night_start_hour,
                    "night_end_hour": t.night_end_hour,
                },
            )
        )
    if after_suspension(served_at, suspended_at):
        found.append(
            Finding(
                REDEEMED_AFTER_SUSPENSION,
                {"suspension_reason": suspension_reason, "status_change_id": status_change_id},
            )
        )
    if served_after_death(served_at, died_on):
        found.append(
            Finding(
                SERVICE_AFTER_DEATH,
                {
                    "died_on": died_on.isoformat(),
                    "served_on": served_at.astimezone(BEIJING).date().isoformat(),
                },
            )
        )
    return found


# --- the nightly schedule ------------------------------------------------------------------------
def scan_months(today: date, previous_month_days: int) -> list[Month]:
    """The months the nightly scan covers: the current one, and in its first
    ``previous_month_days`` days also the previous one (its last day, and anything posted late)."""
    current = Month.of(today)
    if today.day <= previous_month_days:
        return [current.previous(), current]
    return [current]
