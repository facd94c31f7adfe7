"""The district's decision on an assessment over HTTP (attachment 5 二(三)): an approved result
becomes the elder's level (a pending elder becomes approvable, an approved elder below moderate
stops getting vouchers from the next month); a record is decided once, by the elder's district.
Clock: 2026-03-16 10:00 Beijing.
"""

from __future__ import annotations

from tests.api.assessments.helpers import (
    APRIL_FIRST,
    DISTRICT,
    OTHER,
    approve_elder,
    decide,
    elder_of,
    history_of,
    ok,
    records_of,
    snapshot,
    status_of,
    submitted,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_assessment,
    approved_elder,
    assert_problem,
    bearer,
    id_number,
    ledger_verify,
    make_elder,
    make_provider,
    make_staff,
    redeem,
    run_job,
    set_clock,
    voucher_of,
    vouchers_of,
)


# === end to end ===================================================================================
def test_from_an_assessment_to_an_approved_elder_with_a_voucher(client, agency, civil):
    """A pending elder registered below moderate cannot be approved; an agency assesses them severe,
    the district approves the result, the elder's level and date follow, and the district then
    approves the elder, who gets March's voucher."""
    number = id_number(birth="19450817")
    elder = make_elder(client, number=number, disability_level="mild", assessed_on="2026-01-10")
    assert [r["code"] for r in elder["ineligible_reasons"]] == ["LEVEL_BELOW_MODERATE"]
    assert_problem(approve_elder(client, elder["id"], civil), 409, "NOT_ELIGIBLE")
    assert status_of(client, elder["id"])["needs_new_assessment"] is True

    record = submitted(client, agency, elder["id"], level="severe")
    status = status_of(client, elder["id"])
    assert (status["pending_assessment_id"], status["current_assessment_id"]) == (record["id"], None)

    decided = ok(decide(client, record["id"], "approve", civil, note="材料齐全"))
    assert (decided["status"], decided["decision_note"]) == ("approved", "材料齐全")
    assert decided["decided_by"].startswith("staff:") and decided["decided_at"].startswith("2026-03-16T10:00")
    after = decided["elder"]
    assert (after["status"], after["disability_level"], after["assessed_on"]) == (
        "pending",
        "severe",
        "2026-03-10",
    )
    assert (after["eligible"], after["ineligible_reasons"]) == (True, [])
    # Approving the result is not approving the elder: no monthly voucher yet, only the one-off
    # assessment voucher for the fee (tests/api/test_assessment_voucher.py).
    assert [v["kind"] for v in vouchers_of(client, elder["id"])] == ["assessment"]

    status = status_of(client, elder["id"])
    assert (status["needs_new_assessment"], status["basis"]) == (False, "CURRENT_ASSESSMENT")
    assert (status["current_assessment_id"], status["pending_assessment_id"]) == (record["id"], None)
    assert status["valid_until"] == "2027-03-09"

    approved = ok(approve_elder(client, elder["id"], civil))
    assert approved["status"] == "approved"
    assert approved["voucher"]["month"] == "2026-03"
    assert [h["reason"] for h in history_of(client, elder["id"])] == ["application", "approved"]
    assert ok(client.get(f"{API}/assessments/{record['id']}", headers=civil))["status"] == "approved"
    assert ledger_verify(client)["ok"] is True


def test_a_drop_below_moderate_stops_vouchers_from_the_next_month(client, agency, civil):
    """An approved elder reassessed mild: suspended (assessed_below_moderate) with March as the last
    voucher month; March's voucher stays usable; April's job issues none to them (but does to
    others). Reassessed moderate in April, they become approvable again and get April's voucher."""
    elder = approved_elder(client, disability_level="severe")
    other = approved_elder(client, disability_level="moderate")
    record = submitted(client, agency, elder["id"], level="mild")
    after = ok(decide(client, record["id"], "approve", civil))["elder"]
    assert (after["status"], after["suspension_reason"], after["last_voucher_month"]) == (
        "suspended",
        "assessed_below_moderate",
        "2026-03",
    )
    assert (after["disability_level"], after["eligible"]) == ("mild", False)
    assert [r["code"] for r in after["ineligible_reasons"]] == ["LEVEL_BELOW_MODERATE"]
    change = history_of(client, elder["id"])[-1]
    assert (change["from_status"], change["to_status"], change["reason"]) == (
        "approved",
        "suspended",
        "assessed_below_moderate",
    )
    assert record["id"] in change["note"]

    march = voucher_of(client, elder["id"], "2026-03")
    assert march["status"] == "active"
    station = make_provider(client)
    assert redeem(client, station, elder["id"], amount_fen=20000).status_code == 201

    set_clock(client, APRIL_FIRST)
    job = run_job(client, "issue", "2026-04")
    assert job.status_code in (200, 201), job.text
    assert vouchers_of(client, elder["id"], "2026-04") == []
    assert voucher_of(client, other["id"], "2026-04")["status"] == "active"

    again = approved_assessment(client, agency, elder["id"], level="moderate", assessed_on="2026-04-01")
    assert (again["elder"]["status"], again["elder"]["eligible"]) == ("suspended", True)
    reapproved = ok(approve_elder(client, elder["id"], civil))
    assert (reapproved["status"], reapproved["voucher"]["month"]) == ("approved", "2026-04")
    assert [r["status"] for r in records_of(client, elder["id"])] == ["approved", "approved"]
    assert ledger_verify(client)["ok"] is True


def test_a_pending_elder_assessed_below_moderate_stays_pending_and_ineligible(client, agency):
    elder = make_elder(client, disability_level="severe")
    after = approved_assessment(client, agency, elder["id"], level="mild")["elder"]
    assert (after["status"], after["eligible"], after["suspension_reason"]) == ("pending", False, None)
    assert_problem(approve_elder(client, elder["id"]), 409, "NOT_ELIGIBLE")


def test_history_is_kept_and_records_are_never_decided_twice(client, agency, civil):
    """A rejected record stays (with the reason); a new one can then be submitted; deciding a
    decided record again is ASSESSMENT_ALREADY_DECIDED and changes nothing."""
    elder = make_elder(client)
    first = submitted(client, agency, elder["id"], level="severe", assessed_on="2026-03-02")
    assert_problem(decide(client, first["id"], "reject", civil), 422, "VALIDATION_ERROR")  # note required
    rejected = ok(decide(client, first["id"], "reject", civil, note="评估照片缺失"))
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "评估照片缺失")
    assert elder_of(client, elder["id"])["disability_level"] == "severe"  # untouched
    assert elder_of(client, elder["id"])["assessed_on"] == "2026-01-10"

    second = submitted(client, agency, elder["id"], level="complete", assessed_on="2026-03-12")
    ok(decide(client, second["id"], "approve", civil))
    before = snapshot(client, elder["id"])
    for record in (first, second):
        for action, note in (("approve", None), ("reject", "再次审批")):
            assert_problem(
                decide(client, record["id"], action, civil, note), 409, "ASSESSMENT_ALREADY_DECIDED"
            )
    assert snapshot(client, elder["id"]) == before
    history = records_of(client, elder["id"])
    assert [(r["id"], r["status"]) for r in history] == [
        (second["id"], "approved"),
        (first["id"], "rejected"),
    ]
    assert history[1]["final_level"] == "severe"
    assert elder_of(client, elder["id"])["disability_level"] == "complete"


# === refusals change nothing ======================================================================
def test_who_may_decide(client, agency, civil):
    """Only the elder's district civil officer or a city admin: the agency, finance staff and
    auditors are 403; another district's civil officer sees no such record (404)."""
    elder = make_elder(client, disability_level="mild")
    record = submitted(client, agency, elder["id"], level="severe")
    before = snapshot(client, elder["id"])
    refusals = [
        (bearer(agency["api_key"]), 403),
        (bearer(make_staff(client, role="district_finance", district_code=DISTRICT)), 403),
        (bearer(make_staff(client, role="auditor")), 403),
        (bearer(make_staff(client, role="district_civil", district_code=OTHER)), 404),
    ]
    for headers, status in refusals:
        for action in ("approve", "reject"):
            assert_problem(decide(client, record["id"], action, headers, note="x"), status)
    assert_problem(decide(client, "not-an-id", "approve", civil), 404, "NOT_FOUND")
    assert snapshot(client, elder["id"]) == before
    assert ok(decide(client, record["id"], "approve", civil))["elder"]["disability_level"] == "severe"


def test_a_result_expired_or_superseded_by_the_approval_is_not_applied(client, agency, civil):
    """Validity is checked again at the decision: a year later the result is
    ASSESSMENT_RESULT_EXPIRED; a newer assessment date on the elder makes it ASSESSMENT_SUPERSEDED.
    The district rejects such a record instead."""
    elder = make_elder(client)
    record = submitted(client, agency, elder["id"], assessed_on="2026-03-10")
    patched = client.patch(
        f"{API}/elders/{elder['id']}", json={"assessed_on": "2026-03-12"}, headers=admin_headers()
    )
    assert patched.status_code == 200, patched.text
    before = snapshot(client, elder["id"])
    assert_problem(decide(client, record["id"], "approve", civil), 409, "ASSESSMENT_SUPERSEDED")
    assert snapshot(client, elder["id"]) == before

    other = make_elder(client)
    late = submitted(client, agency, other["id"], assessed_on="2026-03-10")
    set_clock(client, "2027-03-10T09:00:00+08:00")
    before = snapshot(client, other["id"])
    assert_problem(decide(client, late["id"], "approve", civil), 409, "ASSESSMENT_RESULT_EXPIRED")
    assert snapshot(client, other["id"]) == before
    assert ok(decide(client, late["id"], "reject", civil, note="超过有效期"))["status"] == "rejected"
