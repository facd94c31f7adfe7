"""Authentication and roles (CONTRACT.md, "Authentication and roles")."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.factories import (
    assert_problem,
    bearer,
    credit_code,
    elder_body,
    make_provider,
    make_staff,
)

API = "/api/v1"


# --- tokens ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/me", "/districts", "/catalogue", "/providers", "/elders", "/staff"])
def test_missing_token_is_401_unauthenticated(client, path):
    assert_problem(client.get(API + path), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", ""])
def test_malformed_authorization_header_is_401_unauthenticated(client, header):
    assert_problem(
        client.get(f"{API}/me", headers={"Authorization": header}),
        401,
        "UNAUTHENTICATED",
    )


def test_unknown_token_is_401_invalid_token(client):
    assert_problem(client.get(f"{API}/me", headers=bearer("no-such-token")), 401, "INVALID_TOKEN")


def test_admin_token_with_extra_characters_is_invalid(client):
    assert_problem(client.get(f"{API}/me", headers=bearer(ADMIN_TOKEN + "x")), 401, "INVALID_TOKEN")


def test_unauthenticated_write_creates_nothing(client):
    response = client.post(f"{API}/staff", json={"name": "x", "role": "auditor"})
    assert_problem(response, 401, "UNAUTHENTICATED")
    assert client.get(f"{API}/staff", headers=admin_headers()).json() == []


def test_bootstrap_admin_token_is_city_admin(client):
    response = client.get(f"{API}/me", headers=admin_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "city_admin"
    assert body["district_code"] is None


# --- POST /staff -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "district_code"),
    [
        ("city_admin", None),
        ("district_civil", "110105"),
        ("district_finance", "110108"),
        ("auditor", None),
    ],
)
def test_city_admin_creates_each_staff_role(client, role, district_code):
    body = {"name": "王芳", "role": role}
    if district_code is not None:
        body["district_code"] = district_code
    response = client.post(f"{API}/staff", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) >= {"id", "name", "role", "district_code", "token"}
    assert isinstance(created["id"], str) and created["id"]
    assert created["name"] == "王芳"
    assert created["role"] == role
    assert created["district_code"] == district_code
    assert isinstance(created["token"], str) and len(created["token"]) >= 32

    me = client.get(f"{API}/me", headers=bearer(created["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == role
    assert me.json()["subject_id"] == created["id"]
    assert me.json()["district_code"] == district_code


@pytest.mark.parametrize("role", ["district_civil", "district_finance"])
def test_district_role_without_district_is_invalid_role(client, role):
    response = client.post(f"{API}/staff", json={"name": "x", "role": role}, headers=admin_headers())
    assert_problem(response, 422, "INVALID_ROLE")


@pytest.mark.parametrize("role", ["city_admin", "auditor"])
def test_city_wide_role_with_district_is_invalid_role(client, role):
    response = client.post(
        f"{API}/staff",
        json={"name": "x", "role": role, "district_code": "110105"},
        headers=admin_headers(),
    )
    assert_problem(response, 422, "INVALID_ROLE")


def test_unknown_district_is_unknown_district(client):
    response = client.post(
        f"{API}/staff",
        json={"name": "x", "role": "district_civil", "district_code": "110199"},
        headers=admin_headers(),
    )
    assert_problem(response, 422, "UNKNOWN_DISTRICT")


@pytest.mark.parametrize("district_code", [None, "110105"])
def test_provider_role_cannot_be_created_as_staff(client, district_code):
    body = {"name": "x", "role": "provider"}
    if district_code:
        body["district_code"] = district_code
    response = client.post(f"{API}/staff", json=body, headers=admin_headers())
    problem = assert_problem(response, 422)
    assert problem["code"] in {"INVALID_ROLE", "VALIDATION_ERROR"}


def test_unknown_role_is_validation_error(client):
    response = client.post(f"{API}/staff", json={"name": "x", "role": "root"}, headers=admin_headers())
    problem = assert_problem(response, 422, "VALIDATION_ERROR")
    assert isinstance(problem["errors"], list) and problem["errors"]


def test_refused_staff_creation_creates_nothing(client):
    for body in (
        {"name": "x", "role": "district_civil"},
        {"name": "x", "role": "auditor", "district_code": "110105"},
        {"name": "x", "role": "district_civil", "district_code": "110199"},
        {"name": "x", "role": "provider"},
    ):
        assert client.post(f"{API}/staff", json=body, headers=admin_headers()).status_code == 422
    assert client.get(f"{API}/staff", headers=admin_headers()).json() == []


def test_token_is_returned_once_and_never_listed(client):
    created = client.post(
        f"{API}/staff",
        json={"name": "张伟", "role": "district_civil", "district_code": "110105"},
        headers=admin_headers(),
    ).json()
    token = created["token"]

    listing = client.get(f"{API}/staff", headers=admin_headers())
    assert listing.status_code == 200, listing.text
    rows = listing.json()
    assert [row["id"] for row in rows] == [created["id"]]
    assert "token" not in rows[0]
    assert not any("hash" in key for key in rows[0])
    assert token not in listing.text
    assert rows[0]["role"] == "district_civil"
    assert rows[0]["district_code"] == "110105"


def test_each_staff_member_gets_a_distinct_token(client):
    first = make_staff(client, role="auditor")
    second = make_staff(client, role="auditor")
    assert first != second
    ids = {client.get(f"{API}/me", headers=bearer(t)).json()["subject_id"] for t in (first, second)}
    assert len(ids) == 2


def test_staff_timestamps_are_beijing_time(client):
    make_staff(client, role="auditor")
    row = client.get(f"{API}/staff", headers=admin_headers()).json()[0]
    assert row["created_at"] == "2026-03-16T10:00:00+08:00"


# --- role checks -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "district_code"),
    [("district_civil", "110105"), ("district_finance", "110105"), ("auditor", None)],
)
def test_only_city_admin_may_create_staff(client, role, district_code):
    token = make_staff(client, role=role, district_code=district_code)
    before = client.get(f"{API}/staff", headers=admin_headers()).json()
    response = client.post(
        f"{API}/staff",
        json={"name": "x", "role": "district_civil", "district_code": "110105"},
        headers=bearer(token),
    )
    assert_problem(response, 403, "FORBIDDEN")
    assert client.get(f"{API}/staff", headers=admin_headers()).json() == before


def test_district_civil_cannot_list_staff(client):
    token = make_staff(client, role="district_civil", district_code="110105")
    assert_problem(client.get(f"{API}/staff", headers=bearer(token)), 403, "FORBIDDEN")


def test_staff_created_by_staff_admin_authenticates(client):
    admin2 = make_staff(client, role="city_admin")
    response = client.post(
        f"{API}/staff",
        json={"name": "x", "role": "district_civil", "district_code": "110108"},
        headers=bearer(admin2),
    )
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert client.get(f"{API}/me", headers=bearer(token)).json()["district_code"] == "110108"


def test_auditor_is_read_only(client):
    auditor = make_staff(client, role="auditor")
    provider = make_provider(client)
    elder = client.post(f"{API}/elders", json=elder_body(), headers=admin_headers()).json()

    # Reading is fine.
    assert client.get(f"{API}/providers", headers=bearer(auditor)).status_code == 200
    assert client.get(f"{API}/providers/{provider['id']}", headers=bearer(auditor)).status_code == 200
    assert client.get(f"{API}/elders", headers=bearer(auditor)).status_code == 200
    assert client.get(f"{API}/elders/{elder['id']}", headers=bearer(auditor)).status_code == 200

    # Writing is not.
    refused = [
        client.post(
            f"{API}/providers",
            json={
                "name": "审计员试图登记",
                "kind": "station",
                "district_code": "110105",
                "credit_code": credit_code(),
            },
            headers=bearer(auditor),
        ),
        client.post(f"{API}/elders", json=elder_body(), headers=bearer(auditor)),
        client.post(
            f"{API}/providers/{provider['id']}/status",
            json={"status": "suspended", "reason": "审计"},
            headers=bearer(auditor),
        ),
        client.post(f"{API}/providers/{provider['id']}/api-key", headers=bearer(auditor)),
        client.patch(f"{API}/elders/{elder['id']}", json={"name": "改名"}, headers=bearer(auditor)),
        client.post(f"{API}/elders/{elder['id']}/approve", headers=bearer(auditor)),
        client.post(f"{API}/elders/{elder['id']}/suspend", json={"reason": "other"}, headers=bearer(auditor)),
    ]
    for response in refused:
        assert_problem(response, 403, "FORBIDDEN")

    assert len(client.get(f"{API}/providers", headers=admin_headers()).json()) == 1
    assert client.get(f"{API}/elders", headers=admin_headers()).json()["total"] == 1
    after = client.get(f"{API}/elders/{elder['id']}", headers=admin_headers()).json()
    assert after["status"] == "pending" and after["name"] == elder["name"]
    assert (
        client.get(f"{API}/providers/{provider['id']}", headers=admin_headers()).json()["status"] == "listed"
    )


def test_district_finance_cannot_register(client):
    finance = make_staff(client, role="district_finance", district_code="110105")
    response = client.post(
        f"{API}/providers",
        json={"name": "x", "kind": "station", "district_code": "110105", "credit_code": credit_code()},
        headers=bearer(finance),
    )
    assert_problem(response, 403, "FORBIDDEN")
    assert_problem(client.post(f"{API}/elders", json=elder_body(), headers=bearer(finance)), 403, "FORBIDDEN")


# --- provider API keys -------------------------------------------------------------------------
def test_provider_api_key_authenticates(client):
    provider = make_provider(client, district_code="110108")
    response = client.get(f"{API}/me", headers=bearer(provider["api_key"]))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "role": "provider",
        "subject_id": provider["id"],
        "district_code": "110108",
    }


def test_provider_cannot_call_staff_endpoints(client):
    provider = make_provider(client)
    key = bearer(provider["api_key"])
    assert_problem(client.get(f"{API}/staff", headers=key), 403, "FORBIDDEN")
    assert_problem(
        client.post(f"{API}/staff", json={"name": "x", "role": "auditor"}, headers=key), 403, "FORBIDDEN"
    )
    assert_problem(client.post(f"{API}/elders", json=elder_body(), headers=key), 403, "FORBIDDEN")
    assert_problem(client.get(f"{API}/elders", headers=key), 403, "FORBIDDEN")
    assert_problem(
        client.post(
            f"{API}/providers",
            json={"name": "x", "kind": "station", "district_code": "110105", "credit_code": credit_code()},
            headers=key,
        ),
        403,
        "FORBIDDEN",
    )
    assert_problem(
        client.post(
            f"{API}/providers/{provider['id']}/status",
            json={"status": "withdrawn", "reason": "x"},
            headers=key,
        ),
        403,
        "FORBIDDEN",
    )
    assert_problem(client.post(f"{API}/providers/{provider['id']}/api-key", headers=key), 403, "FORBIDDEN")
    assert_problem(client.get(f"{API}/sandbox/clock", headers=key), 403, "FORBIDDEN")
    assert client.get(f"{API}/staff", headers=admin_headers()).json() == []
    assert client.get(f"{API}/providers/{provider['id']}", headers=key).json()["status"] == "listed"


def test_provider_may_read_reference_data(client):
    provider = make_provider(client)
    key = bearer(provider["api_key"])
    assert client.get(f"{API}/districts", headers=key).status_code == 200
    assert client.get(f"{API}/catalogue", headers=key).status_code == 200
    assert client.get(f"{API}/policy", params={"month": "2026-03"}, headers=key).status_code == 200


def test_me_for_district_staff(client):
    token = make_staff(client, role="district_finance", district_code="110105")
    body = client.get(f"{API}/me", headers=bearer(token)).json()
    assert body["role"] == "district_finance"
    assert body["district_code"] == "110105"
    assert token not in str(body)


# --- error shape for unknown routes ------------------------------------------------------------
def test_unknown_route_is_problem_404(client):
    assert_problem(client.get(f"{API}/no-such-thing", headers=admin_headers()), 404, "NOT_FOUND")


def test_wrong_method_is_problem_405(client):
    assert_problem(client.delete(f"{API}/districts", headers=admin_headers()), 405)
