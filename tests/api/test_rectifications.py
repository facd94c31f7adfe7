"""Rectification orders (限期整改, 四(三)) opened by a district: working-day deadlines and
overdue, closing, escalation through the listing history, refusals and scoping."""

from __future__ import annotations

import uuid

from app.models.sanctions import RectificationOrder
from tests.api.sanctions_support import (
    CHAOYANG,
    HAIDIAN,
    change_status,
    civil,
    count_rows,
    get,
    open_order,
    orders_of,
    provider_of,
    staff,
)
from tests.conftest import admin_headers
from tests.factories import API, approved_elder, assert_problem, bearer, make_provider, redeem, set_clock


def test_rectification_order_deadline_and_overdue_on_the_working_day_calendar(client):
    provider = make_provider(client)
    response = open_order(client, provider, headers=civil(client))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "open"
    assert order["source"] == "manual"
    assert order["provider_status"] == "listed"
    assert order["working_days"] == 15
    # 15 working days after Monday 2026-03-16; 2026-04-06 (清明) is not one of them.
    assert (order["opened_on"], order["due_on"]) == ("2026-03-16", "2026-04-07")
    assert order["overdue"] is False
    assert order["opened_by"].startswith("staff:")
    assert order["finding_ids"] == [] and order["trigger_finding_id"] is None

    assert_problem(open_order(client, provider), 409, "RECTIFICATION_ALREADY_OPEN")

    set_clock(client, "2026-04-07T23:59:59+08:00")  # the due day is still in time
    assert get(client, f"/rectifications/{order['id']}")["overdue"] is False
    assert get(client, "/rectifications", overdue="true") == []
    set_clock(client, "2026-04-08T00:00:00+08:00")
    assert get(client, f"/rectifications/{order['id']}")["overdue"] is True
    assert [o["id"] for o in get(client, "/rectifications", overdue="true")] == [order["id"]]
    assert get(client, "/rectifications", overdue="false") == []
    march = get(client, "/sanctions", month="2026-03", district_code=CHAOYANG)
    assert march["overdue_rectifications"] == 1
    assert march["items"][0]["rectification"]["overdue"] is True

    response = client.post(
        f"{API}/rectifications/{order['id']}/close", json={"note": "已整改,回访满意"}, headers=civil(client)
    )
    assert response.status_code == 200, response.text
    closed = response.json()
    assert (closed["status"], closed["overdue"], closed["close_note"]) == (
        "rectified",
        False,
        "已整改,回访满意",
    )
    assert closed["closed_at"] == "2026-04-08T00:00:00+08:00"
    assert closed["due_on"] == "2026-04-07"  # the record shows it closed after its due day
    assert_problem(
        client.post(
            f"{API}/rectifications/{order['id']}/close", json={"note": "再次"}, headers=admin_headers()
        ),
        409,
        "RECTIFICATION_CLOSED",
    )
    assert_problem(
        client.post(
            f"{API}/rectifications/{order['id']}/escalate", json={"reason": "x"}, headers=admin_headers()
        ),
        409,
        "RECTIFICATION_CLOSED",
    )
    # Closed: a new order may be opened.
    assert open_order(client, provider).status_code == 201


def test_rectification_working_days_given_and_holidays(client):
    set_clock(client, "2026-04-02T10:00:00+08:00")  # Thursday before 清明
    provider = make_provider(client)
    order = open_order(client, provider, working_days=3).json()
    # 04-03, then 04-04 … 04-06 off, then 04-07, 04-08 (weekdays alone would give 04-07).
    assert (order["working_days"], order["due_on"]) == (3, "2026-04-08")
    set_clock(client, "2026-04-08T18:00:00+08:00")
    assert get(client, f"/rectifications/{order['id']}")["overdue"] is False
    set_clock(client, "2026-04-09T08:00:00+08:00")
    assert get(client, f"/rectifications/{order['id']}")["overdue"] is True

    other = make_provider(client)
    for days in (0, 251, "3", 1.5):
        assert_problem(open_order(client, other, working_days=days), 422, "VALIDATION_ERROR")
    assert orders_of(client, other) == []


def test_rectification_deadline_follows_a_calendar_override_made_before(client):
    set_clock(client, "2026-04-02T10:00:00+08:00")
    response = client.put(
        f"{API}/calendar/overrides/2026-04-08",
        json={"working": False, "note": "测试停工"},
        headers=admin_headers(),
    )
    assert response.status_code in (200, 201), response.text
    order = open_order(client, make_provider(client), working_days=3).json()
    assert order["due_on"] == "2026-04-09"


def test_escalation_suspends_or_disqualifies_through_the_listing_history(client):
    elder = approved_elder(client)
    provider = make_provider(client)
    order = open_order(client, provider).json()
    assert_problem(
        client.post(
            f"{API}/rectifications/{order['id']}/escalate",
            json={"reason": "x", "action": "warn"},
            headers=admin_headers(),
        ),
        422,
        "VALIDATION_ERROR",
    )
    response = client.post(
        f"{API}/rectifications/{order['id']}/escalate",
        json={"reason": "逾期未整改"},
        headers=civil(client),
    )
    assert response.status_code == 200, response.text
    escalated = response.json()
    assert (escalated["status"], escalated["escalation_action"]) == ("escalated", "suspend")
    assert escalated["provider_status"] == "suspended"
    assert escalated["close_note"] == "逾期未整改"
    last = get(client, f"/providers/{provider['id']}/status-history")[-1]
    assert (last["from_status"], last["to_status"], last["reason"]) == (
        "listed",
        "suspended",
        "整改不力:逾期未整改",
    )
    assert_problem(redeem(client, provider, elder["id"]), 403, "PROVIDER_NOT_LISTED")

    # 四(三) "整改不力的应及时取消参与资格": disqualify; a suspended provider can be.
    second = open_order(client, provider).json()
    response = client.post(
        f"{API}/rectifications/{second['id']}/escalate",
        json={"reason": "二次整改仍不合格", "action": "disqualify"},
        headers=admin_headers(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["provider_status"] == "disqualified"
    assert response.json()["escalation_action"] == "disqualify"
    # Nothing to rectify once disqualified.
    assert_problem(open_order(client, provider), 409, "PROVIDER_DISQUALIFIED")


def test_escalating_a_provider_already_out_of_the_list_keeps_its_status(client):
    provider = make_provider(client)
    order = open_order(client, provider).json()
    assert change_status(client, provider, "withdrawn", "主动退出").status_code == 200
    history = get(client, f"/providers/{provider['id']}/status-history")
    response = client.post(
        f"{API}/rectifications/{order['id']}/escalate", json={"reason": "未整改"}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "escalated"
    assert provider_of(client, provider["id"])["status"] == "withdrawn"
    assert get(client, f"/providers/{provider['id']}/status-history") == history


def test_rectification_refusals_and_scoping(client):
    provider = make_provider(client, district_code=CHAOYANG)
    other = make_provider(client, district_code=CHAOYANG)
    haidian_provider = make_provider(client, district_code=HAIDIAN)
    for headers, status in (
        (staff(client, "auditor"), 403),
        (staff(client, "district_finance", CHAOYANG), 403),
        (bearer(provider["api_key"]), 403),
        (civil(client, HAIDIAN), 404),
    ):
        assert_problem(open_order(client, provider, headers=headers), status)
    assert count_rows(RectificationOrder) == 0
    order = open_order(client, provider).json()
    theirs = open_order(client, haidian_provider).json()
    close = {"note": "已整改"}

    for headers, status in (
        (staff(client, "auditor"), 403),
        (bearer(provider["api_key"]), 403),
        (civil(client, HAIDIAN), 404),
    ):
        assert_problem(
            client.post(f"{API}/rectifications/{order['id']}/close", json=close, headers=headers), status
        )
        assert_problem(
            client.post(
                f"{API}/rectifications/{order['id']}/escalate", json={"reason": "x"}, headers=headers
            ),
            status,
        )
    assert_problem(
        client.post(f"{API}/rectifications/{uuid.uuid4()}/close", json=close, headers=admin_headers()), 404
    )
    assert_problem(
        client.post(f"{API}/rectifications/{order['id']}/close", json={}, headers=admin_headers()), 422
    )
    assert get(client, f"/rectifications/{order['id']}")["status"] == "open"
    assert provider_of(client, provider["id"])["status"] == "listed"

    # Reading: district staff their district, 403 for another asked for, 404 on its ids.
    finance = staff(client, "district_finance", CHAOYANG)
    assert [o["id"] for o in get(client, "/rectifications", headers=finance)] == [order["id"]]
    assert_problem(
        client.get(f"{API}/rectifications", params={"district_code": HAIDIAN}, headers=finance),
        403,
        "DISTRICT_OUT_OF_SCOPE",
    )
    assert_problem(client.get(f"{API}/rectifications/{theirs['id']}", headers=finance), 404)
    auditor = staff(client, "auditor")
    assert {o["id"] for o in get(client, "/rectifications", headers=auditor)} == {order["id"], theirs["id"]}
    assert [o["id"] for o in get(client, "/rectifications", headers=auditor, district_code=HAIDIAN)] == [
        theirs["id"]
    ]
    assert get(client, "/rectifications", status="rectified") == []
    # A provider reads its own orders (it has to rectify), nobody else's.
    mine = bearer(provider["api_key"])
    assert [o["id"] for o in get(client, "/rectifications", headers=mine)] == [order["id"]]
    assert [o["id"] for o in get(client, f"/providers/{provider['id']}/rectifications", headers=mine)] == [
        order["id"]
    ]
    assert get(client, f"/rectifications/{order['id']}", headers=mine)["due_on"] == order["due_on"]
    assert_problem(client.get(f"{API}/rectifications/{theirs['id']}", headers=mine), 404)
    assert_problem(client.get(f"{API}/providers/{other['id']}/rectifications", headers=mine), 404)
    assert get(client, "/rectifications", headers=bearer(other["api_key"])) == []
