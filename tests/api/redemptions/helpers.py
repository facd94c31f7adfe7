"""Shared helpers of the point-of-service tests."""

from __future__ import annotations

from tests.conftest import admin_headers
from tests.factories import (
    API,
    bearer,
    ledger_verify,
    voucher_of,
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


def enrol(client, elder_id: str, provider_id: str, kind: str, starts_on: str = "2026-03-01", ends_on=None):
    body = {"kind": kind, "provider_id": provider_id, "starts_on": starts_on}
    if ends_on:
        body["ends_on"] = ends_on
    response = client.post(f"{API}/elders/{elder_id}/enrolments", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    return response.json()


def reverse(client, provider: dict, redemption_id: str):
    return client.post(f"{API}/redemptions/{redemption_id}/reverse", headers=provider_headers(provider))
