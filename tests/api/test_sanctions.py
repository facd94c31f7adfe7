"""Provider sanctions (四(三)): the blacklist (失信联合惩戒), rectification orders (限期整改) with
their automatic trigger and working-day deadlines, and the monthly sanctions view by role."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from app import clock
from app.config import get_settings
from app.db import session_scope
from app.models.audits import AuditFinding, AuditSample
from app.models.sanctions import BlacklistEntry, RectificationOrder
from app.sanctions.service import on_finding_recorded
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    credit_code,
    make_provider,
    make_staff,
    redeem,
    set_clock,
)

CHAOYANG, HAIDIAN, DONGCHENG = "110105", "110108", "110101"
BLACKLIST = {
    "reason": "经线上线下核查,存在先涨价后抵扣、骗取补贴资金行为",
    "legal_basis": "京民发〔2026〕6号 四(三);核查报告 2026-017",
}


def staff(client, role: str, district_code: str | None = None) -> dict[str, str]:
    return bearer(make_staff(client, role=role, district_code=district_code))


def civil(client, district_code: str = CHAOYANG) -> dict[str, str]:
    return staff(client, "district_civil", district_code)


def get(client, path: str, headers=None, **params):
    response = client.get(f"{API}{path}", params=params or None, headers=headers or admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def provider_of(client, provider_id: str) -> dict:
    return get(client, f"/providers/{provider_id}")


def register(client, *, credit: str, district_code: str = CHAOYANG, headers=None):
    body = {
        "name": "同一家公司",
        "kind": "home_care_company",
        "district_code": district_code,
        "credit_code": credit,
    }
    return client.post(f"{API}/providers", json=body, headers=headers or admin_headers())


def blacklist(client, provider: dict, headers=None, **body):
    return client.post(
        f"{API}/providers/{provider['id']}/blacklist",
        json={**BLACKLIST, **body},
        headers=headers or admin_headers(),
    )


def open_order(client, provider: dict, headers=None, **body):
    return client.post(
        f"{API}/providers/{provider['id']}/rectifications",
        json={"reason": "老年人差评较多,限期整改", **body},
        headers=headers or admin_headers(),
    )


def change_status(client, provider: dict, status: str, reason: str = "处理", headers=None):
    return client.post(
        f"{API}/providers/{provider['id']}/status",
        json={"status": status, "reason": reason},
        headers=headers or admin_headers(),
    )


def count_rows(model) -> int:
    with session_scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def record_findings(
    provider: dict | None,
    *,
    outcome: str = "poor_quality",
    month: str = "2026-02",
    count: int = 1,
    district_code: str = CHAOYANG,
) -> list[str | None]:
    """Record findings as the audits module does (insert, flush, then on_finding_recorded); the
    id of each automatic order opened, else None."""
    first_day = date.fromisoformat(f"{month}-01")
    opened = []
    with session_scope() as session:
        sample = session.scalar(
            select(AuditSample).where(
                AuditSample.district_code == district_code,
                AuditSample.month == first_day,
                AuditSample.kind == "redemption",
            )
        )
        if sample is None:
            sample = AuditSample(
                id=uuid.uuid4(),
                district_code=district_code,
                month=first_day,
                kind="redemption",
                method="test",
                seed="00" * 32,
                population=100,
                sample_size=count,
                population_sha256="0" * 64,
                drawn_at=clock.now(),
                drawn_by="staff:test",
            )
            session.add(sample)
            session.flush()
        for _ in range(count):
            finding = AuditFinding(
                id=uuid.uuid4(),
                sample_id=sample.id,
                elder_id=uuid.uuid4(),
                district_code=district_code,
                month=first_day,
                provider_id=uuid.UUID(provider["id"]) if provider else None,
                outcome=outcome,
                note="电话回访",
                excluded_fen=0,
                clawback_fen=0,
                recorded_at=clock.now(),
                recorded_by="staff:test",
            )
            session.add(finding)
            session.flush()
            order = on_finding_recorded(session, finding)
            opened.append(str(order.id) if order is not None else None)
    return opened


def orders_of(client, provider: dict) -> list[dict]:
    return get(client, f"/providers/{provider['id']}/rectifications")


# --- blacklist -------------------------------------------------------------------------------
def test_blacklist_disqualifies_every_registration_and_refuses_registering_again(client):
    provider = make_provider(client, kind="home_care_company", district_code=CHAOYANG)
    # The same organisation also registered in Haidian (credit codes are unique per district).
    elsewhere = register(client, credit=provider["credit_code"], district_code=HAIDIAN)
    assert elsewhere.status_code == 201, elsewhere.text
    elsewhere = elsewhere.json()
    officer = civil(client)

    response = blacklist(client, provider, headers=officer)
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["credit_code"] == provider["credit_code"]
    assert entry["provider_id"] == provider["id"]
    assert entry["district_code"] == CHAOYANG
    assert entry["reason"] == BLACKLIST["reason"]
    assert entry["legal_basis"] == BLACKLIST["legal_basis"]
    assert entry["active"] is True
    assert entry["listed_at"] == "2026-03-16T10:00:00+08:00"
    assert entry["listed_by"].startswith("staff:")
    assert entry["lifted_at"] is None

    # Disqualified here and in Haidian, each through the one listing history.
    for registration in (provider, elsewhere):
        assert provider_of(client, registration["id"])["status"] == "disqualified"
        last = get(client, f"/providers/{registration['id']}/status-history")[-1]
        assert (last["from_status"], last["to_status"]) == ("listed", "disqualified")
        assert "失信联合惩戒" in last["reason"] and BLACKLIST["reason"] in last["reason"]
        assert last["changed_by"] == entry["listed_by"]
    assert "110105" in get(client, f"/providers/{elsewhere['id']}/status-history")[-1]["reason"]

    before = len(get(client, "/providers"))
    for district in (CHAOYANG, HAIDIAN, DONGCHENG):
        problem = assert_problem(
            register(client, credit=provider["credit_code"], district_code=district), 409
        )
        assert problem["code"] == "PROVIDER_BLACKLISTED"
        assert provider["credit_code"] in problem["detail"]
    # Normalised like any credit code: lower case does not slip through.
    assert_problem(register(client, credit=provider["credit_code"].lower()), 409, "PROVIDER_BLACKLISTED")
    # The district officer registering it is told the same.
    assert_problem(
        register(client, credit=provider["credit_code"], headers=officer), 409, "PROVIDER_BLACKLISTED"
    )
    assert len(get(client, "/providers")) == before

    # No way back to the list, and no second entry.
    assert_problem(change_status(client, provider, "listed"), 409, "PROVIDER_BLACKLISTED")
    assert_problem(blacklist(client, elsewhere), 409, "ALREADY_BLACKLISTED")
    assert count_rows(BlacklistEntry) == 1


def test_blacklist_of_a_suspended_or_disqualified_provider(client):
    suspended = make_provider(client)
    assert change_status(client, suspended, "suspended").status_code == 200
    disqualified = make_provider(client)
    assert change_status(client, disqualified, "disqualified", "核查属实").status_code == 200

    assert blacklist(client, suspended).status_code == 201
    assert provider_of(client, suspended["id"])["status"] == "disqualified"
    history = get(client, f"/providers/{disqualified['id']}/status-history")
    assert blacklist(client, disqualified).status_code == 201
    # Already disqualified: blacklisted without another status change.
    assert get(client, f"/providers/{disqualified['id']}/status-history") == history
    assert_problem(register(client, credit=disqualified["credit_code"]), 409, "PROVIDER_BLACKLISTED")


def test_blacklisted_provider_cannot_redeem(client):
    elder = approved_elder(client)
    station = make_provider(client)
    assert redeem(client, station, elder["id"]).status_code == 201
    assert blacklist(client, station).status_code == 201
    assert_problem(redeem(client, station, elder["id"]), 403, "PROVIDER_NOT_LISTED")


def test_blacklist_refusals_change_nothing(client):
    provider = make_provider(client, district_code=CHAOYANG)
    other = make_provider(client, district_code=CHAOYANG)
    refusals = [
        (staff(client, "auditor"), 403, "FORBIDDEN"),
        (staff(client, "district_finance", CHAOYANG), 403, "FORBIDDEN"),
        (bearer(provider["api_key"]), 403, "FORBIDDEN"),
        (civil(client, HAIDIAN), 404, "NOT_FOUND"),  # another district's provider
    ]
    for headers, status, code in refusals:
        assert_problem(blacklist(client, provider, headers=headers), status, code)
    # A provider naming another provider does not learn it exists.
    assert_problem(blacklist(client, other, headers=bearer(provider["api_key"])), 404, "NOT_FOUND")
    assert_problem(
        client.post(f"{API}/providers/{uuid.uuid4()}/blacklist", json=BLACKLIST, headers=admin_headers()), 404
    )
    for body in (
        {"reason": "x"},
        {"legal_basis": "y"},
        {**BLACKLIST, "reason": ""},
        {**BLACKLIST, "extra": 1},
    ):
        response = client.post(
            f"{API}/providers/{provider['id']}/blacklist", json=body, headers=admin_headers()
        )
        assert_problem(response, 422, "VALIDATION_ERROR")
    assert provider_of(client, provider["id"])["status"] == "listed"
    assert count_rows(BlacklistEntry) == 0


def test_lifting_a_blacklisting_is_for_city_admins_and_kept_in_history(client):
    provider = make_provider(client)
    entry = blacklist(client, provider, headers=civil(client)).json()
    lift = f"{API}/blacklist/{entry['id']}/lift"
    body = {"reason": "完成信用修复,市民政局同意解除"}

    assert_problem(client.post(lift, json=body, headers=civil(client)), 403, "FORBIDDEN")
    assert_problem(client.post(lift, json=body, headers=staff(client, "auditor")), 403, "FORBIDDEN")
    assert_problem(client.post(lift, json={}, headers=admin_headers()), 422, "VALIDATION_ERROR")
    assert_problem(
        client.post(f"{API}/blacklist/{uuid.uuid4()}/lift", json=body, headers=admin_headers()), 404
    )
    assert get(client, f"/blacklist/{entry['id']}")["active"] is True

    set_clock(client, "2026-06-01T09:00:00+08:00")
    response = client.post(lift, json=body, headers=admin_headers())
    assert response.status_code == 200, response.text
    lifted = response.json()
    assert lifted["active"] is False
    assert lifted["lifted_at"] == "2026-06-01T09:00:00+08:00"
    assert lifted["lifted_by"] == "staff:bootstrap-admin"
    assert lifted["lift_reason"] == body["reason"]
    assert lifted["reason"] == entry["reason"]  # the original entry is kept
    assert_problem(client.post(lift, json=body, headers=admin_headers()), 409, "BLACKLIST_ALREADY_LIFTED")

    assert [e["id"] for e in get(client, "/blacklist")] == [entry["id"]]
    assert get(client, "/blacklist", active="true") == []
    assert [e["id"] for e in get(client, "/blacklist", active="false")] == [entry["id"]]
    # The old registration stays disqualified; the organisation may register anew.
    assert provider_of(client, provider["id"])["status"] == "disqualified"
    assert_problem(change_status(client, provider, "listed"), 409, "INVALID_STATUS_TRANSITION")
    again = register(client, credit=provider["credit_code"], district_code=HAIDIAN)
    assert again.status_code == 201, again.text

    # Blacklisted again later: a new entry, the lifted one stays.
    set_clock(client, "2026-07-01T09:00:00+08:00")
    second = blacklist(client, again.json())
    assert second.status_code == 201, second.text
    assert [e["id"] for e in get(client, "/blacklist")] == [second.json()["id"], entry["id"]]


def test_blacklist_reading(client):
    chaoyang = make_provider(client, district_code=CHAOYANG)
    haidian = make_provider(client, district_code=HAIDIAN)
    bystander = make_provider(client, district_code=HAIDIAN)
    first = blacklist(client, chaoyang).json()
    second = blacklist(client, haidian).json()

    # Staff of any district read the whole blacklist (it binds them all), and filter it.
    haidian_civil = civil(client, HAIDIAN)
    assert {e["id"] for e in get(client, "/blacklist", headers=haidian_civil)} == {first["id"], second["id"]}
    assert [e["id"] for e in get(client, "/blacklist", district_code=CHAOYANG)] == [first["id"]]
    assert [e["id"] for e in get(client, "/blacklist", credit_code=haidian["credit_code"].lower())] == [
        second["id"]
    ]
    assert get(client, "/blacklist", credit_code=credit_code()) == []
    assert get(client, "/blacklist", credit_code="not-a-code\x00") == []
    assert (
        get(client, f"/blacklist/{first['id']}", headers=haidian_civil)["provider_name"] == chaoyang["name"]
    )

    # A provider sees only the entries on its own credit code.
    assert [e["id"] for e in get(client, "/blacklist", headers=bearer(chaoyang["api_key"]))] == [first["id"]]
    assert get(client, "/blacklist", headers=bearer(bystander["api_key"])) == []
    assert_problem(client.get(f"{API}/blacklist/{first['id']}", headers=bearer(bystander["api_key"])), 404)
    assert_problem(client.get(f"{API}/blacklist/not-an-id", headers=admin_headers()), 404)


# --- rectification orders --------------------------------------------------------------------
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


# --- the automatic trigger -------------------------------------------------------------------
def test_automatic_rectification_fires_at_n_not_before_and_once_while_open(client):
    provider = make_provider(client)
    bystander = make_provider(client)
    # Findings that do not count: genuine ones, none naming a provider, another provider's.
    assert record_findings(provider, outcome="genuine", count=5) == [None] * 5
    assert record_findings(None, count=3) == [None] * 3
    assert record_findings(bystander, count=2) == [None, None]

    # N - 1 = 2 serious findings in the window: nothing yet.
    assert record_findings(provider, outcome="poor_quality", month="2026-01") == [None]
    assert record_findings(provider, outcome="low_satisfaction", month="2026-02") == [None]
    assert orders_of(client, provider) == []

    # The N-th (a fake service counts too) opens one order, automatically.
    [opened] = record_findings(provider, outcome="fake_service", month="2026-02")
    assert opened is not None
    [order] = orders_of(client, provider)
    assert order["id"] == opened
    assert (order["source"], order["status"], order["opened_by"]) == (
        "automatic",
        "open",
        "system:rectification_trigger",
    )
    assert len(order["finding_ids"]) == 3 and order["trigger_finding_id"] in order["finding_ids"]
    assert "2025-12 至 2026-02" in order["reason"] and "3 条" in order["reason"]
    assert (order["opened_on"], order["due_on"], order["overdue"]) == ("2026-03-16", "2026-04-07", False)

    # More findings while it is open: no second order; they are attached to the open one.
    assert record_findings(provider, count=4) == [None] * 4
    [order] = orders_of(client, provider)
    assert len(order["finding_ids"]) == 7
    assert orders_of(client, bystander) == []

    # Closed: findings it answered do not count again; a new order needs N new ones.
    set_clock(client, "2026-04-01T10:00:00+08:00")
    assert (
        client.post(f"{API}/rectifications/{order['id']}/close", json={"note": "已整改"}).status_code == 401
    )
    response = client.post(
        f"{API}/rectifications/{order['id']}/close", json={"note": "已整改"}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text
    assert record_findings(provider, month="2026-03", count=2) == [None, None]
    [again] = record_findings(provider, month="2026-03")
    assert again is not None and again != order["id"]
    assert [o["id"] for o in orders_of(client, provider)] == [again, order["id"]]


def test_automatic_trigger_counts_only_the_window(client):
    provider = make_provider(client)
    # Each finding looks at the three service months ending with its own month.
    assert record_findings(provider, month="2025-10") == [None]
    assert record_findings(provider, month="2025-11") == [None]  # 2025-09 … 2025-11: 2
    assert record_findings(provider, month="2026-01") == [None]  # 2025-11 … 2026-01: 2
    assert record_findings(provider, month="2026-03") == [None]  # 2026-01 … 2026-03: 2
    assert orders_of(client, provider) == []
    # A late finding on 2025-12 looks at 2025-10 … 2025-12: three.
    [opened] = record_findings(provider, month="2025-12")
    assert opened is not None
    [order] = orders_of(client, provider)
    assert "2025-10 至 2025-12" in order["reason"]
    # Every serious finding not yet answered is answered by the order, in the window or not.
    assert len(order["finding_ids"]) == 5


def test_automatic_trigger_follows_the_settings(client, monkeypatch):
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_TRIGGER_FINDINGS", "2")
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_WINDOW_MONTHS", "1")
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_WORKING_DAYS", "5")
    get_settings.cache_clear()
    provider = make_provider(client)
    assert record_findings(provider, month="2026-01") == [None]
    assert record_findings(provider, month="2026-02") == [None]  # a one-month window
    [opened] = record_findings(provider, month="2026-02")
    assert opened is not None
    [order] = orders_of(client, provider)
    assert (order["working_days"], order["due_on"]) == (5, "2026-03-23")
    assert "2026-02 服务抽查" in order["reason"]


def test_settings_are_bounded(monkeypatch):
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_TRIGGER_FINDINGS", "0")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError):
            get_settings()
    finally:
        monkeypatch.delenv("VOUCHER_SUPERVISION__RECTIFICATION_TRIGGER_FINDINGS")
        get_settings.cache_clear()


def test_no_automatic_order_for_a_disqualified_provider_or_after_a_manual_one(client):
    gone = make_provider(client)
    assert change_status(client, gone, "disqualified", "核查属实").status_code == 200
    assert record_findings(gone, count=4) == [None] * 4
    assert orders_of(client, gone) == []

    provider = make_provider(client)
    record_findings(provider, count=2)
    manual = open_order(client, provider).json()
    assert len(manual["finding_ids"]) == 2  # the findings it answers
    assert record_findings(provider) == [None]
    assert [o["id"] for o in orders_of(client, provider)] == [manual["id"]]
    assert len(orders_of(client, provider)[0]["finding_ids"]) == 3


# --- the monthly view ------------------------------------------------------------------------
def test_sanctions_by_district_and_month_scoped_by_role(client):
    set_clock(client, "2026-03-02T10:00:00+08:00")
    suspended = make_provider(client, district_code=CHAOYANG, name="暂停的驿站")
    disqualified = make_provider(client, district_code=CHAOYANG, name="取消资格的驿站")
    blacklisted = make_provider(client, district_code=CHAOYANG, name="失信的企业")
    ordered = make_provider(client, district_code=CHAOYANG, name="整改的驿站")
    haidian = make_provider(client, district_code=HAIDIAN, name="海淀的驿站")

    set_clock(client, "2026-03-03T10:00:00+08:00")
    assert change_status(client, suspended, "suspended", "服务投诉集中").status_code == 200
    set_clock(client, "2026-03-04T10:00:00+08:00")
    assert change_status(client, disqualified, "disqualified", "核查属实").status_code == 200
    set_clock(client, "2026-03-05T10:00:00+08:00")
    entry = blacklist(client, blacklisted).json()
    set_clock(client, "2026-03-06T10:00:00+08:00")
    order = open_order(client, ordered).json()
    assert change_status(client, haidian, "suspended", "海淀处理").status_code == 200
    set_clock(client, "2026-04-01T10:00:00+08:00")
    assert change_status(client, suspended, "listed", "整改完成,恢复").status_code == 200  # not a sanction
    assert change_status(client, ordered, "withdrawn", "主动退出").status_code == 200  # not a sanction

    march = get(client, "/sanctions", month="2026-03", district_code=CHAOYANG)
    assert march["district_code"] == CHAOYANG and march["month"] == "2026-03"
    kinds = [(i["kind"], i["provider_name"]) for i in march["items"]]
    assert kinds == [
        ("suspension", "暂停的驿站"),
        ("disqualification", "取消资格的驿站"),
        ("disqualification", "失信的企业"),  # the blacklisting disqualified it
        ("blacklist", "失信的企业"),
        ("rectification", "整改的驿站"),
    ]
    assert march["counts"] == {"suspension": 1, "disqualification": 2, "blacklist": 1, "rectification": 1}
    first = march["items"][0]
    assert (first["reason"], first["at"], first["credit_code"]) == (
        "服务投诉集中",
        "2026-03-03T10:00:00+08:00",
        suspended["credit_code"],
    )
    assert first["blacklist"] is None and first["rectification"] is None
    assert march["items"][3]["blacklist"]["id"] == entry["id"]
    assert march["items"][3]["blacklist"]["legal_basis"] == BLACKLIST["legal_basis"]
    assert march["items"][4]["rectification"]["id"] == order["id"]
    assert march["items"][4]["rectification"]["provider_status"] == "withdrawn"  # its status now
    assert [i["kind"] for i in get(client, "/sanctions", month="2026-03", kind="blacklist")["items"]] == [
        "blacklist"
    ]
    assert get(client, "/sanctions", month="2026-04", district_code=CHAOYANG)["items"] == []
    assert get(client, "/sanctions", month="2026-02")["items"] == []

    # City-wide roles see every district unless they ask for one.
    auditor = staff(client, "auditor")
    everywhere = get(client, "/sanctions", month="2026-03", headers=auditor)
    assert everywhere["district_code"] is None
    assert len(everywhere["items"]) == 6
    assert [
        i["provider_name"] for i in get(client, "/sanctions", month="2026-03", district_code=HAIDIAN)["items"]
    ] == ["海淀的驿站"]

    # District staff: their own district (also by default); another one is 403.
    finance = staff(client, "district_finance", HAIDIAN)
    own = get(client, "/sanctions", month="2026-03", headers=finance)
    assert own["district_code"] == HAIDIAN
    assert [i["provider_name"] for i in own["items"]] == ["海淀的驿站"]
    assert_problem(
        client.get(
            f"{API}/sanctions", params={"month": "2026-03", "district_code": CHAOYANG}, headers=finance
        ),
        403,
        "DISTRICT_OUT_OF_SCOPE",
    )

    # A provider sees only the sanctions on itself.
    mine = get(client, "/sanctions", month="2026-03", headers=bearer(suspended["api_key"]))
    assert [i["kind"] for i in mine["items"]] == ["suspension"]
    assert (
        get(
            client, "/sanctions", month="2026-03", headers=bearer(haidian["api_key"]), district_code=CHAOYANG
        )["items"]
        == []
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"month": "2026-13"},
        {"month": "2026-3"},
        {"month": "2026-03", "district_code": "11010"},
        {"month": "2026-03", "kind": "warning"},
    ],
)
def test_sanctions_bad_queries(client, params):
    assert_problem(client.get(f"{API}/sanctions", params=params, headers=admin_headers()), 422)


def test_sanctions_unknown_district_and_no_token(client):
    assert_problem(
        client.get(
            f"{API}/sanctions",
            params={"month": "2026-03", "district_code": "999999"},
            headers=admin_headers(),
        ),
        422,
        "UNKNOWN_DISTRICT",
    )
    assert_problem(client.get(f"{API}/sanctions", params={"month": "2026-03"}), 401)
    assert_problem(client.get(f"{API}/rectifications"), 401)
    assert_problem(client.get(f"{API}/blacklist"), 401)
