"""Point of service (CONTRACT.md, "Point of service"): lookup, redemption arithmetic, every
refusal code, idempotency, visibility and reversal. The ``client`` fixture freezes the clock at
2026-03-16T10:00:00+08:00; the default redemption body (tests.factories.redemption_body) is item 11
上门洗浴 for 30000 fen served at 09:00 that day."""

from __future__ import annotations

import pytest

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
    make_provider,
    make_staff,
    redeem,
    redemption_body,
    run_job,
    set_clock,
    voucher_of,
    vouchers_of,
)

REDEMPTION_FIELDS = (
    "id",
    "voucher_id",
    "elder_id",
    "provider_id",
    "item",
    "category",
    "rate",
    "amount_fen",
    "ltci_paid_fen",
    "eligible_fen",
    "deduction_fen",
    "self_pay_fen",
    "voucher_balance_fen",
    "status",
    "warnings",
    "created_at",
)


@pytest.fixture
def elder(client) -> dict:
    """Approved when March began, so that any March service time up to now is after approval."""
    return approved_elder(client, approved_at="2026-03-01T00:00:00+08:00")


@pytest.fixture
def station(client) -> dict:
    return make_provider(client, kind="station")


@pytest.fixture
def institution(client) -> dict:
    return make_provider(client, kind="institution")


def provider_headers(provider: dict, key: str | None = None) -> dict[str, str]:
    headers = bearer(provider["api_key"])
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def list_redemptions(client, headers=None, **params) -> dict:
    response = client.get(f"{API}/redemptions", params=params, headers=headers or admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def state(client, elder_id: str) -> tuple:
    """Everything a refusal must leave alone: balance, redemptions, journal size."""
    report = ledger_verify(client)
    assert report["ok"] is True, report
    return (
        voucher_of(client, elder_id)["balance_fen"] if elder_id else None,
        list_redemptions(client)["total"],
        report["entries"],
        report["lines"],
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


def enrol(client, elder_id: str, provider_id: str, kind: str, starts_on: str = "2026-03-01", ends_on=None):
    body = {"kind": kind, "provider_id": provider_id, "starts_on": starts_on}
    if ends_on:
        body["ends_on"] = ends_on
    response = client.post(f"{API}/elders/{elder_id}/enrolments", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    return response.json()


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


# --- reversal ------------------------------------------------------------------------------------
def reverse(client, provider: dict, redemption_id: str):
    return client.post(f"{API}/redemptions/{redemption_id}/reverse", headers=provider_headers(provider))


def test_reversal_restores_the_balance_and_the_journal(client, elder, station):
    posted = redeem(client, station, elder["id"], amount_fen=30000).json()
    before = ledger_verify(client)
    response = reverse(client, station, posted["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {"id": posted["id"], "status": "reversed", "voucher_balance_fen": 80000}
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000
    got = client.get(f"{API}/redemptions/{posted['id']}", headers=provider_headers(station)).json()
    assert got["status"] == "reversed"
    assert got["deduction_fen"] == 15000  # the record is kept, marked reversed
    after = ledger_verify(client)
    assert after["ok"] is True, after
    assert after["entries"] == before["entries"] + 1
    # The released amount can be redeemed again.
    again = redeem(client, station, elder["id"], item=11, amount_fen=160000)
    assert again.status_code == 201, again.text
    assert again.json()["deduction_fen"] == 80000


def test_second_reversal_is_already_reversed(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    assert reverse(client, station, posted["id"]).status_code == 200
    before = state(client, elder["id"])
    assert_problem(reverse(client, station, posted["id"]), 409, "ALREADY_REVERSED")
    assert state(client, elder["id"]) == before
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000


def test_reversal_by_another_provider_is_not_found(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    other = make_provider(client)
    before = state(client, elder["id"])
    assert_problem(reverse(client, other, posted["id"]), 404)
    assert_problem(
        client.post(
            f"{API}/redemptions/00000000-0000-4000-8000-000000000000/reverse",
            headers=provider_headers(station),
        ),
        404,
    )
    assert state(client, elder["id"]) == before


def test_reversal_by_staff_is_refused(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    response = client.post(f"{API}/redemptions/{posted['id']}/reverse", headers=admin_headers())
    assert response.status_code in (403, 404), response.text
    assert voucher_of(client, elder["id"])["balance_fen"] == 65000


def test_reversal_after_the_month_is_month_closed(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    set_clock(client, "2026-04-01T00:00:00+08:00")
    before = ledger_verify(client)
    assert_problem(reverse(client, station, posted["id"]), 409, "MONTH_CLOSED")
    after = ledger_verify(client)
    assert after["entries"] == before["entries"]
    assert voucher_of(client, elder["id"])["balance_fen"] == 65000
    # Also once the expiry job has run.
    assert (
        client.post(f"{API}/jobs/expire", json={"month": "2026-03"}, headers=admin_headers()).status_code
        == 200
    )
    assert_problem(reverse(client, station, posted["id"]), 409, "MONTH_CLOSED")


def test_reversal_on_the_last_second_of_the_month(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    set_clock(client, "2026-03-31T23:59:59+08:00")
    response = reverse(client, station, posted["id"])
    assert response.status_code == 200, response.text


def test_reversal_of_a_capped_redemption_restores_what_was_deducted(client, elder, station, institution):
    redeem(client, institution, elder["id"], item=2, amount_fen=150000)  # 60000
    capped = redeem(client, station, elder["id"], amount_fen=50000).json()  # 20000 (cap)
    assert capped["deduction_fen"] == 20000
    response = reverse(client, station, capped["id"])
    assert response.status_code == 200, response.text
    assert response.json()["voucher_balance_fen"] == 20000
    assert ledger_verify(client)["ok"] is True


def test_reversal_replay_of_the_original_key_still_replays_the_original(client, elder, station):
    posted = redeem(client, station, elder["id"], key="k-rev")
    assert reverse(client, station, posted.json()["id"]).status_code == 200
    again = redeem(client, station, elder["id"], key="k-rev")
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000  # nothing re-deducted


# --- the month boundary --------------------------------------------------------------------------
def test_last_second_of_the_month_redeems_march(client, elder, station):
    set_clock(client, "2026-03-31T23:59:59+08:00")
    response = redeem(client, station, elder["id"], served_at="2026-03-31T23:59:00+08:00")
    assert response.status_code == 201, response.text
    assert response.json()["voucher_id"] == elder["voucher"]["id"]


def test_first_second_of_the_next_month_refuses_the_march_voucher(client, elder, station):
    set_clock(client, "2026-04-01T00:00:00+08:00")
    before = ledger_verify(client)
    # A March service is outside the voucher valid now (April's); refused, nothing issued.
    march = redeem(client, station, elder["id"], served_at="2026-03-31T23:59:00+08:00")
    assert_problem(march, 422, "SERVED_AT_OUT_OF_RANGE")
    assert ledger_verify(client)["entries"] == before["entries"]
    assert vouchers_of(client, elder["id"], "2026-04") == []
    voucher = voucher_of(client, elder["id"])
    assert voucher["status"] == "expired"
    assert voucher["balance_fen"] == 80000  # not released until the expiry job runs
    april = redeem(client, station, elder["id"], served_at="2026-04-01T00:00:00+08:00")
    assert april.status_code == 201, april.text
    assert april.json()["month"] == "2026-04"
