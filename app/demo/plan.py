"""What a demo load is: its instants and sizes, fixed when it starts (:class:`DemoPlan`), who
makes it, and what it made (:class:`DemoSummary`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.auth.principal import Principal, Role
from app.models.providers import Provider
from app.rules.months import Month

DEMO_ACTOR = Principal(role=Role.CITY_ADMIN, subject_id="demo-loader")
DEMO_TRIGGER = "demo"  # the job runs' trigger


@dataclass(frozen=True)
class DemoPlan:
    now: datetime  # read once when the load starts
    elders_per_district: int
    seed: int
    districts: tuple[str, ...]
    # The previous month is loaded complete only when it is inside the programme period.
    with_previous: bool

    @property
    def current(self) -> Month:
        return Month.containing(self.now)

    @property
    def previous(self) -> Month:
        return self.current.previous()

    @property
    def registered_at(self) -> datetime:
        """Registered and approved at 08:00 on the 1st of the previous month (or of this month,
        when the previous one is outside the programme): services come after the approval."""
        first = (self.previous if self.with_previous else self.current).starts_at()
        return min(first + timedelta(hours=8), self.now)

    @property
    def units(self) -> int:
        """Progress units: staff; per district its providers, its elders and their redemptions
        this month; this month's issue. With the previous month: its issue, planting,
        redemptions, expiry, the anomaly scan and the rectification order."""
        n, districts = self.elders_per_district, len(self.districts)
        total = 1 + districts * (1 + n + n) + 1
        if self.with_previous:
            total += 1 + 1 + districts * n + 1 + 1 + 1
        return total


@dataclass
class DemoRegistry:
    """The registry a load made, for the phases after it."""

    staff: dict[str, Principal]  # by token
    providers: dict[str, list[Provider]]  # by district, in DEMO_PROVIDERS order
    approved: dict[str, list[uuid.UUID]]  # approved elders' ids by district, in ID-number order


@dataclass
class DemoSummary:
    loaded: bool
    staff_tokens: list[tuple[str, str, str]] = field(default_factory=list)
    provider_keys: list[tuple[str, str, str]] = field(default_factory=list)
    elders: dict[str, int] = field(default_factory=dict)  # created, per district
    redemptions: int = 0  # posted in the current month
    current_month: str | None = None  # "YYYY-MM"
    previous_month: str | None = None  # "YYYY-MM"; None when it is outside the programme (skipped)
    previous_month_redemptions: int = 0  # posted in the previous month
    previous_month_expired: int = 0  # vouchers the expiry job closed for the previous month
    previous_month_released_fen: int = 0  # their unused balances, returned to the programme
    anomalies: int = 0  # open anomaly warnings: in-line ones of both months and the previous month's scan
    rectifications: int = 0  # open rectification orders
