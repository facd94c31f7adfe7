"""Vouchers (CONTRACT.md, "Elders" and "Jobs"): issued at approval and by the monthly job, one per
elder and month, none after a suspension, revoked at once when the elder has died.
The ``client`` fixture freezes the clock at 2026-03-16T10:00:00+08:00."""

from __future__ import annotations

from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    ledger_verify,
    make_elder,
    make_provider,
    make_staff,
    redeem,
    run_job,
    set_clock,
    voucher_of,
    vouchers_of,
)

VOUCHER_FIELDS = {
    "id",
    "elder_id",
    "month",
    "face_value_fen",
    "balance_fen",
    "status",
    "valid_from",
    "valid_until",
}


def suspend(client, elder_id: str, reason: str, headers=None):
    response = client.post(
        f"{API}/elders/{elder_id}/suspend", json={"reason": reason}, headers=headers or admin_headers()
    )
    assert response.status_code == 200, response.text
    return response.json()


# --- approval ------------------------------------------------------------------------------------
def test_approve_issues_the_current_months_voucher(client):
    elder = make_elder(client)
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == elder["id"]
    assert body["status"] == "approved"
    voucher = body["voucher"]
    assert set(voucher) >= VOUCHER_FIELDS
    assert isinstance(voucher["id"], str) and voucher["id"]
    assert voucher["elder_id"] == elder["id"]
    assert voucher["month"] == "2026-03"
    assert voucher["face_value_fen"] == 80000
    assert voucher["balance_fen"] == 80000
    assert voucher["status"] == "active"
    # Valid from the approval instant: no subsidy for a service before approval (issue 12 item 4).
    assert voucher["valid_from"] == "2026-03-16T10:00:00+08:00"
    assert voucher["valid_until"] == "2026-04-01T00:00:00+08:00"
    assert body["first_voucher_month"] == "2026-03"
    # The same voucher through the elder's list.
    assert vouchers_of(client, elder["id"]) == [voucher]


def test_approve_by_district_civil_issues_the_voucher(client):
    token = make_staff(client, role="district_civil", district_code="110105")
    elder = approved_elder(client, token=token)
    assert elder["voucher"]["face_value_fen"] == 80000
    assert elder["voucher"]["month"] == "2026-03"


def test_approve_at_the_first_instant_of_a_month_issues_that_month(client):
    set_clock(client, "2026-05-01T00:00:00+08:00")
    elder = approved_elder(client)
    assert elder["voucher"]["month"] == "2026-05"
    assert elder["voucher"]["valid_from"] == "2026-05-01T00:00:00+08:00"
    assert elder["voucher"]["valid_until"] == "2026-06-01T00:00:00+08:00"


def test_approve_in_the_last_program_month_issues_december(client):
    set_clock(client, "2026-12-29T00:00:00+08:00")  # three whole days left
    elder = approved_elder(client)
    assert elder["voucher"]["month"] == "2026-12"
    assert elder["voucher"]["valid_until"] == "2027-01-01T00:00:00+08:00"


def test_approve_at_the_last_second_of_the_program_gives_no_voucher_too_short_to_use(client):
    """Issue 12 item 6: a first voucher of one second is none; the next month would be the first,
    but January 2027 is outside the program."""
    set_clock(client, "2026-12-31T23:59:59+08:00")
    elder = approved_elder(client)
    assert elder["voucher"] is None and elder["first_voucher_month"] == "2027-01"
    assert vouchers_of(client, elder["id"]) == []


def test_approve_outside_the_program_period_gives_no_voucher(client):
    set_clock(client, "2027-01-15T10:00:00+08:00")
    elder = make_elder(client, assessed_on="2026-12-01")
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"
    assert response.json()["voucher"] is None
    assert vouchers_of(client, elder["id"]) == []
    assert ledger_verify(client)["entries"] == 0


def test_approve_before_the_program_gives_no_voucher(client):
    set_clock(client, "2025-12-31T23:59:59+08:00")
    elder = make_elder(client, assessed_on="2025-12-01")
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert response.status_code == 200, response.text
    assert response.json()["voucher"] is None


def test_ineligible_elder_gets_no_voucher(client):
    elder = make_elder(client, disability_level="mild")
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert_problem(response, 409, "NOT_ELIGIBLE")
    assert vouchers_of(client, elder["id"]) == []
    assert ledger_verify(client)["entries"] == 0


def test_reapproval_in_the_same_month_keeps_the_one_voucher(client):
    elder = approved_elder(client)
    suspend(client, elder["id"], "other")
    again = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert again.status_code == 200, again.text
    assert again.json()["voucher"]["id"] == elder["voucher"]["id"]
    assert len(vouchers_of(client, elder["id"])) == 1
    report = ledger_verify(client)
    assert report["ok"] is True, report
    assert report["entries"] == 1


# --- listing -------------------------------------------------------------------------------------
def test_list_vouchers_and_filter_by_month(client):
    elder = approved_elder(client)
    set_clock(client, "2026-04-01T00:00:05+08:00")
    assert run_job(client, "issue", "2026-04").json()["issued"] == 1
    listed = vouchers_of(client, elder["id"])
    assert [v["month"] for v in listed] == ["2026-04", "2026-03"]
    april, march = listed
    assert march["id"] == elder["voucher"]["id"]
    assert march["status"] == "expired"  # read by the clock, before the expiry job
    assert april["status"] == "active"
    assert april["valid_from"] == "2026-04-01T00:00:00+08:00"
    assert april["valid_until"] == "2026-05-01T00:00:00+08:00"
    assert (april["face_value_fen"], april["balance_fen"]) == (80000, 80000)
    assert vouchers_of(client, elder["id"], "2026-03") == [march]
    assert vouchers_of(client, elder["id"], "2026-04") == [april]
    assert vouchers_of(client, elder["id"], "2026-05") == []


def test_list_vouchers_bad_month_is_a_validation_error(client):
    elder = approved_elder(client)
    for month in ("2026-13", "2026-3", "202603", "march"):
        response = client.get(
            f"{API}/elders/{elder['id']}/vouchers", params={"month": month}, headers=admin_headers()
        )
        assert_problem(response, 422, "VALIDATION_ERROR")


def test_list_vouchers_month_outside_the_calendar_is_a_validation_error(client):
    from fastapi.testclient import TestClient

    elder = approved_elder(client)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.get(
        f"{API}/elders/{elder['id']}/vouchers", params={"month": "0000-01"}, headers=admin_headers()
    )
    assert response.status_code == 422, response.text


def test_vouchers_of_unknown_or_other_district_elder_are_404(client):
    elder = approved_elder(client)
    other = bearer(make_staff(client, role="district_civil", district_code="110108"))
    assert_problem(client.get(f"{API}/elders/{elder['id']}/vouchers", headers=other), 404)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(client.get(f"{API}/elders/{unknown}/vouchers", headers=admin_headers()), 404)
    same = bearer(make_staff(client, role="district_finance", district_code="110105"))
    assert client.get(f"{API}/elders/{elder['id']}/vouchers", headers=same).status_code == 200


def test_provider_cannot_list_an_elders_vouchers(client):
    elder = approved_elder(client)
    provider = make_provider(client)
    response = client.get(f"{API}/elders/{elder['id']}/vouchers", headers=bearer(provider["api_key"]))
    assert_problem(response, 403)


# --- the issue job -------------------------------------------------------------------------------
def test_issue_job_twice_issues_once(client):
    first = approved_elder(client)
    second = approved_elder(client, district_code="110108")
    make_elder(client)  # pending: nothing
    set_clock(client, "2026-04-01T00:00:05+08:00")
    response = run_job(client, "issue", "2026-04")
    assert response.status_code == 200, response.text
    assert response.json()["month"] == "2026-04"
    assert (response.json()["issued"], response.json()["already_issued"]) == (2, 0)
    entries = ledger_verify(client)["entries"]
    again = run_job(client, "issue", "2026-04")
    assert again.status_code == 200, again.text
    assert (again.json()["issued"], again.json()["already_issued"]) == (0, 2)
    for elder in (first, second):
        april = vouchers_of(client, elder["id"], "2026-04")
        assert len(april) == 1, april
        assert april[0]["balance_fen"] == 80000
    report = ledger_verify(client)
    assert report["ok"] is True, report
    assert report["entries"] == entries
    assert report["vouchers_checked"] == 4


def test_issue_job_counts_vouchers_issued_at_approval_as_already_issued(client):
    approved_elder(client)
    approved_elder(client)
    response = run_job(client, "issue", "2026-03")
    assert response.status_code == 200, response.text
    assert (response.json()["issued"], response.json()["already_issued"]) == (0, 2)


def test_issue_job_outside_the_program_issues_nothing(client):
    approved_elder(client)
    set_clock(client, "2027-01-01T00:00:05+08:00")
    response = run_job(client, "issue", "2027-01")
    assert response.status_code == 200, response.text
    assert (response.json()["issued"], response.json()["already_issued"]) == (0, 0)


def test_elder_approved_after_the_job_still_gets_the_months_voucher(client):
    set_clock(client, "2026-04-01T00:00:05+08:00")
    assert run_job(client, "issue", "2026-04").json()["issued"] == 0
    set_clock(client, "2026-04-10T09:00:00+08:00")
    elder = approved_elder(client, assessed_on="2026-04-01")
    assert elder["voucher"]["month"] == "2026-04"
    again = run_job(client, "issue", "2026-04").json()
    assert (again["issued"], again["already_issued"]) == (0, 1)


def test_issue_job_for_a_past_month_gives_no_voucher_to_elders_approved_after_it(client):
    """An elder approved on 2026-03-16 was not entitled in February: a February issue run (a late
    back-fill, a typo in the month) must not hand them a February voucher and journal 80000 for it."""
    elder = approved_elder(client)
    before = ledger_verify(client)
    response = run_job(client, "issue", "2026-02")
    assert_problem(response, 409, "MONTH_NOT_CURRENT")
    assert vouchers_of(client, elder["id"], "2026-02") == []
    assert ledger_verify(client)["entries"] == before["entries"]


def test_issue_job_requires_a_month(client):
    for body in ({}, {"month": "2026-4"}, {"month": "2026-13"}, {"month": 202604}):
        response = client.post(f"{API}/jobs/issue", json=body, headers=admin_headers())
        assert_problem(response, 422, "VALIDATION_ERROR")


# --- suspension ----------------------------------------------------------------------------------
def test_suspended_elder_gets_no_voucher_from_the_next_month(client):
    elder = approved_elder(client)
    keeps = approved_elder(client)
    provider = make_provider(client)
    suspended = suspend(client, elder["id"], "moved_out")
    assert suspended["last_voucher_month"] == "2026-03"
    # The March voucher stays usable in March.
    response = redeem(client, provider, elder["id"])
    assert response.status_code == 201, response.text
    assert response.json()["voucher_id"] == elder["voucher"]["id"]
    set_clock(client, "2026-04-01T00:00:05+08:00")
    issued = run_job(client, "issue", "2026-04").json()
    assert issued["issued"] == 1
    assert vouchers_of(client, elder["id"], "2026-04") == []
    assert len(vouchers_of(client, keeps["id"], "2026-04")) == 1
    refused = redeem(client, provider, elder["id"], served_at="2026-04-01T00:00:01+08:00")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] in ("ELDER_NOT_ELIGIBLE", "NO_ACTIVE_VOUCHER")


def test_no_longer_eligible_suspension_keeps_the_current_voucher_active(client):
    elder = approved_elder(client)
    suspend(client, elder["id"], "no_longer_eligible")
    voucher = voucher_of(client, elder["id"])
    assert (voucher["status"], voucher["balance_fen"]) == ("active", 80000)


def test_suspension_for_death_revokes_the_current_voucher(client):
    elder = approved_elder(client)
    provider = make_provider(client)
    assert redeem(client, provider, elder["id"], amount_fen=30000).status_code == 201  # 15000 used
    before = ledger_verify(client)
    suspend(client, elder["id"], "deceased")
    voucher = voucher_of(client, elder["id"])
    assert voucher["status"] == "revoked", voucher
    assert voucher["balance_fen"] == 0, voucher
    refused = redeem(client, provider, elder["id"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] in ("NO_ACTIVE_VOUCHER", "ELDER_NOT_ELIGIBLE")
    after = ledger_verify(client)
    assert after["ok"] is True, after
    assert after["entries"] == before["entries"] + 1  # one revoke entry releasing 65000


def test_death_of_an_elder_with_an_untouched_voucher_releases_the_face_value(client):
    elder = approved_elder(client)
    suspend(client, elder["id"], "deceased")
    voucher = voucher_of(client, elder["id"])
    assert (voucher["status"], voucher["balance_fen"]) == ("revoked", 0), voucher
    set_clock(client, "2026-04-01T00:00:05+08:00")
    expired = run_job(client, "expire", "2026-03").json()
    # A revoked voucher is not expired again and releases nothing twice.
    assert (expired["expired"], expired["released_fen"]) == (0, 0), expired
    assert run_job(client, "issue", "2026-04").json()["issued"] == 0
    report = ledger_verify(client)
    assert report["ok"] is True, report


def test_deceased_elder_is_refused_even_before_revocation_is_visible(client):
    """Whatever the voucher's state, a dead elder's voucher may not be used."""
    elder = approved_elder(client)
    provider = make_provider(client)
    suspend(client, elder["id"], "deceased")
    refused = redeem(client, provider, elder["id"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] in ("NO_ACTIVE_VOUCHER", "ELDER_NOT_ELIGIBLE")


def test_revoke_service_releases_the_remaining_balance_into_the_journal(client):
    """app.vouchers.service.revoke, the function a deceased suspension is meant to call: the voucher
    closes with balance 0 and one revoke entry moves what was left back to the program."""
    from sqlalchemy import select

    from app.db import session_scope
    from app.models.vouchers import Voucher
    from app.vouchers import service as vouchers

    elder = approved_elder(client)
    provider = make_provider(client)
    assert redeem(client, provider, elder["id"], amount_fen=30000).status_code == 201  # 65000 left
    before = ledger_verify(client)
    with session_scope() as session:
        voucher = session.scalars(select(Voucher)).one()
        released = vouchers.revoke(session, voucher, actor="test")
    assert released == 65000
    voucher = voucher_of(client, elder["id"])
    assert (voucher["status"], voucher["balance_fen"]) == ("revoked", 0)
    after = ledger_verify(client)
    assert after["ok"] is True, after
    assert after["entries"] == before["entries"] + 1
