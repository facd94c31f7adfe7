"""Reference data (CONTRACT.md, "Reference data")."""

from __future__ import annotations

import pytest

from tests.conftest import admin_headers
from tests.factories import assert_problem, bearer, make_provider, make_staff

API = "/api/v1"


# --- districts ---------------------------------------------------------------------------------
def test_districts_are_beijings_sixteen_and_the_development_zone(client):
    response = client.get(f"{API}/districts", headers=admin_headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    rows = response.json()
    assert len(rows) == 17
    for row in rows:
        assert set(row) >= {"code", "name"}
        assert isinstance(row["code"], str) and len(row["code"]) == 6 and row["code"].isdigit()
    by_code = {row["code"]: row["name"] for row in rows}
    assert len(by_code) == 17
    assert by_code["110105"] == "朝阳区"
    assert by_code["110108"] == "海淀区"
    assert by_code["110101"] == "东城区"
    assert by_code["110102"] == "西城区"
    assert "北京经济技术开发区" in by_code.values()
    assert sum(1 for code in by_code if code.startswith("1101")) == 16


def test_districts_readable_by_district_staff(client):
    token = make_staff(client, role="district_civil", district_code="110105")
    response = client.get(f"{API}/districts", headers=bearer(token))
    assert response.status_code == 200
    # Reference data is not district-scoped.
    assert len(response.json()) == 17


# --- catalogue ---------------------------------------------------------------------------------
@pytest.fixture
def catalogue(client) -> dict[int, dict]:
    response = client.get(f"{API}/catalogue", headers=admin_headers())
    assert response.status_code == 200, response.text
    rows = response.json()
    return {row["item"]: row for row in rows}


def test_catalogue_has_51_items_numbered_1_to_51(client, catalogue):
    rows = client.get(f"{API}/catalogue", headers=admin_headers()).json()
    assert len(rows) == 51
    assert [row["item"] for row in rows] == list(range(1, 52))
    for row in rows:
        assert set(row) >= {
            "item",
            "category",
            "group",
            "name",
            "unit",
            "ref_price_min_fen",
            "ref_price_max_fen",
        }
        assert row["name"] and row["unit"] and row["group"]


def test_catalogue_categories(catalogue):
    assert catalogue[1]["category"] == "assessment"
    for item in (2, 3, 4):
        assert catalogue[item]["category"] == "institution", item
    for item in range(5, 52):
        assert catalogue[item]["category"] == "home_community", item


def test_catalogue_reference_prices(catalogue):
    bath = catalogue[11]
    assert bath["name"] == "上门洗浴"
    assert (bath["ref_price_min_fen"], bath["ref_price_max_fen"]) == (20000, 40000)
    meals = catalogue[7]
    assert meals["name"] == "上门送餐"
    assert (meals["ref_price_min_fen"], meals["ref_price_max_fen"]) == (300, 1000)
    assert catalogue[1]["ref_price_min_fen"] == 10000


@pytest.mark.parametrize("item", [2, 3, 4, 5, 6, 37])
def test_catalogue_contract_priced_items_have_null_prices(catalogue, item):
    assert catalogue[item]["ref_price_min_fen"] is None
    assert catalogue[item]["ref_price_max_fen"] is None


def test_catalogue_prices_are_integer_fen_and_ordered(catalogue):
    for item, row in catalogue.items():
        low, high = row["ref_price_min_fen"], row["ref_price_max_fen"]
        assert (low is None) == (high is None), item
        if low is not None:
            assert isinstance(low, int) and isinstance(high, int), item
            assert 0 < low <= high, item


# --- policy ------------------------------------------------------------------------------------
@pytest.mark.parametrize("month", ["2026-01", "2026-03", "2026-12"])
def test_policy_in_program_period(client, month):
    response = client.get(f"{API}/policy", params={"month": month}, headers=admin_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["month"] == month
    assert body["home_community_rate"] == "0.50"
    assert body["institution_rate"] == "0.40"
    assert body["monthly_cap_fen"] == 80000
    assert body["funding"] == {"central": "0.85", "city": "0.075", "district": "0.075"}


@pytest.mark.parametrize("month", ["2025-12", "2027-01", "1999-01"])
def test_policy_outside_program_period_is_404(client, month):
    response = client.get(f"{API}/policy", params={"month": month}, headers=admin_headers())
    assert_problem(response, 404, "NO_POLICY_FOR_MONTH")


@pytest.mark.parametrize(
    "month",
    [
        "2026-1",
        "2026-13",
        "2026-00",
        "26-01",
        "2026/01",
        "2026-01-01",
        "abcd-ef",
        "",
        " 2026-01",
        "２０２６-０１",
    ],
)
def test_policy_bad_month_format_is_validation_error(client, month):
    response = client.get(f"{API}/policy", params={"month": month}, headers=admin_headers())
    problem = assert_problem(response, 422, "VALIDATION_ERROR")
    assert isinstance(problem["errors"], list) and problem["errors"]


def test_policy_without_month_is_validation_error(client):
    assert_problem(client.get(f"{API}/policy", headers=admin_headers()), 422, "VALIDATION_ERROR")


# --- tokens required ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/districts", "/catalogue", "/policy?month=2026-03"])
def test_reference_needs_a_token(client, path):
    assert_problem(client.get(API + path), 401, "UNAUTHENTICATED")
    assert_problem(client.get(API + path, headers=bearer("wrong")), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("path", ["/districts", "/catalogue", "/policy?month=2026-03"])
def test_reference_readable_by_every_role(client, path):
    tokens = [
        make_staff(client, role="district_civil", district_code="110105"),
        make_staff(client, role="district_finance", district_code="110108"),
        make_staff(client, role="auditor"),
        make_provider(client)["api_key"],
    ]
    for token in tokens:
        assert client.get(API + path, headers=bearer(token)).status_code == 200
