"""Helpers of the sanctions tests (test_blacklist, test_rectifications, test_rectification_trigger,
test_sanctions): staff tokens, reads that must succeed, and the sanction requests."""

from __future__ import annotations

from sqlalchemy import func, select

from app.db import session_scope
from tests.conftest import admin_headers
from tests.factories import API, bearer, make_staff

CHAOYANG, HAIDIAN, DONGCHENG = "110105", "110108", "110101"
BLACKLIST = {
    "reason": "经线上线下核查,存在先涨价后抵扣、骗取补贴资金行为",
    "legal_basis": "京民发〔2026〕6号 四(三);核查报告 2026-017",
}


def staff(client, role: str, district_code: str | None = None) -> dict[str, str]:
    return bearer(make_staff(client, role=role, district_code=district_code))


def civil(client, district_code: str = CHAOYANG) -> dict[str, str]:
    return staff(client, "district_civil", district_code)


def get(client, path: str, headers=None, **params):
    response = client.get(f"{API}{path}", params=params or None, headers=headers or admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def provider_of(client, provider_id: str) -> dict:
    return get(client, f"/providers/{provider_id}")


def register(client, *, credit: str, district_code: str = CHAOYANG, headers=None):
    body = {
        "name": "同一家公司",
        "kind": "home_care_company",
        "district_code": district_code,
        "credit_code": credit,
    }
    return client.post(f"{API}/providers", json=body, headers=headers or admin_headers())


def blacklist(client, provider: dict, headers=None, **body):
    return client.post(
        f"{API}/providers/{provider['id']}/blacklist",
        json={**BLACKLIST, **body},
        headers=headers or admin_headers(),
    )


def open_order(client, provider: dict, headers=None, **body):
    return client.post(
        f"{API}/providers/{provider['id']}/rectifications",
        json={"reason": "老年人差评较多,限期整改", **body},
        headers=headers or admin_headers(),
    )


def change_status(client, provider: dict, status: str, reason: str = "处理", headers=None):
    return client.post(
        f"{API}/providers/{provider['id']}/status",
        json={"status": status, "reason": reason},
        headers=headers or admin_headers(),
    )


def count_rows(model) -> int:
    with session_scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def orders_of(client, provider: dict) -> list[dict]:
    return get(client, f"/providers/{provider['id']}/rectifications")
