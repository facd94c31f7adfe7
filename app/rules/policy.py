"""Choosing the subsidy policy in force for a month (一(五), 一(六), 一(七)).

Policy values live in effective-dated rows (table ``policy_rules``); a change "from month X" is
one new row. This module only picks and applies them, with no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from app.rules.months import Month


class Category(StrEnum):
    ASSESSMENT = "assessment"  # 评估服务 (item 1)
    INSTITUTION = "institution"  # 机构服务 (items 2-4)
    HOME_COMMUNITY = "home_community"  # 居家社区服务 (items 5-51)


@dataclass(frozen=True)
class PolicyTerms:
    effective_from: Month
    home_community_rate: Decimal
    institution_rate: Decimal
    monthly_cap_fen: int
    central_share: Decimal
    city_share: Decimal
    district_share: Decimal

    def __post_init__(self) -> None:
        for rate in (self.home_community_rate, self.institution_rate):
            if not Decimal(0) < rate <= Decimal(1):
                raise ValueError(f"deduction rate out of (0, 1]: {rate}")
        if self.monthly_cap_fen <= 0:
            raise ValueError("monthly cap must be positive")
        shares = (self.central_share, self.city_share, self.district_share)
        if any(share < 0 for share in shares) or sum(shares) != Decimal(1):
            raise ValueError("funding shares must be non-negative and sum to exactly 1")

    def rate_for(self, category: Category) -> Decimal | None:
        """The deduction rate of a category; None where the monthly voucher does not apply."""
        return {
            Category.HOME_COMMUNITY: self.home_community_rate,
            Category.INSTITUTION: self.institution_rate,
        }.get(category)


@dataclass(frozen=True)
class ProgramPeriod:
    first_month: Month
    last_month: Month

    def includes(self, month: Month) -> bool:
        return self.first_month <= month <= self.last_month


def terms_in_force(rows: Iterable[PolicyTerms], month: Month) -> PolicyTerms | None:
    """The row with the latest ``effective_from`` not after ``month``."""
    candidates = [row for row in rows if row.effective_from <= month]
    return max(candidates, key=lambda row: row.effective_from, default=None)
