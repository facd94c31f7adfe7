"""app.rules.provider_list: when a district's monthly list is due, whether it is late, the titles
of its changes, and the decision to publish it."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.rules.calendar import WorkingCalendar
from app.rules.months import BEIJING, Month
from app.rules.provider_list import (
    PublicationFacts,
    Publishing,
    change_title,
    decide_publication,
    is_late,
    month_refusal,
    publication_due,
)
from app.rules.refusals import Refusal

CALENDAR = WorkingCalendar.china(range(2025, 2028))
FIRST, LAST = Month(2026, 1), Month(2026, 12)


@pytest.mark.parametrize(
    ("month", "due"),
    [
        # The 5th working day of the next month.
        (Month(2026, 2), date(2026, 3, 6)),
        (Month(2026, 3), date(2026, 4, 8)),  # 清明 2026-04-06 is off
        # The first list: not before the 5th working day after the work plan (2026-02-14).
        (FIRST, date(2026, 2, 28)),
    ],
)
def test_publication_due(month, due):
    assert publication_due(month, CALENDAR, first_month=FIRST) == due


@pytest.mark.parametrize(
    ("published_on", "today", "late"),
    [
        (date(2026, 3, 6), date(2026, 3, 20), False),  # on the due day
        (date(2026, 3, 9), date(2026, 3, 9), True),
        (None, date(2026, 3, 6), False),  # not published, still in time
        (None, date(2026, 3, 7), True),  # not published, overdue
    ],
)
def test_is_late(published_on, today, late):
    assert is_late(date(2026, 3, 6), published_on, today) is late


@pytest.mark.parametrize(
    ("change", "to_status", "title"),
    [
        ("added", "listed", "新增"),
        ("withdrawn", "withdrawn", "退出"),
        ("withdrawn", "suspended", "退出(暂停)"),
        ("withdrawn", "disqualified", "退出(取消资格)"),
    ],
)
def test_change_title(change, to_status, title):
    assert change_title(change, to_status) == title


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        (FIRST, None),
        (LAST, None),
        (Month(2025, 12), Refusal("NO_POLICY_FOR_MONTH", "2025-12 不在项目实施期 2026-01 至 2026-12 内")),
        (Month(2027, 1), Refusal("NO_POLICY_FOR_MONTH", "2027-01 不在项目实施期 2026-01 至 2026-12 内")),
    ],
)
def test_month_refusal(month, expected):
    assert month_refusal(month, FIRST, LAST) == expected


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(BEIJING)


def publication(month: Month = Month(2026, 2), *, already: bool = False) -> PublicationFacts:
    return PublicationFacts(
        district_code="110105",
        month=month,
        first_month=FIRST,
        last_month=LAST,
        due_on=date(2026, 3, 6),
        already_published=already,
    )


@pytest.mark.parametrize(
    ("facts", "now", "expected"),
    [
        (publication(), at("2026-03-06T23:59:00+08:00"), Publishing(late=False)),  # the due day
        (publication(), at("2026-03-01T00:00:00+08:00"), Publishing(late=False)),  # the month just ended
        (publication(), at("2026-03-07T00:00:00+08:00"), Publishing(late=True)),
        # 16:00 UTC on the 6th is already the 7th in Beijing.
        (publication(), at("2026-03-06T16:00:00+00:00"), Publishing(late=True)),
        (
            publication(),
            at("2026-02-28T23:59:59+08:00"),
            Refusal("MONTH_NOT_ENDED", "2026-02 尚未结束,不能公布该月的名单变动"),
        ),
        (
            publication(already=True),
            at("2026-03-02T09:00:00+08:00"),
            Refusal("LIST_ALREADY_PUBLISHED", "110105 2026-02 的服务机构变动名单已公布"),
        ),
        (
            publication(Month(2025, 12)),
            at("2026-03-02T09:00:00+08:00"),
            Refusal("NO_POLICY_FOR_MONTH", "2025-12 不在项目实施期 2026-01 至 2026-12 内"),
        ),
    ],
)
def test_decide_publication(facts, now, expected):
    assert decide_publication(facts, now) == expected
