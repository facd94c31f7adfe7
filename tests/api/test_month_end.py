"""The month end (CONTRACT.md, "Jobs"; 京民发〔2026〕6号 一(三): 当月领取、当月使用、次月作废):
the expiry job, its guards and roles, and the scheduler that runs expiry and issue at 00:00.
The ``client`` fixture freezes the clock at 2026-03-16T10:00:00+08:00."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    ledger_verify,
    make_provider,
    make_staff,
    redeem,
    run_job,
    set_clock,
    voucher_of,
    vouchers_of,
)


@pytest.fixture
def march(client) -> dict:
    """Four March vouchers: 65000 left, untouched, exhausted, and one in Haidian."""
    station = make_provider(client)
    institution = make_provider(client, kind="institution")
    used = approved_elder(client)
    untouched = approved_elder(client)
    exhausted = approved_elder(client)
    haidian = approved_elder(client, district_code="110108")
    assert redeem(client, station, used["id"], amount_fen=30000).status_code == 201
    assert redeem(client, institution, exhausted["id"], item=2, amount_fen=300000).status_code == 201
    return {
        "elders": [used, untouched, exhausted, haidian],
        "balances": [65000, 80000, 0, 80000],
        "station": station,
    }


def all_vouchers(client, elders) -> list[list[dict]]:
    return [vouchers_of(client, elder["id"]) for elder in elders]


# --- the expiry job ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "month"),
    [
        pytest.param("2026-03-16T10:00:00+08:00", "2026-03", id="current-month"),
        pytest.param("2026-03-31T23:59:59+08:00", "2026-03", id="last-second"),
        pytest.param("2026-03-16T10:00:00+08:00", "2026-04", id="future-month"),
    ],
)
def test_expire_before_the_month_is_over_is_refused(client, march, now, month):
    set_clock(client, now)
    before = (all_vouchers(client, march["elders"]), ledger_verify(client))
    assert_problem(run_job(client, "expire", month), 409, "MONTH_NOT_ENDED")
    assert (all_vouchers(client, march["elders"]), ledger_verify(client)) == before


def test_expire_after_the_month_releases_every_remaining_balance(client, march):
    set_clock(client, "2026-04-01T00:00:00+08:00")
    before = ledger_verify(client)
    response = run_job(client, "expire", "2026-03")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["month"] == "2026-03"
    assert body["expired"] == 4
    assert body["released_fen"] == sum(march["balances"]) == 225000
    for elder in march["elders"]:
        voucher = voucher_of(client, elder["id"])
        assert (voucher["status"], voucher["balance_fen"]) == ("expired", 0), voucher
        assert voucher["face_value_fen"] == 80000
    report = ledger_verify(client)
    assert report["ok"] is True, report
    assert report["entries"] == before["entries"] + 2  # one expire entry per district with money left
    assert report["lines"] == before["lines"] + 2 + 1 + 1 + 1  # Chaoyang: 2 vouchers + 1; Haidian: 1 + 1


def test_expire_twice_changes_nothing_the_second_time(client, march):
    set_clock(client, "2026-04-02T10:00:00+08:00")
    assert run_job(client, "expire", "2026-03").status_code == 200
    state = (all_vouchers(client, march["elders"]), ledger_verify(client))
    again = run_job(client, "expire", "2026-03")
    assert again.status_code == 200, again.text
    assert (again.json()["expired"], again.json()["released_fen"]) == (0, 0)
    assert (all_vouchers(client, march["elders"]), ledger_verify(client)) == state


def test_expire_a_month_without_vouchers(client):
    response = run_job(client, "expire", "2026-02")
    assert response.status_code == 200, response.text
    assert (response.json()["month"], response.json()["expired"], response.json()["released_fen"]) == (
        "2026-02",
        0,
        0,
    )
    assert ledger_verify(client)["entries"] == 0


def test_expired_month_is_not_redeemable_and_the_new_month_is(client, march):
    used = march["elders"][0]
    set_clock(client, "2026-04-01T00:00:05+08:00")
    assert run_job(client, "expire", "2026-03").status_code == 200
    # A March service is no longer redeemable: the voucher valid now is April's.
    assert_problem(
        redeem(client, march["station"], used["id"], served_at="2026-03-31T23:59:00+08:00"),
        422,
        "SERVED_AT_OUT_OF_RANGE",
    )
    # Before the month-start job ran, the first April service draws on April's voucher, issued
    # on demand (no gap at midnight); the job then issues the other three, and that one not again.
    response = redeem(client, march["station"], used["id"], served_at="2026-04-01T00:00:01+08:00")
    assert response.status_code == 201, response.text
    assert run_job(client, "issue", "2026-04").json()["issued"] == 3
    april = voucher_of(client, used["id"], "2026-04")
    assert response.json()["voucher_id"] == april["id"]
    assert response.json()["voucher_balance_fen"] == 65000  # a fresh 80000, no roll-over
    assert ledger_verify(client)["ok"] is True


def test_unused_balance_does_not_roll_over(client, march):
    set_clock(client, "2026-04-01T00:00:05+08:00")
    run_job(client, "expire", "2026-03")
    run_job(client, "issue", "2026-04")
    for elder in march["elders"]:
        april = voucher_of(client, elder["id"], "2026-04")
        assert (april["face_value_fen"], april["balance_fen"]) == (80000, 80000)


def test_expire_an_old_month_later_catches_up(client, march):
    set_clock(client, "2026-06-10T10:00:00+08:00")
    response = run_job(client, "expire", "2026-03")
    assert response.status_code == 200, response.text
    assert (response.json()["expired"], response.json()["released_fen"]) == (4, 225000)
    assert ledger_verify(client)["ok"] is True


@pytest.mark.parametrize(
    ("job", "month", "status"),
    [
        pytest.param("issue", "0000-01", 422, id="issue-year-0"),
        pytest.param("expire", "0000-01", 422, id="expire-year-0"),
        pytest.param("expire", "9999-12", 422, id="expire-9999-12-out-of-range"),
        pytest.param("issue", "9999-12", 422, id="issue-9999-12-out-of-range"),
        pytest.param("expire", "2099-12", 409, id="expire-2099-12-not-ended"),
        pytest.param("issue", "2099-12", 409, id="issue-2099-12-not-current"),
    ],
)
def test_job_months_at_the_edge_of_the_calendar_are_answered_not_a_500(client, job, month, status):
    from fastapi.testclient import TestClient

    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.post(f"{API}/jobs/{job}", json={"month": month}, headers=admin_headers())
    assert response.status_code == status, response.text
    if status == 409:
        assert response.json()["code"] == {"expire": "MONTH_NOT_ENDED", "issue": "MONTH_NOT_CURRENT"}[job]


@pytest.mark.parametrize("job", ["issue", "expire"])
def test_jobs_need_city_admin(client, job):
    set_clock(client, "2026-04-01T00:00:05+08:00")
    approved_elder(client, assessed_on="2026-03-01")
    month = "2026-04" if job == "issue" else "2026-03"
    before = ledger_verify(client)
    for token in (
        make_staff(client, role="district_civil", district_code="110105"),
        make_staff(client, role="district_finance", district_code="110105"),
        make_staff(client, role="auditor"),
        make_provider(client)["api_key"],
    ):
        response = client.post(f"{API}/jobs/{job}", json={"month": month}, headers=bearer(token))
        assert_problem(response, 403)
    assert_problem(client.post(f"{API}/jobs/{job}", json={"month": month}), 401)
    assert ledger_verify(client) == before


# --- the scheduler -------------------------------------------------------------------------------
# app/jobs/service.py months_with_active_vouchers_before() builds its query with the unary
# ``distinct(column)``, which SQLAlchemy warns about on every tick; this project turns SAWarning into
# an error (pyproject.toml), so the tick fails under test. The behaviour tests below ignore that one
# warning so that they test what the scheduler does; the next test keeps the defect visible.
IGNORE_UNARY_DISTINCT = pytest.mark.filterwarnings("ignore:Column-expression-level unary distinct")


def test_scheduler_tick_raises_no_sqlalchemy_warning(client, march):
    from app.scheduler import run_due_jobs

    set_clock(client, "2026-04-01T00:00:05+08:00")
    done = run_due_jobs("holder-a")  # fails here while the SAWarning is raised
    assert [(d["job"], d["month"]) for d in done] == [("expire", "2026-03"), ("issue", "2026-04")]


@IGNORE_UNARY_DISTINCT
def test_scheduler_at_midnight_expires_march_and_issues_april_once(client, march):
    from app.scheduler import run_due_jobs

    set_clock(client, "2026-04-01T00:00:05+08:00")
    done = run_due_jobs("holder-a")
    assert [(d["job"], d["month"]) for d in done] == [("expire", "2026-03"), ("issue", "2026-04")]
    expire, issue = done
    assert (expire["expired"], expire["released_fen"]) == (4, 225000)
    assert (issue["issued"], issue["already_issued"]) == (4, 0)
    for elder in march["elders"]:
        assert voucher_of(client, elder["id"])["status"] == "expired"
        assert voucher_of(client, elder["id"], "2026-04")["balance_fen"] == 80000
    state = (all_vouchers(client, march["elders"]), ledger_verify(client))
    assert state[1]["ok"] is True, state[1]
    # The next tick finds nothing to do.
    assert run_due_jobs("holder-a") == []
    assert (all_vouchers(client, march["elders"]), ledger_verify(client)) == state
    runs = client.get(f"{API}/jobs/runs", headers=admin_headers())
    assert runs.status_code == 200, runs.text
    scheduled = [(r["job"], r["period"], r["status"]) for r in runs.json() if r["trigger"] == "schedule"]
    assert sorted(scheduled) == [("expire", "2026-03", "succeeded"), ("issue", "2026-04", "succeeded")]


@IGNORE_UNARY_DISTINCT
def test_scheduler_second_holder_gets_nothing_while_the_first_holds_the_lease(client, march):
    from app.scheduler import run_due_jobs

    set_clock(client, "2026-04-01T00:00:05+08:00")
    assert len(run_due_jobs("holder-a")) == 2
    set_clock(client, "2026-05-01T00:00:05+08:00")  # April's jobs are now due
    before = (all_vouchers(client, march["elders"]), ledger_verify(client))
    assert run_due_jobs("holder-b") == []
    assert (all_vouchers(client, march["elders"]), ledger_verify(client)) == before
    done = run_due_jobs("holder-a")
    assert [(d["job"], d["month"]) for d in done] == [("expire", "2026-04"), ("issue", "2026-05")]


@IGNORE_UNARY_DISTINCT
def test_scheduler_lease_passes_on_once_it_has_lapsed(client, march):
    from app import clock
    from app.db import session_scope
    from app.models.jobs import SchedulerLease
    from app.scheduler import run_due_jobs

    set_clock(client, "2026-03-20T10:00:00+08:00")
    first = run_due_jobs("holder-a")  # takes the lease; March's vouchers came with the approvals
    assert [(d["job"], d["month"], d["issued"], d["already_issued"]) for d in first] == [
        ("issue", "2026-03", 0, 4)
    ]
    with session_scope() as session:
        session.execute(update(SchedulerLease).values(expires_at=clock.system_now().replace(year=2000)))
    set_clock(client, "2026-04-01T00:00:05+08:00")
    done = run_due_jobs("holder-b")
    assert [(d["job"], d["month"]) for d in done] == [("expire", "2026-03"), ("issue", "2026-04")]
    assert run_due_jobs("holder-a") == []  # b holds it now


@IGNORE_UNARY_DISTINCT
def test_scheduler_catches_up_after_missed_months(client, march):
    from app.scheduler import run_due_jobs

    set_clock(client, "2026-05-02T08:00:00+08:00")  # April's and May's month starts were missed
    done = run_due_jobs("holder-a")
    assert [(d["job"], d["month"]) for d in done] == [("expire", "2026-03"), ("issue", "2026-05")]
    assert done[0]["released_fen"] == 225000
    for elder in march["elders"]:
        assert vouchers_of(client, elder["id"], "2026-04") == []  # a past month is never issued late
        assert voucher_of(client, elder["id"], "2026-05")["status"] == "active"
    assert ledger_verify(client)["ok"] is True


@IGNORE_UNARY_DISTINCT
def test_scheduler_outside_the_program_only_expires(client):
    from app.scheduler import run_due_jobs

    set_clock(client, "2026-12-10T10:00:00+08:00")
    elder = approved_elder(client, assessed_on="2026-12-01")
    set_clock(client, "2027-01-01T00:00:05+08:00")
    done = run_due_jobs("holder-a")
    assert [(d["job"], d["month"]) for d in done] == [("expire", "2026-12")]
    assert done[0]["released_fen"] == 80000
    assert [v["month"] for v in vouchers_of(client, elder["id"])] == ["2026-12"]
    assert run_due_jobs("holder-a") == []


@IGNORE_UNARY_DISTINCT
def test_scheduler_after_an_approval_at_midnight_issues_only_the_others(client, march):
    from app.scheduler import run_due_jobs

    set_clock(client, "2026-04-01T00:00:01+08:00")
    early = approved_elder(client, assessed_on="2026-03-20")
    assert early["voucher"]["month"] == "2026-04"
    set_clock(client, "2026-04-01T00:00:05+08:00")
    done = run_due_jobs("holder-a")
    issue = [d for d in done if d["job"] == "issue"][0]
    assert (issue["issued"], issue["already_issued"]) == (4, 1)
    assert len(vouchers_of(client, early["id"], "2026-04")) == 1
    assert ledger_verify(client)["ok"] is True
