"""The committed OpenAPI document is what POS integrators code against: it must match the app."""

import json

from app.openapi_export import OPENAPI_PATH, render_openapi

CONTRACT_PATHS = {
    ("post", "/api/v1/staff"),
    ("put", "/api/v1/sandbox/clock"),
    ("delete", "/api/v1/sandbox/clock"),
    ("get", "/api/v1/districts"),
    ("get", "/api/v1/catalogue"),
    ("get", "/api/v1/policy"),
    ("post", "/api/v1/providers"),
    ("get", "/api/v1/providers"),
    ("get", "/api/v1/providers/{provider_id}"),
    ("post", "/api/v1/providers/{provider_id}/status"),
    ("post", "/api/v1/elders"),
    ("get", "/api/v1/elders/{elder_id}"),
    ("post", "/api/v1/elders/{elder_id}/approve"),
    ("post", "/api/v1/elders/{elder_id}/suspend"),
    ("get", "/api/v1/elders/{elder_id}/vouchers"),
    ("get", "/healthz"),
}


def test_committed_openapi_matches_the_app():
    assert OPENAPI_PATH.exists(), "run `voucher openapi` to write openapi/openapi.json"
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render_openapi(), (
        "openapi/openapi.json is out of date: run `voucher openapi` and commit it"
    )


def test_openapi_describes_every_contract_endpoint():
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    present = {(method, path) for path, item in document["paths"].items() for method in item}
    assert CONTRACT_PATHS <= present, sorted(CONTRACT_PATHS - present)


def test_errors_are_documented_as_problem_json():
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    create_elder = document["paths"]["/api/v1/elders"]["post"]["responses"]
    assert "application/problem+json" in create_elder["409"]["content"]
    assert "Problem" in document["components"]["schemas"]
