"""Audit findings over HTTP (issue 5; CONTRACT.md "Audit samples"): who may record them, the
refused ones (which write nothing), findings without money effect, and fake service found before
the settlement is approved (excluded from it). The scenario is tests/api/audits/scenario.py.
"""

from __future__ import annotations

from datetime import datetime

from tests.api.audits.scenario import (
    APRIL,
    DISTRICT,
    OTHER,
    UNKNOWN_ID,
    assert_ledger_ok,
    build,
    civil_review,
    findings_of,
    get_batch,
    line_of,
    ok,
    record,
    recorded,
    rejection_reasons,
    sample_get,
)
from tests.conftest import admin_headers
from tests.factories import API, assert_problem, bearer, ledger_verify, set_clock


# === 1. roles and scope ============================================================================
def test_who_may_record_findings(client, march, sample, drawn):
    """Findings: the district's civil officer or the city admin; finance and auditors 403,
    another district's officer 404 (the sample is not theirs to see), providers 403."""
    elder_id = march.elders[drawn]["id"]
    for who in (march.finance, march.auditor):
        assert_problem(record(client, sample["id"], who, elder_id, "genuine"), 403)
    assert_problem(record(client, sample["id"], march.other_civil, elder_id, "genuine"), 404)
    provider = bearer(march.a["api_key"])
    body = {"elder_id": elder_id, "outcome": "genuine", "note": "x", "redemption_ids": []}
    assert_problem(
        client.post(f"{API}/audit-samples/{sample['id']}/findings", json=body, headers=provider), 403
    )
    assert findings_of(client, sample["id"]) == []
    assert (
        recorded(client, sample["id"], march.civil, elder_id, "genuine")["recorded_by"] == march.civil.actor
    )
    response = client.post(f"{API}/audit-samples/{sample['id']}/findings", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    assert response.json()["recorded_by"] == "staff:bootstrap-admin"
    assert ok(client.get(f"{API}/audit-findings", headers=march.other_civil.headers))["total"] == 0
    assert ok(client.get(f"{API}/audit-findings", headers=march.auditor.headers))["total"] == 2


# === 2. findings validation ========================================================================
def test_invalid_findings_are_refused_and_write_nothing(client, march, sample, drawn):
    """ELDER_NOT_SAMPLED for an elder not drawn; INVALID_FINDING for fake service without
    redemptions, and for redemptions that are another elder's, reversed, malformed, unknown,
    duplicated or of two providers. Nothing is written on refusal."""
    sid = sample["id"]
    elder_id = march.elders[drawn]["id"]
    not_drawn = next(k for k in ("e1", "e2", "e3", "e6") if k != drawn)
    own = march.r[drawn]
    before = ledger_verify(client)

    for who in (
        march.elders[not_drawn]["id"],
        march.elders["e4"]["id"],
        march.elders["e5"]["id"],
        "not-an-id",
    ):
        assert_problem(record(client, sid, march.civil, who, "genuine"), 422, "ELDER_NOT_SAMPLED")
    assert_problem(
        record(
            client,
            sid,
            march.civil,
            march.elders[not_drawn]["id"],
            "fake_service",
            [march.r[not_drawn]["A"]["id"]],
        ),
        422,
        "ELDER_NOT_SAMPLED",
    )
    refused = {
        "no redemptions": ("fake_service", []),
        "another elder's": ("fake_service", [march.r[not_drawn]["A"]["id"]]),
        "another district's": ("fake_service", [march.r["e4"]["A"]["id"]]),
        "reversed": ("fake_service", [own["rev"]["id"]]),
        "malformed": ("fake_service", ["not-an-id"]),
        "unknown": ("fake_service", [UNKNOWN_ID]),
        "duplicated": ("fake_service", [own["A"]["id"], own["A"]["id"]]),
        "duplicated in another spelling": ("fake_service", [own["A"]["id"], own["A"]["id"].upper()]),
        "two providers": ("fake_service", [own["A"]["id"], own["B"]["id"]]),
        "one good, one reversed": ("fake_service", [own["A"]["id"], own["rev"]["id"]]),
        "genuine, two providers": ("genuine", [own["A"]["id"], own["B"]["id"]]),
        "poor quality, another elder's": ("poor_quality", [march.r[not_drawn]["B"]["id"]]),
    }
    for case, (outcome, ids) in refused.items():
        problem = assert_problem(record(client, sid, march.civil, elder_id, outcome, ids), 422)
        assert problem["code"] == "INVALID_FINDING", (case, problem)

    assert findings_of(client, sid) == []
    assert ok(sample_get(client, sid))["findings_recorded"] == 0
    assert ok(client.get(f"{API}/audit-findings", headers=admin_headers()))["total"] == 0
    assert ledger_verify(client)["entries"] == before["entries"]


def test_findings_without_money_effect(client, march, sample, drawn):
    """genuine, poor_quality and low_satisfaction findings are recorded as given, with no money
    effect (excluded 0, clawback 0, every named redemption "none"); provider_id is the one of the
    named redemptions, null when none is named."""
    sid = sample["id"]
    elder_id = march.elders[drawn]["id"]
    own = march.r[drawn]
    before = ledger_verify(client)
    genuine = recorded(client, sid, march.civil, elder_id, "genuine", [own["A"]["id"]])
    assert (genuine["sample_id"], genuine["elder_id"], genuine["outcome"]) == (sid, elder_id, "genuine")
    assert (genuine["district_code"], genuine["month"], genuine["provider_id"]) == (
        DISTRICT,
        "2026-03",
        march.a["id"],
    )
    assert (genuine["excluded_fen"], genuine["clawback_fen"]) == (0, 0)
    assert genuine["redemptions"] == [
        {"redemption_id": own["A"]["id"], "deduction_fen": own["A"]["deduction_fen"], "effect": "none"}
    ]
    assert genuine["note"] == "抽查回访"
    assert datetime.fromisoformat(genuine["recorded_at"]) == datetime.fromisoformat(APRIL)
    set_clock(client, "2026-04-02T10:05:00+08:00")  # findings are listed in the order recorded
    poor = recorded(client, sid, march.civil, elder_id, "poor_quality", [own["B"]["id"]])
    assert (poor["provider_id"], poor["excluded_fen"], poor["clawback_fen"]) == (march.b["id"], 0, 0)
    assert [r["effect"] for r in poor["redemptions"]] == ["none"]
    set_clock(client, "2026-04-02T10:10:00+08:00")
    low = recorded(client, sid, march.civil, elder_id, "low_satisfaction")
    assert (low["provider_id"], low["redemptions"], low["excluded_fen"], low["clawback_fen"]) == (
        None,
        [],
        0,
        0,
    )

    assert [f["id"] for f in findings_of(client, sid)] == [genuine["id"], poor["id"], low["id"]]
    assert findings_of(client, sid)[0] == genuine
    assert ok(sample_get(client, sid))["findings_recorded"] == 1  # one elder
    assert ledger_verify(client)["entries"] == before["entries"]

    page = ok(client.get(f"{API}/audit-findings", params={"limit": 2}, headers=march.auditor.headers))
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [f["id"] for f in page["items"]] == [low["id"], poor["id"]]  # newest first
    rest = ok(client.get(f"{API}/audit-findings", params={"offset": 2}, headers=march.auditor.headers))
    assert [f["id"] for f in rest["items"]] == [genuine["id"]]
    for params, expected in (
        ({"outcome": "poor_quality"}, [poor["id"]]),
        ({"provider_id": march.a["id"]}, [genuine["id"]]),
        ({"district_code": OTHER}, []),
        ({"month": "2026-02"}, []),
        ({"month": "2026-03", "district_code": DISTRICT, "outcome": "fake_service"}, []),
    ):
        got = ok(client.get(f"{API}/audit-findings", params=params, headers=admin_headers()))
        assert [f["id"] for f in got["items"]] == expected, params
        assert got["total"] == len(expected)

    # Settlement later holds every redemption in full: nothing was excluded.
    batch = build(client, march.civil, "2026-03")
    assert batch["totals"]["rejected_fen"] == 0
    assert batch["totals"]["clawback_fen"] == 0


# === 3. fake service found before settlement is approved ===========================================
def test_fake_service_before_the_batch_is_built_is_excluded_from_it(client, march, sample, drawn):
    """A fake-service finding on a redemption not yet in a batch excludes it (effect "excluded",
    excluded_fen = its deduction); the batch built afterwards rejects it with the audit's reason;
    the journal still verifies. A second finding on it does nothing more."""
    sid = sample["id"]
    elder_id = march.elders[drawn]["id"]
    fake = march.r[drawn]["A"]
    deduction = fake["deduction_fen"]
    finding = recorded(client, sid, march.civil, elder_id, "fake_service", [fake["id"]])
    assert (finding["outcome"], finding["provider_id"]) == ("fake_service", march.a["id"])
    assert (finding["excluded_fen"], finding["clawback_fen"]) == (deduction, 0)
    assert finding["redemptions"] == [
        {"redemption_id": fake["id"], "deduction_fen": deduction, "effect": "excluded"}
    ]
    assert_ledger_ok(client)

    batch = build(client, march.civil, "2026-03")
    a_deduction = sum(march.r[k]["A"]["deduction_fen"] for k in ("e1", "e2", "e3", "e6"))
    b_deduction = sum(march.r[k]["B"]["deduction_fen"] for k in ("e1", "e2", "e3", "e6"))
    totals = batch["totals"]
    assert totals["deduction_fen"] == a_deduction + b_deduction
    assert totals["rejected_fen"] == deduction
    assert totals["payable_fen"] == a_deduction + b_deduction - deduction
    assert (totals["clawback_fen"], totals["payment_due_fen"]) == (0, totals["payable_fen"])
    a_line = line_of(batch, march.a)
    assert (a_line["deduction_fen"], a_line["rejected_fen"], a_line["payable_fen"]) == (
        a_deduction,
        deduction,
        a_deduction - deduction,
    )
    assert line_of(batch, march.b)["rejected_fen"] == 0
    reasons = rejection_reasons(batch["id"])
    assert list(reasons) == [fake["id"]]
    assert "抽查认定虚假服务" in reasons[fake["id"]]
    assert_ledger_ok(client)

    again = recorded(client, sid, march.civil, elder_id, "fake_service", [fake["id"]])
    assert (again["excluded_fen"], again["clawback_fen"]) == (0, 0)
    assert [r["effect"] for r in again["redemptions"]] == ["none"]
    assert get_batch(client, batch["id"])["totals"] == totals
    assert_ledger_ok(client)


def test_fake_service_during_civil_review_is_rejected_at_once(client, march, sample, drawn):
    """While the batch is in civil review a fake-service finding rejects the redemption there and
    then (rejected_fen and payable updated); the reviewer rejecting it again changes nothing.
    Once civil review is submitted (finance_review) the same kind of finding is a clawback."""
    sid = sample["id"]
    elder_id = march.elders[drawn]["id"]
    batch = build(client, march.civil, "2026-03")
    total = batch["totals"]["payable_fen"]
    fake = march.r[drawn]["A"]
    finding = recorded(client, sid, march.civil, elder_id, "fake_service", [fake["id"]])
    assert (finding["excluded_fen"], finding["clawback_fen"]) == (fake["deduction_fen"], 0)
    assert [r["effect"] for r in finding["redemptions"]] == ["excluded"]
    now = get_batch(client, batch["id"])
    assert now["status"] == "civil_review"
    assert now["totals"]["rejected_fen"] == fake["deduction_fen"]
    assert now["totals"]["payable_fen"] == total - fake["deduction_fen"]
    assert line_of(now, march.a)["rejected_fen"] == fake["deduction_fen"]
    assert (
        line_of(now, march.a)["payable_fen"] == line_of(batch, march.a)["payable_fen"] - fake["deduction_fen"]
    )
    assert sum(line["payable_fen"] for line in now["lines"]) == now["totals"]["payable_fen"]
    assert_ledger_ok(client)

    reviewed = civil_review(
        client, batch["id"], march.civil, [{"redemption_id": fake["id"], "reason": "重复"}]
    )
    assert reviewed["status"] == "finance_review"
    assert reviewed["totals"]["rejected_fen"] == fake["deduction_fen"]  # not twice
    assert "抽查认定虚假服务" in rejection_reasons(batch["id"])[fake["id"]]  # the first reason stays
    assert_ledger_ok(client)

    # Past civil review: B's redemption found fake is clawed back, the batch is left as approved.
    other = march.r[drawn]["B"]
    clawed = recorded(client, sid, march.civil, elder_id, "fake_service", [other["id"]])
    assert (clawed["excluded_fen"], clawed["clawback_fen"]) == (0, other["deduction_fen"])
    assert [r["effect"] for r in clawed["redemptions"]] == ["clawback"]
    assert get_batch(client, batch["id"])["totals"] == reviewed["totals"]
    assert_ledger_ok(client)
