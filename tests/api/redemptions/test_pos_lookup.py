"""POS lookup (CONTRACT.md, "Point of service"): the elder, why not entitled, the voucher valid now.

The default redemption body (tests.factories.redemption_body) is item 11 上门洗浴 for 30000 fen
served at 09:00 on 2026-03-16; the ``client`` fixture freezes the clock at 10:00 that day."""

from __future__ import annotations

import pytest

from tests.api.redemptions.helpers import (
    provider_headers,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    approved_elder_with_number,
    assert_problem,
    bearer,
    id_number,
    ledger_verify,
    make_elder,
    make_staff,
    set_clock,
    voucher_of,
)


# --- POS lookup ----------------------------------------------------------------------------------
def test_pos_lookup_finds_the_elder_and_the_current_voucher(client, station):
    elder, number = approved_elder_with_number(client)
    response = client.post(f"{API}/pos/lookup", json={"id_number": number}, headers=provider_headers(station))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["elder_id"] == elder["id"]
    assert body["name_masked"] == "李**"
    assert body["eligible"] is True
    assert body["voucher"]["id"] == elder["voucher"]["id"]
    assert body["voucher"]["balance_fen"] == 80000
    assert body["voucher"]["status"] == "active"
    assert number not in response.text
    assert "李秀英" not in response.text


def test_pos_lookup_accepts_a_lower_case_x(client, station):
    from stdnum.cn import ric

    for seq in range(1000):
        body17 = f"11010519480305{seq:03d}"
        if ric.calc_check_digit(body17 + "0") == "X":
            break
    elder, number = approved_elder_with_number(client, number=body17 + "X")
    response = client.post(
        f"{API}/pos/lookup", json={"id_number": number.lower()}, headers=provider_headers(station)
    )
    assert response.status_code == 200, response.text
    assert response.json()["elder_id"] == elder["id"]


def test_pos_lookup_of_a_pending_elder_shows_no_voucher(client, station):
    number = id_number(birth="19480305")
    make_elder(client, number=number)
    response = client.post(f"{API}/pos/lookup", json={"id_number": number}, headers=provider_headers(station))
    assert response.status_code == 200, response.text
    assert response.json()["eligible"] is False
    assert response.json()["voucher"] is None


def test_pos_lookup_at_the_next_months_first_instant_shows_its_voucher(client, station):
    """No gap at midnight (issue 12 item 5): before the month-start job has run, the lookup
    shows the new month's voucher (issued on demand), never last month's."""
    elder, number = approved_elder_with_number(client)
    set_clock(client, "2026-04-01T00:00:00+08:00")
    response = client.post(f"{API}/pos/lookup", json={"id_number": number}, headers=provider_headers(station))
    assert response.status_code == 200, response.text
    voucher = response.json()["voucher"]
    assert voucher["month"] == "2026-04" and voucher["balance_fen"] == 80000
    assert voucher["valid_from"] == "2026-04-01T00:00:00+08:00"
    assert voucher_of(client, elder["id"], "2026-03")["status"] == "expired"
    assert ledger_verify(client)["ok"] is True


def test_pos_lookup_of_a_suspended_elder(client, station):
    moved, moved_number = approved_elder_with_number(client)
    dead, dead_number = approved_elder_with_number(client)
    for elder, reason in ((moved, "moved_out"), (dead, "deceased")):
        response = client.post(
            f"{API}/elders/{elder['id']}/suspend", json={"reason": reason}, headers=admin_headers()
        )
        assert response.status_code == 200, response.text
    # Moved out: this month's voucher stays usable until the month ends.
    response = client.post(
        f"{API}/pos/lookup", json={"id_number": moved_number}, headers=provider_headers(station)
    )
    assert response.status_code == 200, response.text
    assert response.json()["eligible"] is True
    assert response.json()["voucher"]["id"] == moved["voucher"]["id"]
    # Deceased: nothing to redeem.
    response = client.post(
        f"{API}/pos/lookup", json={"id_number": dead_number}, headers=provider_headers(station)
    )
    assert response.status_code == 200, response.text
    assert response.json()["eligible"] is False
    assert response.json()["voucher"] is None


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(id_number(birth="19400101", sequence=999), id="valid-but-unknown"),
        pytest.param("110105194001010000", id="bad-check-char"),
        pytest.param("abc", id="garbage"),
    ],
)
def test_pos_lookup_of_an_unknown_id_is_elder_not_found(client, station, number):
    approved_elder(client)
    response = client.post(f"{API}/pos/lookup", json={"id_number": number}, headers=provider_headers(station))
    assert_problem(response, 404, "ELDER_NOT_FOUND")


def test_pos_lookup_needs_a_provider_token(client):
    _elder, number = approved_elder_with_number(client)
    for token in (
        make_staff(client, role="district_civil", district_code="110105"),
        make_staff(client, role="auditor"),
    ):
        response = client.post(f"{API}/pos/lookup", json={"id_number": number}, headers=bearer(token))
        assert_problem(response, 403)
    assert_problem(client.post(f"{API}/pos/lookup", json={"id_number": number}, headers=admin_headers()), 403)
    assert_problem(client.post(f"{API}/pos/lookup", json={"id_number": number}), 401)
