"""What the assessment tests share: the clock's district, the fields of a record, and short
helpers over HTTP (submit, decide, read back everything a refused request must leave as it was)."""

from __future__ import annotations

from tests.conftest import admin_headers
from tests.factories import API, submit_assessment, vouchers_of

DISTRICT = "110105"
OTHER = "110108"
APRIL_FIRST = "2026-04-01T00:10:00+08:00"
ASSESSMENT_FIELDS = {
    "id",
    "elder_id",
    "district_code",
    "agency_id",
    "agency_name",
    "assessor_name",
    "assessor_certificate_no",
    "assessor_organisation_credit_code",
    "assessed_on",
    "visit",
    "scores",
    "indicator_totals",
    "total",
    "base_level",
    "final_level",
    "moderate_or_worse",
    "adjustments",
    "coma",
    "dementia",
    "mental_disorder",
    "dementia_or_mental_disorder",
    "risk_events_30d",
    "risk_events_total",
    "valid_until",
    "status",
    "submitted_at",
    "submitted_by",
    "decided_at",
    "decided_by",
    "decision_note",
}


def ok(response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.text
    return response.json()


def submitted(client, agency: dict | None, elder_id: str, **fields) -> dict:
    return ok(submit_assessment(client, agency, elder_id, **fields), 201)


def decide(client, assessment_id: str, action: str, headers=None, note: str | None = None):
    body = {"note": note} if note is not None else None
    return client.post(
        f"{API}/assessments/{assessment_id}/{action}", json=body, headers=headers or admin_headers()
    )


def elder_of(client, elder_id: str) -> dict:
    return ok(client.get(f"{API}/elders/{elder_id}", headers=admin_headers()))


def history_of(client, elder_id: str) -> list[dict]:
    return ok(client.get(f"{API}/elders/{elder_id}/history", headers=admin_headers()))


def records_of(client, elder_id: str) -> list[dict]:
    return ok(client.get(f"{API}/elders/{elder_id}/assessments", headers=admin_headers()))


def status_of(client, elder_id: str) -> dict:
    return ok(client.get(f"{API}/elders/{elder_id}/assessment-status", headers=admin_headers()))


def snapshot(client, elder_id: str) -> tuple:
    """Everything a refused request must leave as it was."""
    every = ok(client.get(f"{API}/assessments", headers=admin_headers()))
    return (
        elder_of(client, elder_id),
        history_of(client, elder_id),
        records_of(client, elder_id),
        every,
        vouchers_of(client, elder_id),
    )


def approve_elder(client, elder_id: str, headers=None):
    return client.post(f"{API}/elders/{elder_id}/approve", headers=headers or admin_headers())
