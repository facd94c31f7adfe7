"""Quarterly progress reports (季度进展报告) and the annual work summary (工作总结): which months
they hold, when they are due, the utilisation ratio, and whether a report may be submitted.
Pure: no I/O, no clock (``now`` is an argument), no floats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.rules.months import Month
from app.rules.refusals import Refusal

ANNUAL = "annual"
QUARTERLY = "quarterly"

# Reports are due on the 25th of the quarter's last month: 3/25, 6/25, 9/25, 12/25.
REPORT_DUE_DAY = 25
UTILISATION_PLACES = 4


def quarter_months(year: int, quarter: int) -> tuple[Month, Month, Month]:
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1..4, not {quarter}")
    first = Month(year, 3 * quarter - 2)
    return first, first.next(), first.next().next()


def report_due_on(year: int, quarter: int) -> date:
    """The day the district's report for ``quarter`` is due (the 25th of its last month)."""
    return date(year, quarter_months(year, quarter)[-1].month, REPORT_DUE_DAY)


def utilisation(deduction_fen: int, face_value_fen: int) -> Decimal | None:
    """deduction / face value to 4 places, halves rounded up, computed in integers so that no
    intermediate rounding can move a half; None when nothing was issued."""
    if face_value_fen <= 0:
        return None
    if deduction_fen < 0:
        raise ValueError("deduction cannot be negative")
    scale = 10**UTILISATION_PLACES
    # round_half_up(n * scale / d) == floor((2 * n * scale + d) / (2 * d)) for n, d >= 0
    quotient = (2 * deduction_fen * scale + face_value_fen) // (2 * face_value_fen)
    return (Decimal(quotient) / scale).quantize(Decimal(1).scaleb(-UTILISATION_PLACES))


def utilisation_text(deduction_fen: int, face_value_fen: int) -> str | None:
    ratio = utilisation(deduction_fen, face_value_fen)
    return None if ratio is None else f"{ratio:.{UTILISATION_PLACES}f}"


# 三(三): "各区民政部门、财政部门于2026年12月10日前 … 形成工作总结报市民政局、财政局".
ANNUAL_DUE_MONTH_DAY = (12, 10)


def annual_due_on(year: int) -> date:
    """The day the district's annual work summary for ``year`` is due (12/10)."""
    return date(year, *ANNUAL_DUE_MONTH_DAY)


def summary_months(year: int, first: Month, last: Month, current: Month) -> list[Month]:
    """The months an annual summary covers: the program's months of ``year`` that have begun (a
    summary due on 12/10 reports December so far)."""
    return [m for m in (Month(year, n) for n in range(1, 13)) if first <= m <= last and m <= current]


def submitted_late(submitted_on: date, due_on: date) -> bool:
    """A report submitted after its due day (the Beijing date of submission; the day itself is in
    time)."""
    return submitted_on > due_on


def report_overdue(today: date, due_on: date, submitted: bool) -> bool:
    """Not submitted and the due day has passed."""
    return not submitted and today > due_on


def report_period_starts(year: int, quarter: int) -> date:
    """The first day a report's period covers (quarter 0: the annual summary, the year)."""
    return date(year, 3 * quarter - 2, 1) if quarter else date(year, 1, 1)


def report_due(kind: str, year: int, quarter: int) -> date:
    """The due day of a quarterly report (quarter 1-4) or of the annual summary (quarter 0)."""
    return annual_due_on(year) if kind == ANNUAL else report_due_on(year, quarter)


@dataclass(frozen=True)
class Submission:
    """A report to record as submitted now."""

    quarter: int  # 0: the annual summary
    due_on: date
    late: bool


def decide_submission(kind: str, year: int, quarter: int | None, now: datetime) -> Refusal | Submission:
    """REPORT_NOT_DUE before the report's period has begun; else the submission, late when made
    after the due day. (Once only: the stored submissions' unique key refuses a second one.)"""
    quarter = quarter if kind == QUARTERLY and quarter else 0
    if now.date() < report_period_starts(year, quarter):
        return Refusal("REPORT_NOT_DUE", "报告期尚未开始,不能报送")
    due = report_due(kind, year, quarter)
    return Submission(quarter, due, submitted_late(now.date(), due))
