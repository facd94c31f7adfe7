"""Keyword-only helpers that build valid registry data over HTTP, as a district would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from stdnum.cn import ric, uscc

from tests.conftest import admin_headers

_serial = itertools.count(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def id_number(*, region: str = "110105", birth: str = "19500101", sequence: int | None = None) -> str:
    """A valid 18-character resident ID number (correct check character)."""
    seq = f"{(sequence if sequence is not None else next(_serial)) % 1000:03d}"
    body = f"{region}{birth}{seq}"
    return body + ric.calc_check_digit(body + "0")


def credit_code(*, region: str = "110105", serial: int | None = None) -> str:
    """A valid 18-character unified social credit code (correct check character)."""
    n = serial if serial is not None else next(_serial)
    body = f"91{region}MA{n:07d}"[:17]
    return body + uscc.calc_check_digit(body)


def make_staff(client, *, role: str, district_code: str | None = None, name: str = "测试员工") -> str:
    body = {"name": name, "role": role}
    if district_code is not None:
        body["district_code"] = district_code
    response = client.post("/api/v1/staff", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    return response.json()["token"]


@dataclass(frozen=True)
class Staff:
    """A staff account made by :func:`staff`: its id and its token."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"


def staff(client, role: str, district_code: str | None = None) -> Staff:
    body = {"name": f"{role}-{district_code}", "role": role}
    if district_code:
        body["district_code"] = district_code
    response = client.post(f"{API}/staff", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    return Staff(response.json()["id"], response.json()["token"])


def make_provider(
    client,
    *,
    token: str | None = None,
    kind: str = "station",
    district_code: str = "110105",
    name: str | None = None,
    parent_id: str | None = None,
) -> dict:
    body = {
        "name": name or f"测试{kind}{next(_serial)}",
        "kind": kind,
        "district_code": district_code,
        "credit_code": credit_code(region=district_code),
    }
    if parent_id is not None:
        body["parent_id"] = parent_id
    headers = bearer(token) if token else admin_headers()
    response = client.post("/api/v1/providers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def elder_body(
    *,
    district_code: str = "110105",
    disability_level: str = "severe",
    residency: str = "beijing_hukou",
    assessed_on: str = "2026-01-10",
    benefits: list[str] | None = None,
    birth: str = "19480305",
    number: str | None = None,
    disability_allowance_tier: int | None = None,
) -> dict:
    extra = (
        {} if disability_allowance_tier is None else {"disability_allowance_tier": disability_allowance_tier}
    )
    return {
        **extra,
        "name": "李秀英",
        "id_number": number or id_number(region=district_code, birth=birth),
        "district_code": district_code,
        "residency": residency,
        "disability_level": disability_level,
        "assessed_on": assessed_on,
        "benefits": benefits or [],
    }


def make_elder(client, *, token: str | None = None, **fields) -> dict:
    headers = bearer(token) if token else admin_headers()
    response = client.post("/api/v1/elders", json=elder_body(**fields), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- assertions shared by the API tests ---------------------------------------------------------
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code")


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """An RFC 9457 problem of the contract: status, media type, the five fields, the code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers.get(
        "content-type"
    )
    problem = response.json()
    for field in PROBLEM_FIELDS:
        assert field in problem, (field, problem)
    assert problem["status"] == status, problem
    if code is not None:
        assert problem["code"] == code, problem
    return problem


# --- money core helpers (vouchers, redemptions, jobs) -------------------------------------------
API = "/api/v1"


def set_clock(client, now: str) -> None:
    """Freeze the sandbox clock at ``now`` (RFC 3339)."""
    response = client.put(f"{API}/sandbox/clock", json={"now": now}, headers=admin_headers())
    assert response.status_code == 200, response.text


def clock_now(client) -> str:
    response = client.get(f"{API}/sandbox/clock", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()["now"]


def approved_elder(client, *, token: str | None = None, approved_at: str | None = None, **fields) -> dict:
    """An elder created and approved; the approval response (with ``voucher``).

    ``approved_at``: approve at that instant (the sandbox clock is moved there and back), for
    tests that post services earlier than now: no service before the approval is paid."""
    restore = clock_now(client) if approved_at else None
    if approved_at:
        set_clock(client, approved_at)
    elder = make_elder(client, token=token, **fields)
    headers = bearer(token) if token else admin_headers()
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=headers)
    assert response.status_code == 200, response.text
    if restore:
        set_clock(client, restore)
    return response.json()


def approved_elder_with_number(client, **fields) -> tuple[dict, str]:
    """An approved elder and the full ID number it was registered with (for POS lookups)."""
    number = fields.pop("number", None) or id_number(
        region=fields.get("district_code", "110105"), birth=fields.get("birth", "19480305")
    )
    elder = approved_elder(client, number=number, **fields)
    return elder, number


_key_serial = itertools.count(1)


def redemption_body(elder_id: str, **overrides) -> dict:
    """A valid redemption body: item 11 (上门洗浴) for 300 yuan, served at the default clock
    (10:00, the instant the default elder is approved: no service before approval is paid)."""
    body = {
        "elder_id": elder_id,
        "item": 11,
        "amount_fen": 30000,
        "ltci_paid_fen": 0,
        "served_at": "2026-03-16T10:00:00+08:00",
        "id_checked": True,
    }
    body.update(overrides)
    return body


def redeem(client, provider: dict, elder_id: str, *, key: str | None = None, **overrides):
    """POST /redemptions as ``provider`` (a make_provider result) with a fresh key unless given."""
    headers = {
        **bearer(provider["api_key"]),
        "Idempotency-Key": key if key is not None else f"key-{next(_key_serial)}",
    }
    return client.post(f"{API}/redemptions", json=redemption_body(elder_id, **overrides), headers=headers)


def vouchers_of(client, elder_id: str, month: str | None = None) -> list[dict]:
    params = {"month": month} if month else None
    response = client.get(f"{API}/elders/{elder_id}/vouchers", params=params, headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def voucher_of(client, elder_id: str, month: str = "2026-03") -> dict:
    found = vouchers_of(client, elder_id, month)
    assert len(found) == 1, found
    return found[0]


def ledger_verify(client) -> dict:
    response = client.get(f"{API}/ledger/verify", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def run_job(client, job: str, month: str):
    return client.post(f"{API}/jobs/{job}", json={"month": month}, headers=admin_headers())


# --- assessments (issue 6) ------------------------------------------------------------------------
# A total per level, well inside each GB/T 42195-2022 band (C.3).
LEVEL_TOTALS = {"intact": 90, "mild": 70, "moderate": 50, "severe": 40, "complete": 20}


def assessment_scores(total: int) -> dict[str, int]:
    """The 26 item scores adding up to ``total`` (0-90): items filled to their maximum in table
    order, the rest 0."""
    from app.rules.assessment import ITEMS

    scores, left = {}, total
    for item in ITEMS:
        scores[item.code] = min(item.max_score, left)
        left -= scores[item.code]
    assert left == 0, total
    return scores


def assessment_body(
    elder_id: str, *, level: str = "moderate", assessed_on: str = "2026-03-10", **overrides
) -> dict:
    body = {
        "elder_id": elder_id,
        "assessor_name": "王医生",
        "assessor_certificate_no": "PG-2026-0001",
        "assessed_on": assessed_on,
        "visit": "home",
        "scores": assessment_scores(LEVEL_TOTALS[level]),
    }
    body.update(overrides)
    return body


def submit_assessment(client, agency: dict | None, elder_id: str, **fields):
    """POST /assessments with ``agency``'s key (a make_provider result), or as the admin when None."""
    headers = bearer(agency["api_key"]) if agency else admin_headers()
    return client.post(f"{API}/assessments", json=assessment_body(elder_id, **fields), headers=headers)


def approved_assessment(client, agency: dict, elder_id: str, *, headers=None, **fields) -> dict:
    """An assessment submitted by ``agency`` and approved (by the admin unless ``headers``)."""
    response = submit_assessment(client, agency, elder_id, **fields)
    assert response.status_code == 201, response.text
    decided = client.post(
        f"{API}/assessments/{response.json()['id']}/approve", headers=headers or admin_headers()
    )
    assert decided.status_code == 200, decided.text
    return decided.json()
