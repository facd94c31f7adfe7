"""Elders' status changes over HTTP (CONTRACT.md, "Elders"): approval and the first voucher,
suspension and the death record, who may change an elder, and the status history and vouchers
they leave. The decisions themselves are tables in tests/rules/test_elder_status.py."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.db import get_engine
from tests.api.test_elders import API, civil
from tests.conftest import admin_headers
from tests.factories import assert_problem, bearer, elder_body, make_elder, make_staff


# --- approval ----------------------------------------------------------------------------------
def test_approve_eligible_elder(client):
    token = civil(client)
    elder = make_elder(client, token=token["Authorization"].removeprefix("Bearer "))
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == elder["id"]
    assert body["status"] == "approved"
    assert "voucher" in body
    voucher = body["voucher"]
    # 2026-03 is inside the program period: the current month's voucher is issued at once.
    assert voucher is not None
    assert set(voucher) >= {
        "id",
        "elder_id",
        "month",
        "face_value_fen",
        "balance_fen",
        "status",
        "valid_from",
        "valid_until",
    }
    assert voucher["elder_id"] == elder["id"]
    assert voucher["month"] == "2026-03"
    assert voucher["face_value_fen"] == 80000
    assert voucher["balance_fen"] == 80000
    assert voucher["status"] == "active"
    assert voucher["valid_from"] == "2026-03-16T10:00:00+08:00"  # the approval instant
    assert voucher["valid_until"].startswith(("2026-03-31T", "2026-04-01T00:00:00"))
    assert voucher["valid_until"].endswith("+08:00")
    assert client.get(f"{API}/elders/{elder['id']}", headers=token).json()["status"] == "approved"
    listed = client.get(f"{API}/elders/{elder['id']}/vouchers", headers=token).json()
    assert [v["id"] for v in listed] == [voucher["id"]]


def test_approve_ineligible_is_not_eligible_and_changes_nothing(client):
    elder = make_elder(client, disability_level="mild", benefits=["disability_care_allowance"])
    before = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    history_before = client.get(f"{API}/elders/{elder['id']}/history", headers=admin_headers()).json()

    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    problem = assert_problem(response, 409, "NOT_ELIGIBLE")
    codes = {r["code"] for r in problem["reasons"]}
    assert codes == {"LEVEL_BELOW_MODERATE", "RECEIVES_DISABILITY_CARE_ALLOWANCE"}
    assert all(r["title"] for r in problem["reasons"])

    after = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert after["status"] == "pending"
    assert after == before
    assert client.get(f"{API}/elders/{elder['id']}/history", headers=admin_headers()).json() == history_before


def test_refused_approval_does_not_recheck_eligibility_in_storage(client):
    """A refusal changes nothing, not even the date eligibility was last checked."""
    elder = make_elder(client, disability_level="mild")
    assert elder["eligibility_checked_on"] == "2026-03-16"
    moved = client.put(
        f"{API}/sandbox/clock", json={"now": "2026-04-20T09:00:00+08:00"}, headers=admin_headers()
    )
    assert moved.status_code == 200
    assert_problem(
        client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()), 409, "NOT_ELIGIBLE"
    )
    after = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert after["status"] == "pending"
    # The API shows eligibility as of today; what is stored is still the application's check.
    assert after["eligibility_checked_on"] == "2026-04-20"
    with get_engine().connect() as connection:
        stored = connection.execute(
            text("SELECT eligibility_checked_on FROM elders WHERE status = 'pending'")
        ).scalar_one()
    assert str(stored) == "2026-03-16"


def test_approve_twice_is_invalid_state(client):
    elder = make_elder(client)
    assert client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()).status_code == 200
    assert_problem(
        client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()), 409, "INVALID_STATE"
    )
    history = client.get(f"{API}/elders/{elder['id']}/history", headers=admin_headers()).json()
    assert [row["to_status"] for row in history] == ["pending", "approved"]


# --- suspension --------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["deceased", "moved_out", "no_longer_eligible", "other"])
def test_suspend_with_each_reason(client, reason):
    elder = make_elder(client)
    assert client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()).status_code == 200
    response = client.post(
        f"{API}/elders/{elder['id']}/suspend",
        json={"reason": reason, "note": "街道核实"},
        headers=admin_headers(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "suspended"
    assert body["suspension_reason"] == reason
    assert body["last_voucher_month"] == "2026-03"
    assert body["suspended_at"] == "2026-03-16T10:00:00+08:00"
    stored = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert stored["status"] == "suspended"
    assert stored["last_voucher_month"] == "2026-03"
    history = client.get(f"{API}/elders/{elder['id']}/history", headers=admin_headers()).json()
    assert history[-1]["from_status"] == "approved"
    assert history[-1]["to_status"] == "suspended"
    assert history[-1]["reason"] == reason
    assert history[-1]["note"] == "街道核实"


def test_suspend_twice_is_409(client):
    elder = make_elder(client)
    client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert (
        client.post(
            f"{API}/elders/{elder['id']}/suspend", json={"reason": "moved_out"}, headers=admin_headers()
        ).status_code
        == 200
    )
    again = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "other"}, headers=admin_headers()
    )
    assert_problem(again, 409, "INVALID_STATE")
    stored = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert stored["suspension_reason"] == "moved_out"


def test_suspend_with_unknown_reason_is_422(client):
    elder = make_elder(client)
    response = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "bored"}, headers=admin_headers()
    )
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()["status"] == "pending"


def test_reapprove_suspended_eligible_elder(client):
    elder = make_elder(client)
    client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    client.post(f"{API}/elders/{elder['id']}/suspend", json={"reason": "moved_out"}, headers=admin_headers())
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "approved"
    assert body["last_voucher_month"] is None
    assert body["suspension_reason"] is None
    history = client.get(f"{API}/elders/{elder['id']}/history", headers=admin_headers()).json()
    assert [(r["from_status"], r["to_status"]) for r in history] == [
        (None, "pending"),
        ("pending", "approved"),
        ("approved", "suspended"),
        ("suspended", "approved"),
    ]
    assert all(r["changed_by"] for r in history)


def test_suspension_month_follows_sandbox_clock(client):
    elder = make_elder(client)
    client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    # 2026-05-31T23:30 in Beijing is 15:30 UTC on the 31st; still May.
    client.put(f"{API}/sandbox/clock", json={"now": "2026-05-31T15:30:00Z"}, headers=admin_headers())
    body = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "other"}, headers=admin_headers()
    ).json()
    assert body["last_voucher_month"] == "2026-05"
    assert body["suspended_at"] == "2026-05-31T23:30:00+08:00"


def test_vouchers_returns_a_list(client):
    elder = make_elder(client)
    response = client.get(f"{API}/elders/{elder['id']}/vouchers", headers=admin_headers())
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
    response = client.get(
        f"{API}/elders/{elder['id']}/vouchers", params={"month": "2026-03"}, headers=admin_headers()
    )
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert_problem(
        client.get(
            f"{API}/elders/{elder['id']}/vouchers", params={"month": "2026-3"}, headers=admin_headers()
        ),
        422,
        "VALIDATION_ERROR",
    )


def test_history_records_application(client):
    token = civil(client)
    me = client.get(f"{API}/me", headers=token).json()
    elder = client.post(f"{API}/elders", json=elder_body(), headers=token).json()
    history = client.get(f"{API}/elders/{elder['id']}/history", headers=token).json()
    assert len(history) == 1
    assert history[0]["from_status"] is None
    assert history[0]["to_status"] == "pending"
    assert me["subject_id"] in history[0]["changed_by"]
    assert history[0]["changed_at"] == "2026-03-16T10:00:00+08:00"


# --- the voucher issued on approval ------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "assessed_on"),
    [("2025-12-15T10:00:00+08:00", "2025-12-01"), ("2027-01-15T10:00:00+08:00", "2027-01-02")],
)
def test_approval_outside_program_period_gives_null_voucher(client, now, assessed_on):
    assert client.put(f"{API}/sandbox/clock", json={"now": now}, headers=admin_headers()).status_code == 200
    elder = make_elder(client, assessed_on=assessed_on)
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "approved"
    assert "voucher" in body and body["voucher"] is None
    assert client.get(f"{API}/elders/{elder['id']}/vouchers", headers=admin_headers()).json() == []


def test_deceased_revokes_the_current_voucher_at_once(client):
    elder = make_elder(client)
    voucher = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()).json()["voucher"]
    response = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "deceased"}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text
    vouchers = client.get(f"{API}/elders/{elder['id']}/vouchers", headers=admin_headers()).json()
    assert [(v["id"], v["status"]) for v in vouchers] == [(voucher["id"], "revoked")]


@pytest.mark.parametrize("reason", ["moved_out", "no_longer_eligible", "other"])
def test_other_suspensions_keep_the_current_voucher(client, reason):
    elder = make_elder(client)
    voucher = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()).json()["voucher"]
    client.post(f"{API}/elders/{elder['id']}/suspend", json={"reason": reason}, headers=admin_headers())
    vouchers = client.get(f"{API}/elders/{elder['id']}/vouchers", headers=admin_headers()).json()
    assert [(v["id"], v["status"]) for v in vouchers] == [(voucher["id"], "active")]


def test_reapproval_in_the_same_month_issues_no_second_voucher(client):
    elder = make_elder(client)
    first = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()).json()["voucher"]
    client.post(f"{API}/elders/{elder['id']}/suspend", json={"reason": "other"}, headers=admin_headers())
    again = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert again.status_code == 200, again.text
    vouchers = client.get(f"{API}/elders/{elder['id']}/vouchers", headers=admin_headers()).json()
    assert [v["month"] for v in vouchers] == ["2026-03"]
    assert vouchers[0]["id"] == first["id"]


def test_vouchers_filtered_by_month(client):
    elder = make_elder(client)
    client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    march = client.get(
        f"{API}/elders/{elder['id']}/vouchers", params={"month": "2026-03"}, headers=admin_headers()
    ).json()
    april = client.get(
        f"{API}/elders/{elder['id']}/vouchers", params={"month": "2026-04"}, headers=admin_headers()
    ).json()
    assert [v["month"] for v in march] == ["2026-03"]
    assert april == []


# --- who may change an elder -------------------------------------------------------------------
def test_district_finance_cannot_change_elders(client):
    elder = make_elder(client, district_code="110105")
    finance = bearer(make_staff(client, role="district_finance", district_code="110105"))
    assert_problem(client.post(f"{API}/elders/{elder['id']}/approve", headers=finance), 403, "FORBIDDEN")
    assert_problem(
        client.post(f"{API}/elders/{elder['id']}/suspend", json={"reason": "other"}, headers=finance),
        403,
        "FORBIDDEN",
    )
    assert_problem(
        client.patch(f"{API}/elders/{elder['id']}", json={"name": "改名"}, headers=finance), 403, "FORBIDDEN"
    )
    stored = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert stored["status"] == "pending" and stored["name"] == "李秀英"
