"""Which month-start jobs are due at a given instant (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.rules.months import Month
from app.rules.policy import ProgramPeriod


@dataclass(frozen=True, order=True)
class DueJob:
    job: str  # "expire" | "issue"
    month: Month


def due_jobs(
    now: datetime,
    period: ProgramPeriod,
    *,
    months_with_active_vouchers: list[Month],
    issued_months: set[Month],
) -> list[DueJob]:
    """Expire every ended month that still holds active vouchers (so missed runs catch up),
    then issue the current month if it is in the program and not issued yet. Expiry first: the
    policy's month end releases last month's money before the new month's vouchers exist."""
    current = Month.containing(now)
    jobs = [DueJob("expire", month) for month in sorted(months_with_active_vouchers) if month < current]
    if period.includes(current) and current not in issued_months:
        jobs.append(DueJob("issue", current))
    return jobs
