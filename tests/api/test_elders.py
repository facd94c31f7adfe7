"""Elders (CONTRACT.md, "Elders"): applications, eligibility, changed facts, visibility and lists.
The full ID number must never come back in a response. Status changes (approval, suspension) are
in test_elder_status_changes.py."""

from __future__ import annotations

import pytest

from tests.conftest import admin_headers
from tests.factories import (
    assert_problem,
    bearer,
    elder_body,
    id_number,
    make_elder,
    make_provider,
    make_staff,
)

API = "/api/v1"


def civil(client, district_code="110105") -> dict[str, str]:
    return bearer(make_staff(client, role="district_civil", district_code=district_code))


def elder_total(client) -> int:
    return client.get(f"{API}/elders", headers=admin_headers()).json()["total"]


def assert_no_id_number(response, number: str) -> None:
    """Neither the ID number nor its lower-case spelling, nor its middle digits, in the body."""
    text = response.text
    assert number not in text, text
    assert number.lower() not in text, text
    assert number[6:14] not in text.replace("-", ""), text  # the birth date digits


def _with_check_char(body17: str, *, wrong: bool) -> str:
    from stdnum.cn import ric

    good = ric.calc_check_digit(body17 + "0")
    if not wrong:
        return body17 + good
    return body17 + ("0" if good != "0" else "1")


# --- creation ----------------------------------------------------------------------------------
def test_create_returns_pending_eligible_and_masked_id(client):
    body = elder_body(disability_level="severe")
    number = body["id_number"]
    response = client.post(f"{API}/elders", json=body, headers=civil(client))
    assert response.status_code == 201, response.text
    elder = response.json()
    assert isinstance(elder["id"], str) and elder["id"]
    assert elder["status"] == "pending"
    assert elder["eligible"] is True
    assert elder["ineligible_reasons"] == []
    assert elder["district_code"] == "110105"
    assert elder["residency"] == "beijing_hukou"
    assert elder["disability_level"] == "severe"
    assert elder["assessed_on"] == "2026-01-10"
    assert elder["benefits"] == []
    assert elder["created_at"] == "2026-03-16T10:00:00+08:00"
    masked = elder["id_number_masked"]
    assert len(masked) == 18
    assert "*" in masked
    assert masked.startswith(number[:6]) and masked.endswith(number[-4:])
    assert "id_number" not in elder
    assert_no_id_number(response, number)


def test_id_number_with_lowercase_x_is_accepted_and_masked(client):
    # Pick a sequence whose check character is X.
    from stdnum.cn import ric

    for seq in range(1000):
        body17 = f"11010519480305{seq:03d}"
        if ric.calc_check_digit(body17 + "0") == "X":
            break
    number = body17 + "X"
    response = client.post(f"{API}/elders", json=elder_body(number=number.lower()), headers=admin_headers())
    assert response.status_code == 201, response.text
    assert response.json()["id_number_masked"].endswith("X")
    assert_no_id_number(response, number)
    again = client.post(f"{API}/elders", json=elder_body(number=number), headers=admin_headers())
    assert_problem(again, 409, "ELDER_EXISTS")
    assert_no_id_number(again, number)


def test_full_id_number_never_in_any_response(client):
    body = elder_body()
    number = body["id_number"]
    token = civil(client)
    responses = []
    created = client.post(f"{API}/elders", json=body, headers=token)
    responses.append(created)
    elder_id = created.json()["id"]
    responses.append(client.get(f"{API}/elders/{elder_id}", headers=token))
    responses.append(client.get(f"{API}/elders", headers=token))
    responses.append(client.get(f"{API}/elders", headers=admin_headers()))
    responses.append(client.patch(f"{API}/elders/{elder_id}", json={"name": "李秀英"}, headers=token))
    responses.append(client.post(f"{API}/elders/{elder_id}/approve", headers=token))
    responses.append(client.post(f"{API}/elders/{elder_id}/approve", headers=token))  # 409
    responses.append(
        client.post(
            f"{API}/elders/{elder_id}/suspend", json={"reason": "other", "note": "备注"}, headers=token
        )
    )
    responses.append(
        client.post(f"{API}/elders/{elder_id}/suspend", json={"reason": "other"}, headers=token)
    )  # 409
    responses.append(client.get(f"{API}/elders/{elder_id}/history", headers=token))
    responses.append(client.get(f"{API}/elders/{elder_id}/vouchers", headers=token))
    responses.append(client.post(f"{API}/elders", json=body, headers=token))  # ELDER_EXISTS
    responses.append(
        client.post(f"{API}/elders", json={**body, "district_code": "110108"}, headers=admin_headers())
    )  # ELDER_EXISTS from another district
    responses.append(
        client.post(f"{API}/elders", json={**body, "assessed_on": "2027-01-01"}, headers=token)
    )  # INVALID_ASSESSMENT_DATE
    responses.append(
        client.post(f"{API}/elders", json={**body, "disability_level": "bogus"}, headers=token)
    )  # VALIDATION_ERROR
    responses.append(
        client.post(f"{API}/elders", json={**body, "unexpected": 1}, headers=token)
    )  # VALIDATION_ERROR (extra field)
    responses.append(
        client.post(f"{API}/elders", json={**body, "district_code": "110108"}, headers=token)
    )  # DISTRICT_OUT_OF_SCOPE
    statuses = [r.status_code for r in responses]
    assert statuses == [
        201,
        200,
        200,
        200,
        200,
        200,
        409,
        200,
        409,
        200,
        200,
        409,
        409,
        422,
        422,
        422,
        403,
    ], statuses
    for response in responses:
        assert_no_id_number(response, number)


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(_with_check_char("11010519480305001", wrong=True), id="bad-check-digit"),
        pytest.param(id_number(birth="19480305", sequence=2)[:-1], id="17-chars"),
        pytest.param(id_number(birth="19480305", sequence=3) + "1", id="19-chars"),
        pytest.param("110105480305001", id="15-digit-old-format"),
        pytest.param(_with_check_char("11010519480231004", wrong=False), id="feb-31"),
        pytest.param(_with_check_char("11010519481301005", wrong=False), id="month-13"),
        pytest.param(_with_check_char("11010519480000006", wrong=False), id="day-0"),
        pytest.param("11010519480305001Y", id="letter-check-char"),
        pytest.param("A10105194803050017", id="letter-in-body"),
        pytest.param("１１０１０５１９４８０３０５００８X", id="full-width-digits"),
        pytest.param(_with_check_char("11010520300101009", wrong=False), id="born-in-the-future"),
        pytest.param(_with_check_char("11010517990101001", wrong=False), id="born-in-1799"),
        pytest.param(_with_check_char("99010519480305001", wrong=False), id="unknown-province"),
    ],
)
def test_bad_id_number_is_invalid_id_number_and_not_echoed(client, number):
    response = client.post(f"{API}/elders", json=elder_body(number=number), headers=admin_headers())
    assert_problem(response, 422, "INVALID_ID_NUMBER")
    assert number not in response.text
    assert number[:17] not in response.text
    assert elder_total(client) == 0


def test_too_long_id_number_is_422_and_not_echoed(client):
    number = "110105194803050011" * 3
    response = client.post(f"{API}/elders", json=elder_body(number=number), headers=admin_headers())
    problem = assert_problem(response, 422)
    assert problem["code"] in {"INVALID_ID_NUMBER", "VALIDATION_ERROR"}
    assert "110105194803050011" not in response.text


def test_id_number_of_wrong_type_is_not_echoed(client):
    body = elder_body()
    number = body["id_number"]
    response = client.post(
        f"{API}/elders", json={**body, "id_number": int(number[:-1])}, headers=admin_headers()
    )
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert number[:-1] not in response.text


def test_second_application_same_id_is_elder_exists(client):
    body = elder_body()
    assert client.post(f"{API}/elders", json=body, headers=admin_headers()).status_code == 201
    assert_problem(client.post(f"{API}/elders", json=body, headers=admin_headers()), 409, "ELDER_EXISTS")
    assert elder_total(client) == 1


def test_second_application_from_another_district_is_elder_exists(client):
    body = elder_body(district_code="110105")
    assert client.post(f"{API}/elders", json=body, headers=civil(client, "110105")).status_code == 201
    haidian = civil(client, "110108")
    again = client.post(f"{API}/elders", json={**body, "district_code": "110108"}, headers=haidian)
    assert_problem(again, 409, "ELDER_EXISTS")
    assert_no_id_number(again, body["id_number"])
    assert elder_total(client) == 1


@pytest.mark.parametrize("level", ["intact", "mild"])
def test_level_below_moderate_is_ineligible(client, level):
    elder = make_elder(client, disability_level=level)
    assert elder["status"] == "pending"
    assert elder["eligible"] is False
    reasons = {r["code"]: r["title"] for r in elder["ineligible_reasons"]}
    assert "LEVEL_BELOW_MODERATE" in reasons
    assert reasons["LEVEL_BELOW_MODERATE"]  # a Chinese title, not empty


@pytest.mark.parametrize(
    ("benefit", "code"),
    [
        ("disability_care_allowance", "RECEIVES_DISABILITY_CARE_ALLOWANCE"),
        ("destitute_support", "RECEIVES_DESTITUTE_SUPPORT"),
        ("hardship_institution_subsidy", "RECEIVES_HARDSHIP_INSTITUTION_SUBSIDY"),
        ("basic_service_upgrade", "RECEIVES_BASIC_SERVICE_UPGRADE"),
    ],
)
def test_excluding_benefit_makes_ineligible(client, benefit, code):
    elder = make_elder(client, benefits=[benefit])
    assert elder["eligible"] is False
    assert [r["code"] for r in elder["ineligible_reasons"]] == [code]
    assert all(r["title"] for r in elder["ineligible_reasons"])


def test_ltci_stays_eligible(client):
    elder = make_elder(client, benefits=["ltci"])
    assert elder["eligible"] is True
    assert elder["benefits"] == ["ltci"]


def test_all_reasons_are_reported_at_once(client):
    elder = make_elder(client, disability_level="mild", benefits=["disability_care_allowance"])
    codes = {r["code"] for r in elder["ineligible_reasons"]}
    assert {"LEVEL_BELOW_MODERATE", "RECEIVES_DISABILITY_CARE_ALLOWANCE"} <= codes


@pytest.mark.parametrize("residency", ["beijing_hukou", "residence_permit", "institution_resident"])
def test_every_residency_is_eligible(client, residency):
    assert make_elder(client, residency=residency)["eligible"] is True


@pytest.mark.parametrize("assessed_on", ["2026-03-17", "2026-12-31", "2030-01-01"])
def test_future_assessment_date_is_invalid(client, assessed_on):
    response = client.post(f"{API}/elders", json=elder_body(assessed_on=assessed_on), headers=admin_headers())
    assert_problem(response, 422, "INVALID_ASSESSMENT_DATE")
    assert elder_total(client) == 0


def test_assessment_today_is_fine(client):
    assert make_elder(client, assessed_on="2026-03-16")["eligible"] is True


def test_district_civil_cannot_create_in_other_district(client):
    response = client.post(
        f"{API}/elders", json=elder_body(district_code="110108"), headers=civil(client, "110105")
    )
    assert_problem(response, 403, "DISTRICT_OUT_OF_SCOPE")
    assert elder_total(client) == 0


def test_unknown_district_is_unknown_district(client):
    body = elder_body()
    response = client.post(f"{API}/elders", json={**body, "district_code": "110199"}, headers=admin_headers())
    assert_problem(response, 422, "UNKNOWN_DISTRICT")


def test_repeated_benefits_are_refused(client):
    body = elder_body(benefits=["ltci", "ltci"])
    assert_problem(client.post(f"{API}/elders", json=body, headers=admin_headers()), 422, "VALIDATION_ERROR")


# --- PATCH ---------------------------------------------------------------------------------------
def test_leaving_the_allowance_makes_elder_eligible(client):
    elder = make_elder(client, benefits=["disability_care_allowance", "ltci"])
    assert elder["eligible"] is False
    assert_problem(
        client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()), 409, "NOT_ELIGIBLE"
    )

    response = client.patch(
        f"{API}/elders/{elder['id']}", json={"benefits": ["ltci"]}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["eligible"] is True
    assert body["ineligible_reasons"] == []
    assert body["benefits"] == ["ltci"]
    assert body["status"] == "pending"

    approved = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


def test_patch_new_assessment_changes_eligibility(client):
    elder = make_elder(client, disability_level="mild")
    body = client.patch(
        f"{API}/elders/{elder['id']}",
        json={"disability_level": "moderate", "assessed_on": "2026-03-01"},
        headers=admin_headers(),
    ).json()
    assert body["eligible"] is True
    assert body["disability_level"] == "moderate"
    assert body["assessed_on"] == "2026-03-01"


def test_patch_future_assessment_is_invalid(client):
    elder = make_elder(client)
    response = client.patch(
        f"{API}/elders/{elder['id']}", json={"assessed_on": "2026-03-17"}, headers=admin_headers()
    )
    assert_problem(response, 422, "INVALID_ASSESSMENT_DATE")
    assert (
        client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()["assessed_on"]
        == "2026-01-10"
    )


def test_patch_cannot_change_id_number_or_district(client):
    elder = make_elder(client)
    for field, value in (("id_number", id_number()), ("district_code", "110108"), ("status", "approved")):
        response = client.patch(f"{API}/elders/{elder['id']}", json={field: value}, headers=admin_headers())
        assert_problem(response, 422, "VALIDATION_ERROR")
    stored = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert stored["district_code"] == "110105" and stored["status"] == "pending"


# --- visibility --------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["district_civil", "district_finance"])
def test_out_of_district_elder_is_404_for_district_staff(client, role):
    elder = make_elder(client, district_code="110108")
    token = bearer(make_staff(client, role=role, district_code="110105"))
    assert_problem(client.get(f"{API}/elders/{elder['id']}", headers=token), 404)
    assert_problem(client.get(f"{API}/elders/{elder['id']}/history", headers=token), 404)
    assert_problem(client.get(f"{API}/elders/{elder['id']}/vouchers", headers=token), 404)
    if role == "district_civil":
        assert_problem(client.post(f"{API}/elders/{elder['id']}/approve", headers=token), 404)
        assert_problem(
            client.post(f"{API}/elders/{elder['id']}/suspend", json={"reason": "other"}, headers=token), 404
        )
        assert_problem(client.patch(f"{API}/elders/{elder['id']}", json={"name": "x"}, headers=token), 404)
    stored = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert stored["status"] == "pending" and stored["name"] == "李秀英"


@pytest.mark.parametrize("elder_id", ["nope", "1", "3c9e1f2a-7b4d-4a6e-8c5f-1d2e3f4a5b6c"])
def test_malformed_or_unknown_elder_id_is_404(client, elder_id):
    assert_problem(client.get(f"{API}/elders/{elder_id}", headers=admin_headers()), 404)
    assert_problem(client.post(f"{API}/elders/{elder_id}/approve", headers=admin_headers()), 404)


def test_providers_cannot_read_elders(client):
    elder = make_elder(client)
    key = bearer(make_provider(client)["api_key"])
    for path in ("", f"/{elder['id']}", f"/{elder['id']}/history", f"/{elder['id']}/vouchers"):
        assert_problem(client.get(f"{API}/elders{path}", headers=key), 403, "FORBIDDEN")


def test_district_finance_and_auditor_may_read(client):
    elder = make_elder(client, district_code="110105")
    for token in (
        make_staff(client, role="district_finance", district_code="110105"),
        make_staff(client, role="auditor"),
    ):
        assert client.get(f"{API}/elders/{elder['id']}", headers=bearer(token)).status_code == 200


# --- listing -----------------------------------------------------------------------------------
def test_list_filters_and_pagination(client):
    chaoyang = [make_elder(client, district_code="110105") for _ in range(3)]
    mild = make_elder(client, district_code="110105", disability_level="mild")
    haidian = make_elder(client, district_code="110108")
    client.post(f"{API}/elders/{chaoyang[0]['id']}/approve", headers=admin_headers())

    def page(headers=None, **params):
        response = client.get(f"{API}/elders", params=params, headers=headers or admin_headers())
        assert response.status_code == 200, response.text
        return response.json()

    everything = page()
    assert everything["total"] == 5
    assert everything["limit"] == 100 and everything["offset"] == 0
    assert len(everything["items"]) == 5

    assert {e["id"] for e in page(district_code="110108")["items"]} == {haidian["id"]}
    assert page(district_code="110105")["total"] == 4
    assert {e["id"] for e in page(status="approved")["items"]} == {chaoyang[0]["id"]}
    assert page(status="pending")["total"] == 4
    assert {e["id"] for e in page(eligible="false")["items"]} == {mild["id"]}
    assert page(eligible="true")["total"] == 4
    assert page(district_code="110105", status="pending", eligible="true")["total"] == 2

    first = page(limit=2, offset=0)
    second = page(limit=2, offset=2)
    third = page(limit=2, offset=4)
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert (len(first["items"]), len(second["items"]), len(third["items"])) == (2, 2, 1)
    ids = [e["id"] for p in (first, second, third) for e in p["items"]]
    assert len(set(ids)) == 5
    beyond = page(limit=2, offset=10)
    assert beyond["items"] == [] and beyond["total"] == 5

    civil_110105 = civil(client, "110105")
    scoped = page(headers=civil_110105)
    assert scoped["total"] == 4
    assert haidian["id"] not in {e["id"] for e in scoped["items"]}
    assert_problem(
        client.get(f"{API}/elders", params={"district_code": "110108"}, headers=civil_110105),
        403,
        "DISTRICT_OUT_OF_SCOPE",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"offset": -1},
        {"status": "dead"},
        {"eligible": "maybe"},
        {"district_code": "1101"},
    ],
)
def test_list_bad_query_is_validation_error(client, params):
    assert_problem(
        client.get(f"{API}/elders", params=params, headers=admin_headers()), 422, "VALIDATION_ERROR"
    )


@pytest.mark.parametrize("offset", [2**63, 10**20])
def test_list_offset_beyond_64_bits_is_a_validation_error(client, offset):
    from fastapi.testclient import TestClient

    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.get(f"{API}/elders", params={"offset": offset}, headers=admin_headers())
    assert_problem(response, 422, "VALIDATION_ERROR")
