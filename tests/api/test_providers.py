"""Providers (CONTRACT.md, "Providers")."""

from __future__ import annotations

import pytest

from tests.conftest import admin_headers
from tests.factories import (
    assert_problem,
    bearer,
    credit_code,
    make_provider,
    make_staff,
)

API = "/api/v1"
KINDS = [
    "institution",
    "regional_center",
    "station",
    "home_care_company",
    "assessment_agency",
]


def provider_body(*, kind="station", district_code="110105", parent_id=None, code=None, name=None):
    body = {
        "name": name or f"测试{kind}",
        "kind": kind,
        "district_code": district_code,
        "credit_code": code or credit_code(region=district_code),
    }
    if parent_id is not None:
        body["parent_id"] = parent_id
    return body


def provider_count(client) -> int:
    return len(client.get(f"{API}/providers", headers=admin_headers()).json())


def civil(client, district_code="110105") -> dict[str, str]:
    return bearer(make_staff(client, role="district_civil", district_code=district_code))


# --- creation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_create_each_kind(client, kind):
    body = provider_body(kind=kind)
    response = client.post(f"{API}/providers", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    created = response.json()
    assert isinstance(created["id"], str) and created["id"]
    assert created["name"] == body["name"]
    assert created["kind"] == kind
    assert created["district_code"] == "110105"
    assert created["status"] == "listed"
    assert isinstance(created["api_key"], str) and len(created["api_key"]) >= 32
    assert created.get("parent_id") is None
    assert created["created_at"].endswith("+08:00")


def test_create_partner_under_regional_center(client):
    center = make_provider(client, kind="regional_center", district_code="110105")
    response = client.post(
        f"{API}/providers",
        json=provider_body(kind="partner", parent_id=center["id"]),
        headers=admin_headers(),
    )
    assert response.status_code == 201, response.text
    partner = response.json()
    assert partner["kind"] == "partner"
    assert partner["status"] == "listed"
    assert partner["parent_id"] == center["id"]
    assert partner["api_key"] and partner["api_key"] != center["api_key"]


def test_district_civil_creates_in_own_district(client):
    response = client.post(f"{API}/providers", json=provider_body(), headers=civil(client))
    assert response.status_code == 201, response.text
    assert response.json()["district_code"] == "110105"


def test_partner_without_parent_is_invalid_parent(client):
    response = client.post(f"{API}/providers", json=provider_body(kind="partner"), headers=admin_headers())
    assert_problem(response, 422, "INVALID_PARENT")
    assert provider_count(client) == 0


@pytest.mark.parametrize(
    "parent_kind", ["station", "institution", "partner", "home_care_company", "assessment_agency"]
)
def test_partner_with_parent_that_is_not_a_regional_center(client, parent_kind):
    if parent_kind == "partner":
        center = make_provider(client, kind="regional_center")
        parent = make_provider(client, kind="partner", parent_id=center["id"])
    else:
        parent = make_provider(client, kind=parent_kind)
    before = provider_count(client)
    response = client.post(
        f"{API}/providers",
        json=provider_body(kind="partner", parent_id=parent["id"]),
        headers=admin_headers(),
    )
    assert_problem(response, 422, "INVALID_PARENT")
    assert provider_count(client) == before


def test_partner_with_center_in_another_district(client):
    center = make_provider(client, kind="regional_center", district_code="110108")
    response = client.post(
        f"{API}/providers",
        json=provider_body(kind="partner", district_code="110105", parent_id=center["id"]),
        headers=admin_headers(),
    )
    assert_problem(response, 422, "INVALID_PARENT")
    assert provider_count(client) == 1


@pytest.mark.parametrize("parent_id", ["6f1c2a7e-0d4b-4c59-9a3e-2b8f5d1e7c40", "not-a-uuid", ""])
def test_partner_with_unknown_parent(client, parent_id):
    response = client.post(
        f"{API}/providers",
        json=provider_body(kind="partner", parent_id=parent_id),
        headers=admin_headers(),
    )
    problem = assert_problem(response, 422)
    assert problem["code"] in {"INVALID_PARENT", "VALIDATION_ERROR"}
    assert provider_count(client) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_non_partner_with_parent_is_invalid_parent(client, kind):
    center = make_provider(client, kind="regional_center")
    response = client.post(
        f"{API}/providers",
        json=provider_body(kind=kind, parent_id=center["id"]),
        headers=admin_headers(),
    )
    assert_problem(response, 422, "INVALID_PARENT")
    assert provider_count(client) == 1


def _bad_check_char(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    wrong = next(c for c in alphabet if c != code[-1])
    return code[:-1] + wrong


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(_bad_check_char(credit_code(serial=4242)), id="bad-check-char"),
        pytest.param(credit_code(serial=4243)[:-1], id="17-chars"),
        pytest.param(credit_code(serial=4244) + "0", id="19-chars"),
        pytest.param("91110105MA0000002!", id="punctuation"),
        pytest.param("ABCDEFGHIJKLMNOPQR", id="letters"),
    ],
)
def test_bad_credit_code_is_invalid_credit_code(client, code):
    response = client.post(f"{API}/providers", json=provider_body(code=code), headers=admin_headers())
    assert_problem(response, 422, "INVALID_CREDIT_CODE")
    assert provider_count(client) == 0


def test_lowercase_credit_code_is_normalised(client):
    code = credit_code(serial=555)
    assert code != code.lower()
    response = client.post(f"{API}/providers", json=provider_body(code=code.lower()), headers=admin_headers())
    assert response.status_code == 201, response.text
    provider = client.get(f"{API}/providers/{response.json()['id']}", headers=admin_headers()).json()
    assert provider["credit_code"] == code
    # The same organisation spelt in upper case is the same registration.
    again = client.post(f"{API}/providers", json=provider_body(code=code), headers=admin_headers())
    assert_problem(again, 409, "PROVIDER_EXISTS")


def test_duplicate_credit_code_in_same_district_is_409(client):
    code = credit_code(serial=777)
    first = client.post(f"{API}/providers", json=provider_body(code=code), headers=admin_headers())
    assert first.status_code == 201, first.text
    second = client.post(
        f"{API}/providers",
        json=provider_body(code=code, kind="institution", name="另一个名字"),
        headers=admin_headers(),
    )
    assert_problem(second, 409, "PROVIDER_EXISTS")
    assert provider_count(client) == 1


def test_same_credit_code_allowed_in_another_district(client):
    code = credit_code(serial=778)
    first = client.post(
        f"{API}/providers", json=provider_body(code=code, district_code="110105"), headers=admin_headers()
    )
    second = client.post(
        f"{API}/providers", json=provider_body(code=code, district_code="110108"), headers=admin_headers()
    )
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert first.json()["id"] != second.json()["id"]
    assert first.json()["api_key"] != second.json()["api_key"]
    assert provider_count(client) == 2


def test_district_civil_cannot_create_in_another_district(client):
    response = client.post(
        f"{API}/providers", json=provider_body(district_code="110108"), headers=civil(client, "110105")
    )
    assert_problem(response, 403, "DISTRICT_OUT_OF_SCOPE")
    assert provider_count(client) == 0


def test_unknown_district_is_unknown_district(client):
    response = client.post(
        f"{API}/providers", json=provider_body(district_code="110199"), headers=admin_headers()
    )
    assert_problem(response, 422, "UNKNOWN_DISTRICT")


# --- listing and visibility ----------------------------------------------------------------------
@pytest.fixture
def two_districts(client):
    chaoyang = [make_provider(client, district_code="110105") for _ in range(2)]
    haidian = [make_provider(client, district_code="110108")]
    return {"110105": chaoyang, "110108": haidian}


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {row["id"] for row in response.json()}


def test_list_never_shows_api_keys(client, two_districts):
    response = client.get(f"{API}/providers", headers=admin_headers())
    for row in response.json():
        assert "api_key" not in row
        assert not any("hash" in key for key in row)
    for provider in two_districts["110105"] + two_districts["110108"]:
        assert provider["api_key"] not in response.text


@pytest.mark.parametrize("role", ["district_civil", "district_finance"])
def test_district_staff_see_only_their_district(client, two_districts, role):
    token = bearer(make_staff(client, role=role, district_code="110105"))
    expected = {p["id"] for p in two_districts["110105"]}
    assert _ids(client.get(f"{API}/providers", headers=token)) == expected
    assert _ids(client.get(f"{API}/providers", params={"district_code": "110105"}, headers=token)) == expected


@pytest.mark.parametrize("role", ["district_civil", "district_finance"])
def test_district_staff_asking_for_another_district_is_403(client, two_districts, role):
    token = bearer(make_staff(client, role=role, district_code="110105"))
    response = client.get(f"{API}/providers", params={"district_code": "110108"}, headers=token)
    problem = assert_problem(response, 403, "DISTRICT_OUT_OF_SCOPE")
    for provider in two_districts["110108"]:
        assert provider["id"] not in str(problem)


@pytest.mark.parametrize("role", ["city_admin", "auditor"])
def test_city_wide_roles_see_every_district(client, two_districts, role):
    token = bearer(make_staff(client, role=role))
    everyone = {p["id"] for ps in two_districts.values() for p in ps}
    assert _ids(client.get(f"{API}/providers", headers=token)) == everyone
    assert _ids(client.get(f"{API}/providers", params={"district_code": "110108"}, headers=token)) == {
        p["id"] for p in two_districts["110108"]
    }


def test_provider_sees_only_itself_in_list(client, two_districts):
    me = two_districts["110105"][0]
    token = bearer(me["api_key"])
    assert _ids(client.get(f"{API}/providers", headers=token)) == {me["id"]}
    for district in ("110105", "110108"):
        ids = _ids(client.get(f"{API}/providers", params={"district_code": district}, headers=token))
        assert ids <= {me["id"]}


def test_list_filters_by_status_and_kind(client):
    station = make_provider(client, kind="station")
    institution = make_provider(client, kind="institution")
    client.post(
        f"{API}/providers/{institution['id']}/status",
        json={"status": "suspended", "reason": "整改"},
        headers=admin_headers(),
    )
    assert _ids(client.get(f"{API}/providers", params={"kind": "station"}, headers=admin_headers())) == {
        station["id"]
    }
    assert _ids(client.get(f"{API}/providers", params={"status": "suspended"}, headers=admin_headers())) == {
        institution["id"]
    }
    assert_problem(
        client.get(f"{API}/providers", params={"status": "gone"}, headers=admin_headers()),
        422,
        "VALIDATION_ERROR",
    )
    assert_problem(
        client.get(f"{API}/providers", params={"district_code": "chaoyang"}, headers=admin_headers()),
        422,
        "VALIDATION_ERROR",
    )


def test_get_provider(client):
    created = make_provider(client, kind="home_care_company", district_code="110108")
    response = client.get(f"{API}/providers/{created['id']}", headers=admin_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == created["id"]
    assert body["kind"] == "home_care_company"
    assert body["district_code"] == "110108"
    assert body["status"] == "listed"
    assert "api_key" not in body
    assert created["api_key"] not in response.text


@pytest.mark.parametrize("role", ["district_civil", "district_finance"])
def test_district_staff_get_other_district_provider_is_404(client, role):
    other = make_provider(client, district_code="110108")
    token = bearer(make_staff(client, role=role, district_code="110105"))
    assert_problem(client.get(f"{API}/providers/{other['id']}", headers=token), 404)
    assert_problem(client.get(f"{API}/providers/{other['id']}/status-history", headers=token), 404)


def test_district_staff_get_own_district_provider(client):
    own = make_provider(client, district_code="110105")
    token = bearer(make_staff(client, role="district_finance", district_code="110105"))
    assert client.get(f"{API}/providers/{own['id']}", headers=token).status_code == 200


def test_provider_get_other_provider_is_404(client):
    me = make_provider(client, district_code="110105")
    neighbour = make_provider(client, district_code="110105")
    token = bearer(me["api_key"])
    assert client.get(f"{API}/providers/{me['id']}", headers=token).status_code == 200
    assert_problem(client.get(f"{API}/providers/{neighbour['id']}", headers=token), 404)
    assert_problem(client.get(f"{API}/providers/{neighbour['id']}/status-history", headers=token), 404)


@pytest.mark.parametrize(
    "provider_id", ["not-a-uuid", "123", "0b7e3c1a-5f2d-4e8b-a9c6-3d1f7e2b4a58", "%20", "' OR 1=1 --"]
)
def test_malformed_or_unknown_id_is_404(client, provider_id):
    make_provider(client)
    assert_problem(client.get(f"{API}/providers/{provider_id}", headers=admin_headers()), 404)
    response = client.post(
        f"{API}/providers/{provider_id}/status",
        json={"status": "suspended", "reason": "x"},
        headers=admin_headers(),
    )
    assert_problem(response, 404)
    assert_problem(client.post(f"{API}/providers/{provider_id}/api-key", headers=admin_headers()), 404)


# --- status changes ----------------------------------------------------------------------------
def _set_status(client, provider_id, status, reason="原因", headers=None):
    return client.post(
        f"{API}/providers/{provider_id}/status",
        json={"status": status, "reason": reason},
        headers=headers or admin_headers(),
    )


def test_status_lifecycle_and_history(client):
    provider = make_provider(client)
    token = civil(client, "110105")
    me = client.get(f"{API}/me", headers=token).json()
    steps = [
        ("suspended", "服务投诉核查中"),
        ("listed", "核查完毕恢复"),
        ("withdrawn", "机构申请退出"),
        ("listed", "重新纳入名单"),
        ("disqualified", "虚假交易取消资格"),
    ]
    for status, reason in steps:
        response = _set_status(client, provider["id"], status, reason, headers=token)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert (
            client.get(f"{API}/providers/{provider['id']}", headers=admin_headers()).json()["status"]
            == status
        )

    # Disqualification is final.
    assert_problem(_set_status(client, provider["id"], "listed"), 409, "INVALID_STATUS_TRANSITION")
    assert (
        client.get(f"{API}/providers/{provider['id']}", headers=admin_headers()).json()["status"]
        == "disqualified"
    )

    history = client.get(f"{API}/providers/{provider['id']}/status-history", headers=admin_headers())
    assert history.status_code == 200, history.text
    rows = history.json()
    assert len(rows) == 1 + len(steps)
    assert rows[0]["from_status"] is None and rows[0]["to_status"] == "listed"
    previous = "listed"
    for row, (status, reason) in zip(rows[1:], steps, strict=False):
        assert row["from_status"] == previous
        assert row["to_status"] == status
        assert row["reason"] == reason
        assert me["subject_id"] in row["changed_by"]
        assert row["changed_at"] == "2026-03-16T10:00:00+08:00"
        previous = status


@pytest.mark.parametrize("status", ["listed", "suspended", "withdrawn"])
def test_same_status_is_409(client, status):
    provider = make_provider(client)
    if status != "listed":
        assert _set_status(client, provider["id"], status).status_code == 200
    history_before = client.get(
        f"{API}/providers/{provider['id']}/status-history", headers=admin_headers()
    ).json()
    assert_problem(_set_status(client, provider["id"], status), 409, "INVALID_STATUS_TRANSITION")
    history_after = client.get(
        f"{API}/providers/{provider['id']}/status-history", headers=admin_headers()
    ).json()
    assert history_after == history_before


@pytest.mark.parametrize("target", ["listed", "suspended", "withdrawn", "disqualified"])
def test_nothing_leaves_disqualified(client, target):
    provider = make_provider(client)
    assert _set_status(client, provider["id"], "disqualified").status_code == 200
    assert_problem(_set_status(client, provider["id"], target), 409, "INVALID_STATUS_TRANSITION")


def test_status_change_by_other_district_is_404(client):
    provider = make_provider(client, district_code="110108")
    response = _set_status(client, provider["id"], "suspended", headers=civil(client, "110105"))
    assert_problem(response, 404)
    assert (
        client.get(f"{API}/providers/{provider['id']}", headers=admin_headers()).json()["status"] == "listed"
    )


def test_status_change_needs_a_reason(client):
    provider = make_provider(client)
    response = client.post(
        f"{API}/providers/{provider['id']}/status", json={"status": "suspended"}, headers=admin_headers()
    )
    assert_problem(response, 422, "VALIDATION_ERROR")
    response = _set_status(client, provider["id"], "suspended", reason="   ")
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert (
        client.get(f"{API}/providers/{provider['id']}", headers=admin_headers()).json()["status"] == "listed"
    )


def test_status_history_visible_to_the_provider_itself(client):
    provider = make_provider(client)
    response = client.get(
        f"{API}/providers/{provider['id']}/status-history", headers=bearer(provider["api_key"])
    )
    assert response.status_code == 200, response.text
    assert [row["to_status"] for row in response.json()] == ["listed"]


# --- API key rotation --------------------------------------------------------------------------
def test_api_key_rotation(client):
    provider = make_provider(client)
    old = provider["api_key"]
    assert client.get(f"{API}/me", headers=bearer(old)).status_code == 200

    response = client.post(f"{API}/providers/{provider['id']}/api-key", headers=civil(client, "110105"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == provider["id"]
    new = body["api_key"]
    assert new and new != old

    assert_problem(client.get(f"{API}/me", headers=bearer(old)), 401, "INVALID_TOKEN")
    me = client.get(f"{API}/me", headers=bearer(new))
    assert me.status_code == 200
    assert me.json()["subject_id"] == provider["id"]
    # Rotation changes nothing else.
    after = client.get(f"{API}/providers/{provider['id']}", headers=admin_headers()).json()
    assert after["status"] == "listed"
    assert new not in client.get(f"{API}/providers", headers=admin_headers()).text


def test_api_key_rotation_by_other_district_is_404(client):
    provider = make_provider(client, district_code="110108")
    assert_problem(
        client.post(f"{API}/providers/{provider['id']}/api-key", headers=civil(client, "110105")), 404
    )
    assert client.get(f"{API}/me", headers=bearer(provider["api_key"])).status_code == 200


def test_provider_asking_for_another_district_gets_nothing_of_its_own(client):
    """``district_code`` filters: a provider of 110105 asking for 110108 must not be answered
    with its own 110105 record (an empty list or a refusal are both fine)."""
    me = make_provider(client, district_code="110105")
    make_provider(client, district_code="110108")
    response = client.get(
        f"{API}/providers", params={"district_code": "110108"}, headers=bearer(me["api_key"])
    )
    if response.status_code == 200:
        assert all(row["district_code"] == "110108" for row in response.json()), response.json()
        assert me["id"] not in {row["id"] for row in response.json()}
    else:
        assert_problem(response, 403)


@pytest.mark.parametrize("role", ["district_civil", "district_finance", "auditor", "city_admin"])
def test_every_listed_row_is_in_the_requested_district(client, two_districts, role):
    district = "110105" if role.startswith("district") else "110108"
    token = bearer(
        make_staff(client, role=role, district_code="110105" if role.startswith("district") else None)
    )
    rows = client.get(f"{API}/providers", params={"district_code": district}, headers=token).json()
    assert rows and all(row["district_code"] == district for row in rows)


def test_district_finance_cannot_change_providers(client):
    provider = make_provider(client, district_code="110105")
    finance = bearer(make_staff(client, role="district_finance", district_code="110105"))
    assert_problem(_set_status(client, provider["id"], "suspended", headers=finance), 403, "FORBIDDEN")
    assert_problem(
        client.post(f"{API}/providers/{provider['id']}/api-key", headers=finance), 403, "FORBIDDEN"
    )
    assert client.get(f"{API}/me", headers=bearer(provider["api_key"])).status_code == 200
    assert (
        client.get(f"{API}/providers/{provider['id']}", headers=admin_headers()).json()["status"] == "listed"
    )
