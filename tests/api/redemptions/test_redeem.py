"""Redemption arithmetic over HTTP: categories, rates, LTCI first, rounding, the cap, price warnings.

The default redemption body (tests.factories.redemption_body) is item 11 上门洗浴 for 30000 fen
served at 09:00 on 2026-03-16; the ``client`` fixture freezes the clock at 10:00 that day."""

from __future__ import annotations

import pytest

from tests.api.redemptions.helpers import (
    REDEMPTION_FIELDS,
    provider_headers,
    state,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    ledger_verify,
    make_provider,
    redeem,
    voucher_of,
)


# --- happy paths ---------------------------------------------------------------------------------
def test_home_community_redemption(client, elder, station):
    response = redeem(client, station, elder["id"], item=11, amount_fen=30000, receipt_no="R-001")
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Idempotent-Replayed" not in response.headers
    body = response.json()
    for field in REDEMPTION_FIELDS:
        assert field in body, field
    assert isinstance(body["id"], str) and body["id"]
    assert body["voucher_id"] == elder["voucher"]["id"]
    assert body["elder_id"] == elder["id"]
    assert body["provider_id"] == station["id"]
    assert body["item"] == 11
    assert body["category"] == "home_community"
    assert body["rate"] == "0.50"
    assert body["amount_fen"] == 30000
    assert body["ltci_paid_fen"] == 0
    assert body["eligible_fen"] == 30000
    assert body["deduction_fen"] == 15000
    assert body["self_pay_fen"] == 15000
    assert body["voucher_balance_fen"] == 65000
    assert body["status"] == "posted"
    assert body["warnings"] == []
    assert body["created_at"] == "2026-03-16T10:00:00+08:00"
    assert voucher_of(client, elder["id"])["balance_fen"] == 65000
    # GET shows the same redemption.
    got = client.get(f"{API}/redemptions/{body['id']}", headers=provider_headers(station))
    assert got.status_code == 200, got.text
    for field in REDEMPTION_FIELDS:
        if field != "voucher_balance_fen":
            assert got.json()[field] == body[field], field
    report = ledger_verify(client)
    assert report["ok"] is True, report
    assert report["entries"] == 2  # issue + redeem


def test_institution_redemption(client, elder, institution):
    response = redeem(client, institution, elder["id"], item=2, amount_fen=100000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["category"], body["rate"]) == ("institution", "0.40")
    assert (body["eligible_fen"], body["deduction_fen"], body["self_pay_fen"]) == (100000, 40000, 60000)
    assert body["voucher_balance_fen"] == 40000


@pytest.mark.parametrize(
    ("kind", "item", "category", "rate"),
    [
        ("regional_center", 3, "institution", "0.40"),
        ("regional_center", 11, "home_community", "0.50"),
        ("institution", 11, "home_community", "0.50"),
        ("home_care_company", 5, "home_community", "0.50"),
    ],
)
def test_other_kinds_redeem_their_items(client, elder, kind, item, category, rate):
    provider = make_provider(client, kind=kind)
    response = redeem(client, provider, elder["id"], item=item, amount_fen=10001)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["category"], body["rate"]) == (category, rate)
    expected = 5001 if rate == "0.50" else 4000  # 5000.5 -> 5001; 4000.4 -> 4000
    assert body["deduction_fen"] == expected
    assert body["self_pay_fen"] == 10001 - expected


def test_partner_redeems_home_care(client, elder):
    center = make_provider(client, kind="regional_center")
    partner = make_provider(client, kind="partner", parent_id=center["id"])
    response = redeem(client, partner, elder["id"], item=11)
    assert response.status_code == 201, response.text
    assert_problem(redeem(client, partner, elder["id"], item=2), 422, "ITEM_NOT_ALLOWED")


def test_provider_of_another_district_may_serve_the_elder(client, elder):
    provider = make_provider(client, district_code="110108")
    response = redeem(client, provider, elder["id"])
    assert response.status_code == 201, response.text


def test_ltci_pays_first(client, elder, station):
    response = redeem(client, station, elder["id"], amount_fen=30000, ltci_paid_fen=10001)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ltci_paid_fen"] == 10001
    assert body["eligible_fen"] == 19999
    assert body["deduction_fen"] == 10000  # 9999.5 -> 10000
    assert body["self_pay_fen"] == 9999
    assert body["voucher_balance_fen"] == 70000


@pytest.mark.parametrize(
    ("item", "amount", "deduction"),
    [
        pytest.param(7, 1, 1, id="1x0.50->1"),
        pytest.param(7, 3, 2, id="3x0.50->2"),
        pytest.param(7, 7, 4, id="7x0.50->4"),
        pytest.param(2, 5, 2, id="5x0.40->2"),
        pytest.param(2, 4, 2, id="4x0.40=1.6->2"),
    ],
)
def test_half_fen_rounding_over_http(client, elder, institution, item, amount, deduction):
    response = redeem(client, institution, elder["id"], item=item, amount_fen=amount)
    assert response.status_code == 201, response.text
    assert response.json()["deduction_fen"] == deduction
    assert response.json()["self_pay_fen"] == amount - deduction
    assert response.json()["voucher_balance_fen"] == 80000 - deduction


def test_one_fen_at_forty_percent_deducts_nothing_and_is_refused(client, elder, institution):
    before = state(client, elder["id"])
    response = redeem(client, institution, elder["id"], item=2, amount_fen=1)  # 0.4 -> 0
    assert_problem(response, 422, "INVALID_AMOUNT")
    assert state(client, elder["id"]) == before


def test_cap_reached_mid_redemption_then_exhausted(client, elder, station, institution):
    first = redeem(client, institution, elder["id"], item=2, amount_fen=150000)  # 60000
    assert first.status_code == 201, first.text
    assert first.json()["voucher_balance_fen"] == 20000
    second = redeem(client, station, elder["id"], item=11, amount_fen=50000)  # 25000 > 20000 left
    assert second.status_code == 201, second.text
    body = second.json()
    assert body["eligible_fen"] == 50000
    assert body["deduction_fen"] == 20000
    assert body["self_pay_fen"] == 30000
    assert body["voucher_balance_fen"] == 0
    assert voucher_of(client, elder["id"])["balance_fen"] == 0
    before = state(client, elder["id"])
    third = redeem(client, station, elder["id"], item=7, amount_fen=500)
    assert_problem(third, 409, "VOUCHER_EXHAUSTED")
    assert state(client, elder["id"]) == before
    assert ledger_verify(client)["ok"] is True


def test_many_small_redemptions_add_up_exactly(client, elder, station):
    balance = 80000
    for amount in (1, 3, 7, 999, 1001, 12345):
        response = redeem(client, station, elder["id"], item=7, amount_fen=amount)
        assert response.status_code == 201, response.text
        balance -= response.json()["deduction_fen"]
        assert response.json()["voucher_balance_fen"] == balance
    assert balance == 80000 - (1 + 2 + 4 + 500 + 501 + 6173)
    assert voucher_of(client, elder["id"])["balance_fen"] == balance
    assert ledger_verify(client)["ok"] is True


def test_max_amount_is_accepted_and_one_more_fen_is_not(client, elder, institution):
    ok = redeem(client, institution, elder["id"], item=2, amount_fen=10_000_000)
    assert ok.status_code == 201, ok.text
    assert ok.json()["deduction_fen"] == 80000
    other = approved_elder(client)
    assert_problem(
        redeem(client, institution, other["id"], item=2, amount_fen=10_000_001), 422, "INVALID_AMOUNT"
    )


def test_served_at_in_another_offset_is_the_same_instant(client, elder, station):
    # 2026-02-28T16:00:00Z is 2026-03-01T00:00:00 in Beijing: inside March.
    response = redeem(client, station, elder["id"], served_at="2026-02-28T16:00:00Z")
    assert response.status_code == 201, response.text
    assert response.json()["served_at"] == "2026-03-01T00:00:00+08:00"


def test_served_at_now_is_accepted(client, elder, station):
    response = redeem(client, station, elder["id"], served_at="2026-03-16T10:00:00+08:00")
    assert response.status_code == 201, response.text


# --- price warning -------------------------------------------------------------------------------
def test_price_above_reference_is_accepted_with_a_warning(client, elder, station):
    above = redeem(client, station, elder["id"], item=7, amount_fen=1001)
    assert above.status_code == 201, above.text
    assert above.json()["warnings"] == ["PRICE_ABOVE_REFERENCE"]
    assert above.json()["deduction_fen"] == 501
    at_max = redeem(client, station, elder["id"], item=7, amount_fen=1000)
    assert at_max.status_code == 201, at_max.text
    assert at_max.json()["warnings"] == []
    listed = client.get(f"{API}/redemptions/{above.json()['id']}", headers=admin_headers()).json()
    assert listed["warnings"] == ["PRICE_ABOVE_REFERENCE"]


def test_no_warning_where_the_price_is_set_by_contract(client, elder, institution):
    response = redeem(client, institution, elder["id"], item=2, amount_fen=9_000_000)
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == []
