"""Every refusal code of POST /redemptions, each leaving balance, redemptions and journal alone.

The default redemption body (tests.factories.redemption_body) is item 11 上门洗浴 for 30000 fen
served at 09:00 on 2026-03-16; the ``client`` fixture freezes the clock at 10:00 that day."""

from __future__ import annotations

import pytest

from tests.api.redemptions.helpers import (
    enrol,
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
    make_elder,
    make_provider,
    make_staff,
    redeem,
    redemption_body,
    run_job,
    set_clock,
    voucher_of,
    vouchers_of,
)


# --- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("k" * 65, id="65-chars"),
        pytest.param("键-1".encode(), id="non-ascii"),
        pytest.param("two words", id="space"),
    ],
)
def test_idempotency_key_required(client, elder, station, key):
    before = state(client, elder["id"])
    headers = bearer(station["api_key"])
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post(f"{API}/redemptions", json=redemption_body(elder["id"]), headers=headers)
    assert_problem(response, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert state(client, elder["id"]) == before


def test_idempotency_key_of_64_visible_characters_is_accepted(client, elder, station):
    key = "".join(chr(c) for c in range(0x21, 0x21 + 64))
    assert len(key) == 64
    response = redeem(client, station, elder["id"], key=key)
    assert response.status_code == 201, response.text
    assert redeem(client, station, elder["id"], key="x").status_code == 201  # 1 character


def test_no_active_voucher_when_never_issued(client, station):
    set_clock(client, "2025-12-15T10:00:00+08:00")
    elder = approved_elder(client, assessed_on="2025-12-01")
    assert elder["voucher"] is None
    before = state(client, None)
    response = redeem(client, station, elder["id"], served_at="2025-12-15T09:00:00+08:00")
    assert_problem(response, 409, "NO_ACTIVE_VOUCHER")
    assert state(client, None) == before


def test_next_months_voucher_is_issued_at_its_first_redemption_before_the_job(client, elder, station):
    """No gap at midnight (issue 12 item 5): the month-start job has not run, the first service
    of April still draws on April's voucher, issued (and journaled) once, on demand."""
    set_clock(client, "2026-04-01T08:00:00+08:00")
    before = ledger_verify(client)
    response = redeem(client, station, elder["id"], served_at="2026-04-01T07:00:00+08:00")
    assert response.status_code == 201, response.text
    assert response.json()["month"] == "2026-04" and response.json()["voucher_balance_fen"] == 65000
    after = ledger_verify(client)
    assert after["ok"] is True and after["entries"] == before["entries"] + 2  # issue, redeem
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000  # March's, untouched
    assert run_job(client, "issue", "2026-04").json()["issued"] == 0  # the job finds it issued
    assert len(vouchers_of(client, elder["id"], "2026-04")) == 1


def test_elder_not_eligible_when_pending(client, station):
    elder = make_elder(client)
    before = state(client, None)
    assert_problem(redeem(client, station, elder["id"]), 409, "ELDER_NOT_ELIGIBLE")
    assert state(client, None) == before


def test_provider_not_listed(client, elder, station):
    response = client.post(
        f"{API}/providers/{station['id']}/status",
        json={"status": "suspended", "reason": "整改"},
        headers=admin_headers(),
    )
    assert response.status_code == 200, response.text
    before = state(client, elder["id"])
    assert_problem(redeem(client, station, elder["id"]), 403, "PROVIDER_NOT_LISTED")
    assert state(client, elder["id"]) == before
    # Listed again, it may redeem again.
    relisted = client.post(
        f"{API}/providers/{station['id']}/status",
        json={"status": "listed", "reason": "整改完成"},
        headers=admin_headers(),
    )
    assert relisted.status_code == 200, relisted.text
    assert redeem(client, station, elder["id"]).status_code == 201


@pytest.mark.parametrize(
    ("kind", "item"),
    [
        pytest.param("assessment_agency", 11, id="agency-home-care"),
        pytest.param("assessment_agency", 2, id="agency-institution-care"),
        pytest.param("station", 2, id="station-institution-care"),
        pytest.param("home_care_company", 3, id="company-respite"),
        pytest.param("institution", 1, id="institution-assessment"),
    ],
)
def test_item_not_allowed(client, elder, kind, item):
    provider = make_provider(client, kind=kind)
    before = state(client, elder["id"])
    assert_problem(redeem(client, provider, elder["id"], item=item), 422, "ITEM_NOT_ALLOWED")
    assert state(client, elder["id"]) == before


def test_assessment_item_is_not_redeemable_from_the_monthly_voucher(client, elder):
    """Item 1 is paid only by an assessment voucher (tests/api/test_assessment_voucher.py)."""
    agency = make_provider(client, kind="assessment_agency")
    before = state(client, elder["id"])
    assert_problem(redeem(client, agency, elder["id"], item=1, amount_fen=10000), 409, "NO_ACTIVE_VOUCHER")
    assert state(client, elder["id"]) == before


def test_station_basic_service_not_redeemable_for_its_enrolled_elder(client, elder, station):
    enrol(client, elder["id"], station["id"], "station_basic_services")
    before = state(client, elder["id"])
    for item in (13, 28, 45):
        assert_problem(
            redeem(client, station, elder["id"], item=item, amount_fen=2000), 422, "NOT_REDEEMABLE"
        )
    assert state(client, elder["id"]) == before
    # Other items from that station, and the same items from another station, are redeemable.
    assert redeem(client, station, elder["id"], item=11).status_code == 201
    other = make_provider(client, kind="station")
    assert redeem(client, other, elder["id"], item=13, amount_fen=2000).status_code == 201


def test_station_basic_service_redeemable_outside_the_enrolment(client, elder, station):
    enrol(
        client,
        elder["id"],
        station["id"],
        "station_basic_services",
        starts_on="2026-03-01",
        ends_on="2026-03-10",
    )
    response = redeem(
        client, station, elder["id"], item=45, amount_fen=2000, served_at="2026-03-11T09:00:00+08:00"
    )
    assert response.status_code == 201, response.text
    last_day = redeem(
        client, station, elder["id"], item=45, amount_fen=2000, served_at="2026-03-10T23:59:59+08:00"
    )
    assert_problem(last_day, 422, "NOT_REDEEMABLE")


def test_family_care_bed_services_not_redeemable_from_the_bed_provider(client, elder):
    company = make_provider(client, kind="home_care_company")
    enrol(client, elder["id"], company["id"], "family_care_bed")
    before = state(client, elder["id"])
    for item in (7, 11, 45):
        assert_problem(redeem(client, company, elder["id"], item=item, amount_fen=500), 422, "NOT_REDEEMABLE")
    assert state(client, elder["id"]) == before
    assert redeem(client, make_provider(client, kind="home_care_company"), elder["id"]).status_code == 201


def test_id_not_checked(client, elder, station):
    before = state(client, elder["id"])
    assert_problem(redeem(client, station, elder["id"], id_checked=False), 422, "ID_NOT_CHECKED")
    assert state(client, elder["id"]) == before


@pytest.mark.parametrize(
    ("amount", "ltci"),
    [
        pytest.param(0, 0, id="zero"),
        pytest.param(-100, 0, id="negative"),
        pytest.param(30000, 30000, id="ltci-equal"),
        pytest.param(30000, 40000, id="ltci-above"),
        pytest.param(30000, -1, id="ltci-negative"),
    ],
)
def test_invalid_amount(client, elder, station, amount, ltci):
    before = state(client, elder["id"])
    assert_problem(
        redeem(client, station, elder["id"], amount_fen=amount, ltci_paid_fen=ltci), 422, "INVALID_AMOUNT"
    )
    assert state(client, elder["id"]) == before


@pytest.mark.parametrize(
    "elder_id",
    [
        pytest.param("00000000-0000-4000-8000-000000000000", id="unknown"),
        pytest.param("not-an-id", id="malformed"),
        pytest.param("12345", id="digits"),
    ],
)
def test_elder_not_found(client, elder, station, elder_id):
    before = state(client, elder["id"])
    assert_problem(redeem(client, station, elder_id), 404, "ELDER_NOT_FOUND")
    assert state(client, elder["id"]) == before


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(0, id="zero"),
        pytest.param(52, id="52"),
        pytest.param(-1, id="negative"),
        pytest.param(2**31, id="beyond-int32"),
        pytest.param(2**63, id="beyond-int64"),
    ],
)
def test_unknown_item(client, elder, station, item):
    before = state(client, elder["id"])
    assert_problem(redeem(client, station, elder["id"], item=item), 422, "UNKNOWN_ITEM")
    assert state(client, elder["id"]) == before


@pytest.mark.parametrize(
    "served_at",
    [
        pytest.param("2026-03-16T10:00:01+08:00", id="one-second-in-the-future"),
        pytest.param("2026-03-20T09:00:00+08:00", id="later-this-month"),
        pytest.param("2026-02-28T23:59:59+08:00", id="previous-month"),
        pytest.param("2026-02-28T15:59:59Z", id="previous-month-in-utc"),
        pytest.param("2026-04-01T00:00:00+08:00", id="next-month"),
    ],
)
def test_served_at_out_of_range(client, elder, station, served_at):
    before = state(client, elder["id"])
    assert_problem(redeem(client, station, elder["id"], served_at=served_at), 422, "SERVED_AT_OUT_OF_RANGE")
    assert state(client, elder["id"]) == before


@pytest.mark.parametrize(
    "served_at",
    [
        pytest.param("0001-01-01T00:00:00+08:00", id="year-1"),
        pytest.param("9999-12-31T23:59:59-08:00", id="year-9999-west-of-utc"),
    ],
)
def test_served_at_at_the_edge_of_the_calendar_is_refused_not_a_500(client, elder, station, served_at):
    """A well-formed RFC 3339 time whose UTC equivalent falls outside years 1-9999."""
    from fastapi.testclient import TestClient

    quiet = TestClient(client.app, raise_server_exceptions=False)
    before = state(client, elder["id"])
    response = redeem(quiet, station, elder["id"], served_at=served_at)
    assert response.status_code == 422, response.text
    assert response.json()["code"] in ("SERVED_AT_OUT_OF_RANGE", "VALIDATION_ERROR")
    assert state(client, elder["id"]) == before


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"served_at": "2026-03-16T09:00:00"}, id="served-at-without-offset"),
        pytest.param({"served_at": 1773622800}, id="served-at-number"),
        pytest.param({"amount_fen": 100.5}, id="amount-float"),
        pytest.param({"amount_fen": "30000"}, id="amount-string"),
        pytest.param({"item": "11"}, id="item-string"),
        pytest.param({"id_checked": "yes"}, id="id-checked-string"),
        pytest.param({"unexpected": 1}, id="extra-field"),
    ],
)
def test_malformed_body_is_a_validation_error(client, elder, station, changes):
    before = state(client, elder["id"])
    body = {**redemption_body(elder["id"]), **changes}
    response = client.post(f"{API}/redemptions", json=body, headers=provider_headers(station, "k-1"))
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert state(client, elder["id"]) == before


def test_staff_cannot_redeem(client, elder):
    token = make_staff(client, role="district_civil", district_code="110105")
    response = client.post(
        f"{API}/redemptions",
        json=redemption_body(elder["id"]),
        headers={**bearer(token), "Idempotency-Key": "k"},
    )
    assert_problem(response, 403)
    admin = client.post(
        f"{API}/redemptions",
        json=redemption_body(elder["id"]),
        headers={**admin_headers(), "Idempotency-Key": "k"},
    )
    assert_problem(admin, 403)
