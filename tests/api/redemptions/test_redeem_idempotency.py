"""Idempotency keys (replays of successes and refusals, KEY_REUSED), who sees which redemptions, and
concurrent redemptions of one voucher.

The default redemption body (tests.factories.redemption_body) is item 11 上门洗浴 for 30000 fen
served at 09:00 on 2026-03-16; the ``client`` fixture freezes the clock at 10:00 that day."""

from __future__ import annotations

import pytest

from tests.api.redemptions.helpers import (
    list_redemptions,
    provider_headers,
    state,
)
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
    set_clock,
    voucher_of,
)


# --- idempotency ---------------------------------------------------------------------------------
def test_same_key_same_body_replays_a_success(client, elder, station):
    first = redeem(client, station, elder["id"], key="pos-7-0001")
    assert first.status_code == 201, first.text
    before = state(client, elder["id"])
    again = redeem(client, station, elder["id"], key="pos-7-0001")
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert state(client, elder["id"]) == before
    assert voucher_of(client, elder["id"])["balance_fen"] == 65000


def test_same_instant_in_another_offset_is_the_same_body(client, elder, station):
    first = redeem(client, station, elder["id"], key="k-offset", served_at="2026-03-16T10:00:00+08:00")
    assert first.status_code == 201, first.text
    again = redeem(client, station, elder["id"], key="k-offset", served_at="2026-03-16T02:00:00Z")
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        pytest.param({"id_checked": False}, 422, "ID_NOT_CHECKED", id="id-not-checked"),
        pytest.param({"amount_fen": 0}, 422, "INVALID_AMOUNT", id="invalid-amount"),
        pytest.param(
            {"elder_id": "00000000-0000-4000-8000-000000000000"}, 404, "ELDER_NOT_FOUND", id="elder-not-found"
        ),
    ],
)
def test_same_key_replays_a_refusal(client, elder, station, changes, status, code):
    changes = dict(changes)
    target = changes.pop("elder_id", elder["id"])
    first = redeem(client, station, target, key="k-refused", **changes)
    assert_problem(first, status, code)
    before = state(client, elder["id"])
    again = redeem(client, station, target, key="k-refused", **changes)
    assert_problem(again, status, code)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert state(client, elder["id"]) == before


def test_same_key_other_body_is_key_reused(client, elder, station):
    first = redeem(client, station, elder["id"], key="k-1", amount_fen=30000)
    assert first.status_code == 201, first.text
    before = state(client, elder["id"])
    for changes in ({"amount_fen": 30001}, {"item": 12}, {"receipt_no": "R-9"}, {"ltci_paid_fen": 1}):
        response = redeem(client, station, elder["id"], key="k-1", **changes)
        assert_problem(response, 422, "IDEMPOTENCY_KEY_REUSED")
        assert response.headers.get("Idempotent-Replayed") is None
    assert state(client, elder["id"]) == before


def test_same_key_after_a_refusal_with_another_body_is_key_reused(client, elder, station):
    assert_problem(redeem(client, station, elder["id"], key="k-2", id_checked=False), 422, "ID_NOT_CHECKED")
    assert_problem(redeem(client, station, elder["id"], key="k-2"), 422, "IDEMPOTENCY_KEY_REUSED")
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000


def test_keys_are_per_provider(client, elder, station):
    other = make_provider(client, kind="home_care_company")
    first = redeem(client, station, elder["id"], key="shared-key")
    second = redeem(client, other, elder["id"], key="shared-key")
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["voucher_balance_fen"] == 50000
    # And a different body under the other provider's key is no reuse of the first's.
    third = redeem(client, make_provider(client), elder["id"], key="shared-key", amount_fen=1000)
    assert third.status_code == 201, third.text


# --- who sees what -------------------------------------------------------------------------------
def test_provider_sees_only_its_own_redemptions(client, elder, station):
    other = make_provider(client, kind="home_care_company")
    mine = redeem(client, station, elder["id"]).json()
    theirs = redeem(client, other, elder["id"]).json()
    listed = list_redemptions(client, provider_headers(station))
    assert [r["id"] for r in listed["items"]] == [mine["id"]]
    assert listed["total"] == 1
    # Asking for the other provider's records gives nothing of theirs.
    filtered = list_redemptions(client, provider_headers(station), provider_id=other["id"])
    assert filtered["items"] == []
    assert client.get(f"{API}/redemptions/{mine['id']}", headers=provider_headers(station)).status_code == 200
    assert_problem(client.get(f"{API}/redemptions/{theirs['id']}", headers=provider_headers(station)), 404)
    assert_problem(
        client.get(
            f"{API}/redemptions/00000000-0000-4000-8000-000000000000", headers=provider_headers(station)
        ),
        404,
    )
    assert_problem(client.get(f"{API}/redemptions/not-an-id", headers=provider_headers(station)), 404)


def test_district_staff_see_their_districts_redemptions(client, station):
    chaoyang = approved_elder(client, district_code="110105")
    haidian = approved_elder(client, district_code="110108")
    ours = redeem(client, station, chaoyang["id"]).json()
    theirs = redeem(client, station, haidian["id"]).json()  # a Chaoyang station serving a Haidian elder
    civil = bearer(make_staff(client, role="district_civil", district_code="110105"))
    finance = bearer(make_staff(client, role="district_finance", district_code="110105"))
    for headers in (civil, finance):
        listed = list_redemptions(client, headers)
        assert [r["id"] for r in listed["items"]] == [ours["id"]]
        assert client.get(f"{API}/redemptions/{ours['id']}", headers=headers).status_code == 200
        assert_problem(client.get(f"{API}/redemptions/{theirs['id']}", headers=headers), 404)
    haidian_staff = bearer(make_staff(client, role="district_civil", district_code="110108"))
    assert [r["id"] for r in list_redemptions(client, haidian_staff)["items"]] == [theirs["id"]]
    assert_problem(client.get(f"{API}/redemptions/{ours['id']}", headers=haidian_staff), 404)
    assert_problem(
        client.get(f"{API}/redemptions", params={"district_code": "110105"}, headers=haidian_staff), 403
    )
    auditor = bearer(make_staff(client, role="auditor"))
    assert list_redemptions(client, auditor)["total"] == 2
    assert list_redemptions(client, auditor, district_code="110108")["total"] == 1


def test_district_staff_filter_by_month_elder_and_provider(client, station):
    elder = approved_elder(client)
    other_elder = approved_elder(client)
    redeem(client, station, elder["id"])
    redeem(client, station, other_elder["id"])
    company = make_provider(client, kind="home_care_company")
    redeem(client, company, elder["id"])
    civil = bearer(make_staff(client, role="district_civil", district_code="110105"))
    assert list_redemptions(client, civil, month="2026-03")["total"] == 3
    assert list_redemptions(client, civil, month="2026-02")["total"] == 0
    assert list_redemptions(client, civil, elder_id=elder["id"])["total"] == 2
    assert list_redemptions(client, civil, provider_id=company["id"])["total"] == 1
    assert (
        list_redemptions(client, civil, month="2026-03", elder_id=elder["id"], provider_id=station["id"])[
            "total"
        ]
        == 1
    )
    assert list_redemptions(client, civil, elder_id="not-an-id")["total"] == 0
    assert_problem(
        client.get(f"{API}/redemptions", params={"month": "2026-3"}, headers=civil), 422, "VALIDATION_ERROR"
    )
    # Next month's redemptions are filed under the voucher's month.
    set_clock(client, "2026-04-02T10:00:00+08:00")
    assert (
        client.post(f"{API}/jobs/issue", json={"month": "2026-04"}, headers=admin_headers()).status_code
        == 200
    )
    april = redeem(client, station, elder["id"], served_at="2026-04-02T09:00:00+08:00")
    assert april.status_code == 201, april.text
    assert list_redemptions(client, civil, month="2026-04")["total"] == 1
    assert list_redemptions(client, civil, month="2026-03")["total"] == 3


def test_list_with_a_month_outside_the_calendar_is_a_validation_error(client):
    from fastapi.testclient import TestClient

    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.get(f"{API}/redemptions", params={"month": "0000-01"}, headers=admin_headers())
    assert response.status_code == 422, response.text


# --- concurrency ---------------------------------------------------------------------------------
def test_concurrent_redemptions_never_overdraw_the_voucher(client, elder):
    from concurrent.futures import ThreadPoolExecutor

    providers = [make_provider(client, kind="home_care_company") for _ in range(3)]

    def attempt(i: int):
        return redeem(client, providers[i % 3], elder["id"], amount_fen=50000, key=f"race-{i}")  # 25000 each

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(attempt, range(9)))
    posted = [r.json() for r in responses if r.status_code == 201]
    refused = [r.json()["code"] for r in responses if r.status_code != 201]
    assert sorted(p["deduction_fen"] for p in posted) == [5000, 25000, 25000, 25000]
    assert refused == ["VOUCHER_EXHAUSTED"] * 5
    assert voucher_of(client, elder["id"])["balance_fen"] == 0
    report = ledger_verify(client)
    assert report["ok"] is True, report
    assert report["entries"] == 1 + 4
