"""Publication of the provider list (一(四)): when each district's monthly list is due.

"区民政部门应在工作方案发布后5个工作日内,首次公布纳入养老服务消费补贴项目的服务机构和企业;
次月起,每月前5个工作日内公布新增、退出的服务机构和企业名单。"

The list of a month holds that month's changes and is due on the 5th working day of the next
month. The program's first month is the first list (every provider listed then counts as added);
it cannot be due before the work plan existed, so it is due on the later of that date and the
5th working day after the plan was issued. Pure: the calendar, dates and ``now`` are arguments;
refusals are returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.rules.calendar import WorkingCalendar, add_working_days, nth_working_day_of_month
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal

PUBLICATION_WORKING_DAYS = 5
# 京民发〔2026〕6号 is dated 2026-02-14 (a make-up working day).
WORK_PLAN_ISSUED_ON = date(2026, 2, 14)

KIND_TITLES = {
    "institution": "养老机构",
    "regional_center": "区域养老服务中心",
    "partner": "专业服务商",
    "station": "社区养老服务驿站",
    "home_care_company": "居家社区养老服务企业",
    "assessment_agency": "评估经办机构",
}
CHANGE_TITLES = {
    ("added", "listed"): "新增",
    ("withdrawn", "withdrawn"): "退出",
    ("withdrawn", "suspended"): "退出(暂停)",
    ("withdrawn", "disqualified"): "退出(取消资格)",
}


def publication_due(
    month: Month,
    calendar: WorkingCalendar,
    *,
    first_month: Month,
    plan_issued_on: date = WORK_PLAN_ISSUED_ON,
) -> date:
    """The day by which the list of ``month``'s changes must be published."""
    due = nth_working_day_of_month(month.next(), PUBLICATION_WORKING_DAYS, calendar)
    if month == first_month:
        due = max(due, add_working_days(plan_issued_on, PUBLICATION_WORKING_DAYS, calendar))
    return due


def is_late(due_on: date, published_on: date | None, today: date) -> bool:
    """Published after the due day, or not published and the due day has passed."""
    return (published_on if published_on is not None else today) > due_on


def change_title(change: str, to_status: str) -> str:
    return CHANGE_TITLES.get((change, to_status), "新增" if change == "added" else "退出")


def month_refusal(month: Month, first_month: Month, last_month: Month) -> Refusal | None:
    """A list exists only for the program's months."""
    if first_month <= month <= last_month:
        return None
    return Refusal("NO_POLICY_FOR_MONTH", f"{month} 不在项目实施期 {first_month} 至 {last_month} 内")


@dataclass(frozen=True)
class PublicationFacts:
    district_code: str
    month: Month
    first_month: Month  # the program's
    last_month: Month
    due_on: date
    already_published: bool


@dataclass(frozen=True)
class Publishing:
    late: bool


def decide_publication(facts: PublicationFacts, now: datetime) -> Refusal | Publishing:
    """A district publishes a month's list once, after the month has ended, late when the
    Beijing date is after the due day."""
    if refusal := month_refusal(facts.month, facts.first_month, facts.last_month):
        return refusal
    if now < facts.month.ends_at():
        return Refusal("MONTH_NOT_ENDED", f"{facts.month} 尚未结束,不能公布该月的名单变动")
    if facts.already_published:
        return already_published(facts.district_code, facts.month)
    today = now.astimezone(BEIJING).date()
    return Publishing(late=is_late(facts.due_on, today, today))


def already_published(district_code: str, month: Month) -> Refusal:
    return Refusal("LIST_ALREADY_PUBLISHED", f"{district_code} {month} 的服务机构变动名单已公布")
