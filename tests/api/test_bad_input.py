"""A sweep of bad input over every writing endpoint of the foundation.

Every answer must be a 4xx ``application/problem+json`` with a ``code``, never a 500, and a
refused request changes nothing (CONTRACT.md, Conventions): the whole visible state is compared
before and after.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from tests.conftest import admin_headers
from tests.factories import credit_code, id_number, make_elder, make_provider

API = "/api/v1"
HUGE = "长" * 10_000


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # may contain {provider_id} / {elder_id}
    valid: dict
    # field name -> kind: "str", "enum", "date", "datetime", "list"
    fields: dict[str, str]
    required: tuple[str, ...] = ()
    enum_values: dict[str, str] = field(default_factory=dict)


ENDPOINTS: dict[str, Endpoint] = {
    "create_staff": Endpoint(
        "POST",
        "/staff",
        valid={"name": "王芳", "role": "district_civil", "district_code": "110105"},
        fields={"name": "str", "role": "enum", "district_code": "str"},
        required=("name", "role"),
    ),
    "create_provider": Endpoint(
        "POST",
        "/providers",
        valid={
            "name": "朝阳区某养老驿站",
            "kind": "station",
            "district_code": "110105",
            "credit_code": credit_code(serial=9_000_001),
        },
        fields={
            "name": "str",
            "kind": "enum",
            "district_code": "str",
            "credit_code": "str",
            "parent_id": "str",
        },
        required=("name", "kind", "district_code", "credit_code"),
    ),
    "provider_status": Endpoint(
        "POST",
        "/providers/{provider_id}/status",
        valid={"status": "suspended", "reason": "服务投诉核查"},
        fields={"status": "enum", "reason": "str"},
        required=("status", "reason"),
    ),
    "create_elder": Endpoint(
        "POST",
        "/elders",
        valid={
            "name": "王桂兰",
            "id_number": id_number(birth="19450607", sequence=901),
            "district_code": "110105",
            "residency": "beijing_hukou",
            "disability_level": "severe",
            "assessed_on": "2026-01-10",
            "benefits": ["ltci"],
        },
        fields={
            "name": "str",
            "id_number": "str",
            "district_code": "str",
            "residency": "enum",
            "disability_level": "enum",
            "assessed_on": "date",
            "benefits": "list",
        },
        required=("name", "id_number", "district_code", "residency", "disability_level", "assessed_on"),
    ),
    "update_elder": Endpoint(
        "PATCH",
        "/elders/{elder_id}",
        valid={"name": "王桂兰", "disability_level": "moderate", "benefits": ["ltci"]},
        fields={
            "name": "str",
            "residency": "enum",
            "disability_level": "enum",
            "assessed_on": "date",
            "benefits": "list",
        },
    ),
    "suspend_elder": Endpoint(
        "POST",
        "/elders/{elder_id}/suspend",
        valid={"reason": "moved_out", "note": "迁出本市"},
        fields={"reason": "enum", "note": "str"},
        required=("reason",),
    ),
    "set_clock": Endpoint(
        "PUT",
        "/sandbox/clock",
        valid={"now": "2026-04-01T09:00:00+08:00"},
        fields={"now": "datetime"},
        required=("now",),
    ),
}

# Values of the wrong JSON type for each kind of field.
WRONG_TYPES = {
    "str": [123, True, ["x"], {"x": 1}],
    "enum": [123, True, ["station"], {"x": 1}],
    # 0 is worth its own case: a lax parser reads it as the Unix epoch (1970-01-01).
    "date": [0, 20260110, True, ["2026-01-10"], {"y": 2026}],
    "datetime": [0, 1775005200, True, ["2026-04-01T09:00:00+08:00"], {"y": 2026}],
    "list": ["ltci", 1, True, {"ltci": True}],
}
UNKNOWN_ENUM = ["no_such_value", "", "STATION", "null"]
BAD_DATES = ["2026-02-30", "2026-13-01", "10/01/2026", "2026/01/10", "", "today"]
BAD_DATETIMES = [
    "2026-04-01T09:00:00",  # naive: no offset
    "2026-04-01",
    "2026-04-31T09:00:00+08:00",
    "yesterday",
    "",
    "1775005200",  # a Unix timestamp in a string is not RFC 3339
]
BAD_LIST_ITEMS = [["no_such_benefit"], [1], [None], [["ltci"]], ["ltci", "ltci"]]


def _cases():
    """(id, endpoint name, how to send) for every bad request of the sweep."""
    for name, ep in ENDPOINTS.items():

        def case(label, name=name, **send):
            return pytest.param(name, send, id=f"{name}-{label}")

        def schema_case(label, name=name, **send):
            # A plain schema violation: must be 422 VALIDATION_ERROR with an ``errors`` list.
            return pytest.param(name, {**send, "schema_violation": True}, id=f"{name}-{label}")

        # Wrong JSON types, field by field.
        for fname, kind in ep.fields.items():
            for i, value in enumerate(WRONG_TYPES[kind]):
                yield schema_case(f"wrong-type-{fname}-{i}", json={**ep.valid, fname: value})
            if kind == "enum":
                for i, value in enumerate(UNKNOWN_ENUM):
                    yield schema_case(f"unknown-enum-{fname}-{i}", json={**ep.valid, fname: value})
            if kind == "date":
                for i, value in enumerate(BAD_DATES):
                    yield case(f"bad-date-{fname}-{i}", json={**ep.valid, fname: value})
            if kind == "datetime":
                for i, value in enumerate(BAD_DATETIMES):
                    yield case(f"bad-datetime-{fname}-{i}", json={**ep.valid, fname: value})
            if kind == "list":
                for i, value in enumerate(BAD_LIST_ITEMS):
                    yield case(f"bad-list-item-{fname}-{i}", json={**ep.valid, fname: value})
            if kind == "str":
                yield case(f"huge-{fname}", json={**ep.valid, fname: HUGE})
                yield case(f"nul-char-{fname}", json={**ep.valid, fname: "朝阳\u0000驿站"})
                yield case(
                    f"lone-surrogate-{fname}",
                    content=json.dumps({**ep.valid, fname: "@@S@@"}).replace("@@S@@", "\\ud800").encode(),
                    headers={"Content-Type": "application/json"},
                )
            if kind in ("enum", "date", "datetime"):
                yield case(f"huge-{fname}", json={**ep.valid, fname: HUGE})

        # Missing and null required fields.
        for fname in ep.required:
            yield schema_case(f"missing-{fname}", json={k: v for k, v in ep.valid.items() if k != fname})
            yield schema_case(f"null-{fname}", json={**ep.valid, fname: None})

        # Unknown extra fields are refused, not ignored.
        yield schema_case("extra-field", json={**ep.valid, "unexpected": 1})
        yield schema_case("extra-field-id", json={**ep.valid, "id": "00000000-0000-0000-0000-000000000001"})
        yield schema_case("extra-field-status", json={**ep.valid, "status_": "approved", "created_by": "me"})
        yield schema_case("extra-field-camel-case", json={**ep.valid, "districtCode": "110105"})

        # Whole-body shapes.
        yield schema_case("body-list", json=[ep.valid])
        yield case("body-string", json="hello")
        yield case("body-number", json=42)
        yield case("body-null", content=b"null", headers={"Content-Type": "application/json"})
        if ep.required:
            yield schema_case("body-empty-object", json={})
        yield schema_case("body-empty", content=b"", headers={"Content-Type": "application/json"})
        yield schema_case("body-none")
        yield case("json-truncated", content=b'{"name": ', headers={"Content-Type": "application/json"})
        yield case(
            "json-single-quotes", content=b"{'name': 'x'}", headers={"Content-Type": "application/json"}
        )
        yield case(
            "json-trailing-comma",
            content=json.dumps(ep.valid).encode()[:-1] + b",}",
            headers={"Content-Type": "application/json"},
        )
        yield case("json-nan", content=b'{"name": NaN}', headers={"Content-Type": "application/json"})
        first = next(iter(ep.valid))
        yield case(
            "non-utf8",
            content=json.dumps({**ep.valid, first: "@@B@@"}, ensure_ascii=False)
            .encode("utf-8")
            .replace(b"@@B@@", b"\xff\xfe\xfa"),
            headers={"Content-Type": "application/json"},
        )
        yield case(
            "gbk",
            content=json.dumps({**ep.valid, first: "李秀英"}, ensure_ascii=False).encode("gbk"),
            headers={"Content-Type": "application/json"},
        )
        yield case("binary-garbage", content=bytes(range(256)), headers={"Content-Type": "application/json"})
        yield case(
            "text-plain", content=json.dumps(ep.valid).encode(), headers={"Content-Type": "text/plain"}
        )
        yield case(
            "form-encoded",
            content=b"name=x&role=auditor",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        yield case(
            "deeply-nested",
            content=b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            headers={"Content-Type": "application/json"},
        )


@pytest.fixture
def quiet(client):
    """The same app, answering a 500 as a response instead of raising it in the test."""
    from fastapi.testclient import TestClient

    return TestClient(client.app, raise_server_exceptions=False)


@pytest.fixture
def world(client):
    """One provider and one approved elder to aim the path-parameter endpoints at."""
    provider = make_provider(client, kind="station", district_code="110105")
    elder = make_elder(client, district_code="110105")
    assert client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers()).status_code == 200
    return {"provider_id": provider["id"], "elder_id": elder["id"]}


def snapshot(client) -> dict:
    """Everything a city admin can see."""
    h = admin_headers()
    providers = client.get(f"{API}/providers", headers=h).json()
    elders = client.get(f"{API}/elders", params={"limit": 500}, headers=h).json()
    return {
        "staff": client.get(f"{API}/staff", headers=h).json(),
        "providers": providers,
        "provider_history": {
            p["id"]: client.get(f"{API}/providers/{p['id']}/status-history", headers=h).json()
            for p in providers
        },
        "elders": elders,
        "elder_history": {
            e["id"]: client.get(f"{API}/elders/{e['id']}/history", headers=h).json() for e in elders["items"]
        },
        "clock": client.get(f"{API}/sandbox/clock", headers=h).json(),
    }


def _send(client, name: str, world: dict, send: dict):
    ep = ENDPOINTS[name]
    headers = {**admin_headers(), **send.get("headers", {})}
    kwargs = {k: v for k, v in send.items() if k not in ("headers", "schema_violation")}
    return client.request(ep.method, API + ep.path.format(**world), headers=headers, **kwargs)


@pytest.mark.parametrize(("name", "send"), list(_cases()))
def test_bad_input_is_a_4xx_problem_and_changes_nothing(client, quiet, world, name, send):
    before = snapshot(client)
    response = _send(quiet, name, world, send)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem = response.json()
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", problem.get("code", "")), problem
    assert problem["status"] == response.status_code
    for key in ("type", "title", "detail"):
        assert isinstance(problem.get(key), str), problem
    # Bad input is never echoed back (it may be a name or an ID number).
    assert HUGE not in response.text
    if send.get("schema_violation"):
        assert response.status_code == 422, response.text[:500]
        assert problem["code"] == "VALIDATION_ERROR", problem
        assert isinstance(problem.get("errors"), list) and problem["errors"], problem
        for error in problem["errors"]:
            assert "input" not in error, error
    assert snapshot(client) == before


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_the_valid_body_of_the_sweep_is_accepted(client, world, name):
    """Guards the sweep itself: without the defect, each request would have succeeded."""
    response = _send(client, name, world, {"json": ENDPOINTS[name].valid})
    assert response.status_code in (200, 201), response.text


def test_patch_with_empty_object_changes_nothing_but_is_fine(client, world):
    before = snapshot(client)
    response = client.patch(f"{API}/elders/{world['elder_id']}", json={}, headers=admin_headers())
    assert response.status_code == 200, response.text
    assert snapshot(client) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/providers/{provider_id}/api-key"),
        ("POST", "/elders/{elder_id}/approve"),
    ],
)
def test_bodyless_endpoints_ignore_or_refuse_junk_without_500(quiet, world, method, path):
    response = quiet.request(
        method,
        API + path.format(**world),
        content=b"\xff\xfe{{{",
        headers={**admin_headers(), "Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text
