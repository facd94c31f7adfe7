"""Natural months (自然月) as values. Every policy month is a Beijing calendar month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH_RE.fullmatch(text)
        if not match or match.group(1) == "0000":
            raise ValueError(f"not a month in YYYY-MM form: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def containing(cls, moment: datetime) -> Month:
        """The Beijing month an aware instant falls in."""
        return cls.of(moment.astimezone(BEIJING).date())

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def starts_at(self) -> datetime:
        """00:00:00 Beijing time on the 1st: the first instant of the month."""
        return datetime.combine(self.first_day, time.min, tzinfo=BEIJING)

    def ends_at(self) -> datetime:
        """The first instant after the month (exclusive end)."""
        return self.next().starts_at()

    def contains(self, moment: datetime) -> bool:
        return self.starts_at() <= moment < self.ends_at()

    def months_until(self, other: Month) -> int:
        return (other.year - self.year) * 12 + (other.month - self.month)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)
