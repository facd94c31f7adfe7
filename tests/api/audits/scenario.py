"""The scenario the audit tests share (issue 5; CONTRACT.md "Audit samples" and "Settlement"):
the March 2026 districts, and the requests the tests make.

The March 2026 scenario (``march`` fixture, tests/api/audits/conftest.py), clock 2026-03-16 10:00
Beijing, stations A and B of 110105; every amount is a home-care item at rate 0.50:

| elder (district, level) | posted redemptions (deduction)  | reversed   | population stratum        |
|-------------------------|---------------------------------|------------|---------------------------|
| e1 (110105, severe)     | A 15000, B 10000                | A 5000     | provider:A                |
| e2 (110105, severe)     | A 15000, B 10000                | A 5000     | provider:A                |
| e3 (110105, moderate)   | A 5000, B 15000                 | A 5000     | provider:B                |
| e6 (110105, complete)   | A 10000, B 10000                | A 5000     | tie: the smaller id       |
| e5 (110105, severe)     | none                            | A 15000    | not in it (reversed only) |
| e4 (110108, severe)     | A 15000                         |            | not in it (other district)|

110105's March redemption population: e1, e2, e3, e6 (N = 4, sample size 1, so which elder is
drawn is random: the tests ask the sample and work with whichever it is, the ``drawn`` fixture).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from tests.conftest import admin_headers
from tests.factories import API, Staff, bearer, ledger_verify, redeem

DISTRICT = "110105"
OTHER = "110108"
MARCH_SERVED = "2026-03-16T10:00:00+08:00"  # the instant the elders are approved
APRIL = "2026-04-02T10:00:00+08:00"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


# --- staff and the March scenario ------------------------------------------------------------------


@dataclass
class March:
    civil: Staff
    finance: Staff
    other_civil: Staff
    auditor: Staff
    a: dict
    b: dict
    elders: dict[str, dict]  # e1 … e6
    r: dict[str, dict[str, dict]]  # elder key -> "A" | "B" | "rev" -> redemption

    def key_of(self, elder_id: str) -> str:
        return next(k for k, e in self.elders.items() if e["id"] == elder_id)

    def expected_population(self) -> dict[str, str]:
        """elder id -> stratum, as the module docstring's table says."""
        a, b = f"provider:{self.a['id']}", f"provider:{self.b['id']}"
        tie = f"provider:{min(self.a['id'], self.b['id'])}"
        strata = {"e1": a, "e2": a, "e3": b, "e6": tie}
        return {self.elders[k]["id"]: s for k, s in strata.items()}


def redeemed(client, provider: dict, elder: dict, amount_fen: int, served_at: str = MARCH_SERVED) -> dict:
    response = redeem(client, provider, elder["id"], item=11, amount_fen=amount_fen, served_at=served_at)
    assert response.status_code == 201, response.text
    return response.json()


def reverse(client, provider: dict, redemption: dict) -> None:
    response = client.post(
        f"{API}/redemptions/{redemption['id']}/reverse", headers=bearer(provider["api_key"])
    )
    assert response.status_code == 200, response.text


# --- requests --------------------------------------------------------------------------------------
def draw(client, who: Staff | None, month: str = "2026-03", kind: str = "redemption", district=DISTRICT):
    headers = who.headers if who else admin_headers()
    body = {"district_code": district, "month": month, "kind": kind}
    return client.post(f"{API}/audit-samples", json=body, headers=headers)


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def sample_get(client, sample_id: str, suffix: str = "", who: Staff | None = None):
    headers = who.headers if who else admin_headers()
    return client.get(f"{API}/audit-samples/{sample_id}{suffix}", headers=headers)


def verify(client, sample_id: str, who: Staff | None = None) -> dict:
    return ok(sample_get(client, sample_id, "/verify", who))


def record(
    client, sample_id: str, who: Staff, elder_id: str, outcome: str, redemption_ids=(), note="抽查回访"
):
    body = {"elder_id": elder_id, "outcome": outcome, "note": note, "redemption_ids": list(redemption_ids)}
    return client.post(f"{API}/audit-samples/{sample_id}/findings", json=body, headers=who.headers)


def recorded(client, sample_id: str, who: Staff, elder_id: str, outcome: str, redemption_ids=()) -> dict:
    response = record(client, sample_id, who, elder_id, outcome, redemption_ids)
    assert response.status_code == 201, response.text
    return response.json()


def findings_of(client, sample_id: str) -> list[dict]:
    return ok(sample_get(client, sample_id, "/findings"))


def build(client, who: Staff, month: str, district_code: str = DISTRICT) -> dict:
    body = {"district_code": district_code, "month": month}
    response = client.post(f"{API}/settlements", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


def get_batch(client, batch_id: str) -> dict:
    return ok(client.get(f"{API}/settlements/{batch_id}", headers=admin_headers()))


def civil_review(client, batch_id: str, who: Staff, rejections: list | None = None) -> dict:
    body = {"rejections": rejections or []}
    return ok(client.post(f"{API}/settlements/{batch_id}/civil-review", json=body, headers=who.headers))


def approve(client, batch_id: str, who: Staff) -> dict:
    body = {"approve": True}
    return ok(client.post(f"{API}/settlements/{batch_id}/finance-review", json=body, headers=who.headers))


def pay(client, batch_id: str, who: Staff, provider: dict, amount_fen: int):
    body = {"provider_id": provider["id"], "amount_fen": amount_fen, "reference": f"PAY-{amount_fen}"}
    return client.post(f"{API}/settlements/{batch_id}/payments", json=body, headers=who.headers)


def line_of(batch: dict, provider: dict) -> dict:
    found = [line for line in batch["lines"] if line["provider_id"] == provider["id"]]
    assert len(found) == 1, batch["lines"]
    return found[0]


def assert_ledger_ok(client) -> dict:
    report = ledger_verify(client)
    assert report["ok"] is True, report["mismatches"]
    return report


# --- reading what the API does not show ------------------------------------------------------------
def rejection_reasons(batch_id: str) -> dict[str, str]:
    from app.db import session_scope
    from app.models.settlements import SettlementItem

    with session_scope(write=False) as session:
        rows = session.execute(
            select(SettlementItem.redemption_id, SettlementItem.rejection_reason).where(
                SettlementItem.batch_id == uuid.UUID(batch_id), SettlementItem.rejected.is_(True)
            )
        ).all()
    return {str(rid): reason for rid, reason in rows}
