"""Table tests for app.rules.schedule.due_jobs: what the scheduler must run at a given instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.rules.months import BEIJING, Month
from app.rules.policy import ProgramPeriod
from app.rules.schedule import DueJob, due_jobs

M = Month
PERIOD = ProgramPeriod(M(2026, 1), M(2026, 12))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def due(now: str | datetime, *, active: list[Month] = (), issued: set[Month] = frozenset()) -> list[DueJob]:
    moment = at(now) if isinstance(now, str) else now
    return due_jobs(moment, PERIOD, months_with_active_vouchers=list(active), issued_months=set(issued))


def test_month_start_expires_last_month_then_issues_this_month() -> None:
    assert due("2026-04-01T00:00:05+08:00", active=[M(2026, 3)]) == [
        DueJob("expire", M(2026, 3)),
        DueJob("issue", M(2026, 4)),
    ]


def test_nothing_due_once_done() -> None:
    assert due("2026-04-01T00:01:00+08:00", active=[], issued={M(2026, 4)}) == []


def test_current_month_vouchers_are_not_expired() -> None:
    assert due("2026-04-15T12:00:00+08:00", active=[M(2026, 4)], issued={M(2026, 4)}) == []


def test_issue_only_if_not_issued() -> None:
    assert due("2026-04-15T12:00:00+08:00", issued={M(2026, 3)}) == [DueJob("issue", M(2026, 4))]
    assert due("2026-04-15T12:00:00+08:00", issued={M(2026, 4)}) == []


def test_catch_up_of_several_missed_months_in_order() -> None:
    jobs = due("2026-07-02T08:00:00+08:00", active=[M(2026, 5), M(2026, 3), M(2026, 4), M(2026, 6)])
    assert jobs == [
        DueJob("expire", M(2026, 3)),
        DueJob("expire", M(2026, 4)),
        DueJob("expire", M(2026, 5)),
        DueJob("expire", M(2026, 6)),
        DueJob("issue", M(2026, 7)),
    ]


def test_expire_comes_before_issue() -> None:
    jobs = due("2026-02-01T00:00:00+08:00", active=[M(2026, 1)])
    assert [job.job for job in jobs] == ["expire", "issue"]


@pytest.mark.parametrize(
    "now",
    [
        pytest.param("2025-12-31T23:59:59+08:00", id="before-program"),
        pytest.param("2027-01-01T00:00:00+08:00", id="after-program"),
        pytest.param("2027-06-15T00:00:00+08:00", id="long-after"),
    ],
)
def test_nothing_issued_outside_the_program(now: str) -> None:
    assert [job for job in due(now) if job.job == "issue"] == []


def test_after_the_program_december_is_still_expired() -> None:
    assert due("2027-01-01T00:00:05+08:00", active=[M(2026, 12)], issued={M(2026, 12)}) == [
        DueJob("expire", M(2026, 12))
    ]


@pytest.mark.parametrize(
    ("now", "month"),
    [
        pytest.param("2026-01-01T00:00:00+08:00", M(2026, 1), id="first-instant"),
        pytest.param("2026-12-31T23:59:59+08:00", M(2026, 12), id="last-instant"),
    ],
)
def test_issue_at_the_program_edges(now: str, month: Month) -> None:
    assert due(now) == [DueJob("issue", month)]


def test_month_is_the_beijing_month_whatever_the_offset() -> None:
    # 2026-03-31T16:00Z is 2026-04-01T00:00 in Beijing: April.
    utc = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert due(utc, active=[M(2026, 3)]) == [DueJob("expire", M(2026, 3)), DueJob("issue", M(2026, 4))]
    just_before = utc - timedelta(seconds=1)
    assert due(just_before, active=[M(2026, 3)], issued={M(2026, 3)}) == []
    assert due(just_before.astimezone(BEIJING), active=[M(2026, 3)], issued={M(2026, 3)}) == []
