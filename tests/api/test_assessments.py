"""Ability assessments over HTTP (issue 6 items 2 and 4; 京民发〔2026〕6号 二(二), attachment 5).

An assessment agency (or district staff, for a paper record) submits the 26 scores; the service
works out the level (app/rules/assessment.py); the elder's district approves or rejects it. An
approved result becomes the elder's level: a pending elder becomes approvable, an approved elder
below moderate stops getting vouchers from the next month. Clock: 2026-03-16 10:00 Beijing.
"""

from __future__ import annotations

import pytest

from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_assessment,
    approved_elder,
    assert_problem,
    assessment_body,
    assessment_scores,
    bearer,
    credit_code,
    id_number,
    ledger_verify,
    make_elder,
    make_provider,
    make_staff,
    redeem,
    run_job,
    set_clock,
    submit_assessment,
    voucher_of,
    vouchers_of,
)

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


@pytest.fixture
def agency(client) -> dict:
    return make_provider(client, kind="assessment_agency", district_code=DISTRICT, name="朝阳评估中心")


@pytest.fixture
def civil(client) -> dict[str, str]:
    return bearer(make_staff(client, role="district_civil", district_code=DISTRICT))


# --- helpers -----------------------------------------------------------------------------------------
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


# === reference ===========================================================================================
def test_reference_items_are_the_26_items_of_gbt_42195(client, agency):
    """Any caller (an agency's key too) reads the table it scores against."""
    body = ok(client.get(f"{API}/reference/assessment-items", headers=bearer(agency["api_key"])))
    assert (body["standard"], body["max_total"], len(body["items"])) == ("GB/T 42195-2022", 90, 26)
    assert sum(item["max_score"] for item in body["items"]) == 90
    stairs = next(item for item in body["items"] if item["code"] == "stairs")
    assert stairs == {
        "code": "stairs",
        "clause": "B.2.4",
        "name": "上下楼梯",
        "indicator": "basic_mobility",
        "min_score": 0,
        "max_score": 3,
    }
    assert [(i["code"], i["max_score"]) for i in body["indicators"]] == [
        ("self_care", 32),
        ("basic_mobility", 15),
        ("mental_state", 28),
        ("perception_social", 15),
    ]
    assert [(lv["level"], lv["min_total"], lv["max_total"]) for lv in body["levels"]] == [
        ("intact", 90, 90),
        ("mild", 66, 89),
        ("moderate", 46, 65),
        ("severe", 30, 45),
        ("complete", 0, 29),
    ]
    assert {a["code"] for a in body["adjustments"]} >= {"COMA", "DEMENTIA", "CARE_RISK_EVENTS"}
    assert client.get(f"{API}/reference/assessment-items").status_code == 401


# === submission ==========================================================================================
def test_agency_submits_and_the_service_scores(client, agency):
    """The record holds the scores, totals per indicator, both levels and the validity; the elder
    is not changed until the district approves."""
    elder = make_elder(client, disability_level="mild")
    body = submitted(client, agency, elder["id"], level="severe")
    assert set(body) == ASSESSMENT_FIELDS
    assert body["status"] == "submitted"
    assert (body["total"], body["base_level"], body["final_level"]) == (40, "severe", "severe")
    assert body["moderate_or_worse"] is True
    assert sum(body["indicator_totals"].values()) == 40
    assert body["indicator_totals"] == {
        "self_care": 32,
        "basic_mobility": 8,
        "mental_state": 0,
        "perception_social": 0,
    }
    assert body["scores"] == assessment_scores(40)
    assert (body["assessed_on"], body["valid_until"]) == ("2026-03-10", "2027-03-09")
    assert body["agency_id"] == agency["id"] and body["agency_name"] == "朝阳评估中心"
    assert body["assessor_organisation_credit_code"] == agency["credit_code"]
    assert body["submitted_by"] == f"provider:{agency['id']}"
    assert (body["decided_at"], body["decided_by"], body["decision_note"]) == (None, None, None)
    assert body["district_code"] == DISTRICT
    assert elder_of(client, elder["id"])["disability_level"] == "mild"
    assert ok(client.get(f"{API}/assessments/{body['id']}", headers=bearer(agency["api_key"]))) == body


def test_adjustments_raise_the_level_and_are_recorded(client, agency):
    """C.4: dementia and two care-risk events (one fall, one choking) raise moderate by one level
    only; coma rates complete whatever the score."""
    first = make_elder(client)
    body = submitted(
        client,
        agency,
        first["id"],
        level="moderate",
        dementia=True,
        risk_events_30d={"fall": 1, "choking": 1},
    )
    assert (body["base_level"], body["final_level"]) == ("moderate", "severe")
    assert [a["code"] for a in body["adjustments"]] == ["DEMENTIA", "CARE_RISK_EVENTS"]
    assert all(a["title"] for a in body["adjustments"])
    assert (body["risk_events_30d"], body["risk_events_total"]) == ({"choking": 1, "fall": 1}, 2)
    second = make_elder(client)
    coma = submitted(client, agency, second["id"], level="mild", coma=True)
    assert (coma["base_level"], coma["final_level"], coma["coma"]) == ("mild", "complete", True)
    assert [a["code"] for a in coma["adjustments"]] == ["COMA"]


def test_agency_finds_the_elder_by_id_number(client, agency):
    number = id_number(birth="19470203")
    elder = make_elder(client, number=number)
    body = assessment_body(elder["id"])
    del body["elder_id"]
    body["id_number"] = number.lower()
    response = client.post(f"{API}/assessments", json=body, headers=bearer(agency["api_key"]))
    assert ok(response, 201)["elder_id"] == elder["id"]
    assert number not in response.text
    unknown = {**body, "id_number": id_number(birth="19470204")}
    assert_problem(
        client.post(f"{API}/assessments", json=unknown, headers=bearer(agency["api_key"])),
        404,
        "ELDER_NOT_FOUND",
    )
    both = {**body, "elder_id": elder["id"]}
    assert_problem(
        client.post(f"{API}/assessments", json=both, headers=bearer(agency["api_key"])),
        422,
        "VALIDATION_ERROR",
    )


def test_staff_enter_a_paper_record_on_an_agencys_behalf(client, agency, civil):
    """The district's civil officer (own district) or a city admin names the agency; the
    assessor's organisation may be another (a hospital)."""
    elder = make_elder(client)
    hospital = credit_code(serial=88)
    body = ok(
        client.post(
            f"{API}/assessments",
            json=assessment_body(
                elder["id"],
                agency_id=agency["id"],
                assessor_organisation_credit_code=hospital,
                visit="on_site",
            ),
            headers=civil,
        ),
        201,
    )
    assert (body["assessor_organisation_credit_code"], body["visit"]) == (hospital, "on_site")
    assert body["submitted_by"].startswith("staff:")
    assert_problem(
        client.post(
            f"{API}/assessments",
            json=assessment_body(
                elder["id"], agency_id=agency["id"], assessor_organisation_credit_code="123"
            ),
            headers=admin_headers(),
        ),
        422,
        "INVALID_CREDIT_CODE",
    )


def test_an_agency_of_another_district_may_assess(client):
    """Elders choose an agency near them; the result is still decided by the elder's district."""
    haidian = make_provider(client, kind="assessment_agency", district_code=OTHER)
    elder = make_elder(client)
    body = submitted(client, haidian, elder["id"])
    assert body["district_code"] == DISTRICT
    other_civil = bearer(make_staff(client, role="district_civil", district_code=OTHER))
    assert_problem(decide(client, body["id"], "approve", other_civil), 404, "NOT_FOUND")
    civil = bearer(make_staff(client, role="district_civil", district_code=DISTRICT))
    assert ok(decide(client, body["id"], "approve", civil))["status"] == "approved"


# === end to end ==========================================================================================
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


def test_one_record_awaits_a_decision_at_a_time(client, agency):
    elder = make_elder(client)
    submitted(client, agency, elder["id"])
    before = snapshot(client, elder["id"])
    assert_problem(submit_assessment(client, agency, elder["id"]), 409, "ASSESSMENT_PENDING")
    assert snapshot(client, elder["id"]) == before


# === refusals change nothing =============================================================================
def test_bad_scores_list_every_problem(client, agency):
    """Out of range, missing, not an integer, unknown item, bad event count: one 422 INVALID_SCORES
    with an ``errors`` entry per problem, and nothing stored."""
    elder = make_elder(client)
    before = snapshot(client, elder["id"])
    scores = assessment_scores(50)
    scores["stairs"] = 4
    del scores["eating"]
    scores["memory"] = 2.0
    scores["walking_speed"] = 1
    response = submit_assessment(client, agency, elder["id"], scores=scores, risk_events_30d={"fall": -1})
    problem = assert_problem(response, 422, "INVALID_SCORES")
    assert problem["title"] == "能力评估评分无效"
    by_item = {e["item"]: e for e in problem["errors"]}
    assert by_item["stairs"] == {
        "item": "stairs",
        "code": "SCORE_OUT_OF_RANGE",
        "title": "评分超出该评估项目的分值范围",
        "value": 4,
        "min": 0,
        "max": 3,
    }
    assert by_item["eating"]["code"] == "SCORE_MISSING"
    assert by_item["memory"]["code"] == "SCORE_NOT_INTEGER"
    assert by_item["walking_speed"]["code"] == "UNKNOWN_ITEM"
    assert by_item["risk_events_30d.fall"]["code"] == "RISK_EVENT_COUNT_INVALID"
    assert len(problem["errors"]) == 5
    assert "stairs" in problem["detail"]
    assert snapshot(client, elder["id"]) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"scores": {}},
        {"scores": None},
        {"coma": "yes"},
        {"visit": "phone"},
        {"assessed_on": "2026/03/10"},
        {"assessor_name": ""},
        {"risk_events_30d": 2.5},
    ],
)
def test_malformed_bodies_are_refused(client, agency, overrides):
    elder = make_elder(client)
    before = snapshot(client, elder["id"])
    response = submit_assessment(client, agency, elder["id"], **overrides)
    code = "INVALID_SCORES" if overrides == {"scores": {}} else "VALIDATION_ERROR"
    problem = assert_problem(response, 422, code)
    if code == "INVALID_SCORES":
        assert len(problem["errors"]) == 26 and {e["code"] for e in problem["errors"]} == {"SCORE_MISSING"}
    assert snapshot(client, elder["id"]) == before


@pytest.mark.parametrize(
    ("assessed_on", "status", "code"),
    [
        ("2026-03-17", 422, "INVALID_ASSESSMENT_DATE"),  # tomorrow
        ("2099-01-01", 422, "INVALID_ASSESSMENT_DATE"),
        ("1947-12-31", 422, "INVALID_ASSESSMENT_DATE"),  # before birth (1948-03-05)
        ("2025-03-15", 422, "INVALID_ASSESSMENT_DATE"),  # valid through 2026-03-14: expired
        ("2026-01-09", 409, "ASSESSMENT_SUPERSEDED"),  # older than the elder's 2026-01-10
    ],
)
def test_bad_dates_are_refused(client, agency, assessed_on, status, code):
    elder = make_elder(client, birth="19480305")
    before = snapshot(client, elder["id"])
    assert_problem(submit_assessment(client, agency, elder["id"], assessed_on=assessed_on), status, code)
    assert snapshot(client, elder["id"]) == before


def test_who_may_submit(client, agency):
    """Finance staff and auditors may not submit (403); a provider that is not an assessment agency
    is NOT_AN_ASSESSMENT_AGENCY, as is naming one; staff must name the agency; an agency may not
    submit in another's name; a suspended agency is ASSESSMENT_AGENCY_NOT_LISTED."""
    elder = make_elder(client)
    station = make_provider(client, kind="station")
    before = snapshot(client, elder["id"])
    body = assessment_body(elder["id"], agency_id=agency["id"])
    for role, district in (("district_finance", DISTRICT), ("auditor", None)):
        headers = bearer(make_staff(client, role=role, district_code=district))
        assert_problem(client.post(f"{API}/assessments", json=body, headers=headers), 403, "FORBIDDEN")
    assert_problem(submit_assessment(client, station, elder["id"]), 422, "NOT_AN_ASSESSMENT_AGENCY")
    assert_problem(
        submit_assessment(client, None, elder["id"], agency_id=station["id"]), 422, "NOT_AN_ASSESSMENT_AGENCY"
    )
    assert_problem(submit_assessment(client, None, elder["id"]), 422, "NOT_AN_ASSESSMENT_AGENCY")
    other_agency = make_provider(client, kind="assessment_agency")
    assert_problem(
        submit_assessment(client, other_agency, elder["id"], agency_id=agency["id"]), 403, "FORBIDDEN"
    )
    suspended = client.post(
        f"{API}/providers/{agency['id']}/status",
        json={"status": "suspended", "reason": "整改"},
        headers=admin_headers(),
    )
    assert suspended.status_code == 200, suspended.text
    assert_problem(submit_assessment(client, agency, elder["id"]), 409, "ASSESSMENT_AGENCY_NOT_LISTED")
    assert_problem(
        submit_assessment(client, None, elder["id"], agency_id=agency["id"]),
        409,
        "ASSESSMENT_AGENCY_NOT_LISTED",
    )
    assert snapshot(client, elder["id"]) == before


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


def test_other_districts_see_nothing(client, agency, civil):
    elder = make_elder(client)
    record = submitted(client, agency, elder["id"])
    other = bearer(make_staff(client, role="district_civil", district_code=OTHER))
    before = snapshot(client, elder["id"])
    assert_problem(client.get(f"{API}/assessments/{record['id']}", headers=other), 404, "NOT_FOUND")
    assert_problem(client.get(f"{API}/elders/{elder['id']}/assessments", headers=other), 404)
    assert_problem(client.get(f"{API}/elders/{elder['id']}/assessment-status", headers=other), 404)
    assert ok(client.get(f"{API}/assessments", headers=other))["items"] == []
    assert_problem(
        client.get(f"{API}/assessments", params={"district_code": DISTRICT}, headers=other),
        403,
        "DISTRICT_OUT_OF_SCOPE",
    )
    assert_problem(
        client.post(
            f"{API}/assessments", json=assessment_body(elder["id"], agency_id=agency["id"]), headers=other
        ),
        404,
        "ELDER_NOT_FOUND",
    )
    assert snapshot(client, elder["id"]) == before
    # The auditor and the district's own staff read it.
    for headers in (civil, bearer(make_staff(client, role="auditor"))):
        assert ok(client.get(f"{API}/assessments/{record['id']}", headers=headers))["id"] == record["id"]


def test_an_agency_reads_only_its_own_records(client, agency):
    elder, other_elder = make_elder(client), make_elder(client)
    other_agency = make_provider(client, kind="assessment_agency")
    own = submitted(client, agency, elder["id"])
    theirs = submitted(client, other_agency, other_elder["id"])
    key = bearer(agency["api_key"])
    assert_problem(client.get(f"{API}/assessments/{theirs['id']}", headers=key), 404)
    assert [r["id"] for r in ok(client.get(f"{API}/assessments", headers=key))["items"]] == [own["id"]]
    assert_problem(client.get(f"{API}/elders/{elder['id']}/assessments", headers=key), 403)


def test_deceased_elder_is_not_assessed(client, agency):
    elder = approved_elder(client)
    suspended = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "deceased"}, headers=admin_headers()
    )
    assert suspended.status_code == 200, suspended.text
    before = snapshot(client, elder["id"])
    assert_problem(submit_assessment(client, agency, elder["id"]), 409, "INVALID_STATE")
    assert snapshot(client, elder["id"]) == before


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


# === conflict of interest ================================================================================
def conflict(client, agency, elder_id, org_code, assessed_on="2026-03-16"):
    return submit_assessment(
        client, agency, elder_id, assessor_organisation_credit_code=org_code, assessed_on=assessed_on
    )


def test_an_assessor_from_an_organisation_that_served_the_elder_must_step_aside(client, agency):
    """The assessor's organisation (by credit code) redeemed for the elder: refused, naming the
    provider; a reversed redemption does not count; another elder is fine."""
    elder, stranger = approved_elder(client), approved_elder(client)
    station = make_provider(client, kind="station")
    served = redeem(client, station, elder["id"], amount_fen=20000)
    assert served.status_code == 201, served.text
    before = snapshot(client, elder["id"])
    problem = assert_problem(
        conflict(client, agency, elder["id"], station["credit_code"]), 409, "ASSESSOR_CONFLICT_OF_INTEREST"
    )
    assert problem["provider_id"] == station["id"]
    assert snapshot(client, elder["id"]) == before
    assert conflict(client, agency, stranger["id"], station["credit_code"]).status_code == 201

    reversed_only = approved_elder(client)
    once = redeem(client, station, reversed_only["id"], amount_fen=20000)
    undone = client.post(f"{API}/redemptions/{once.json()['id']}/reverse", headers=bearer(station["api_key"]))
    assert undone.status_code == 200, undone.text
    assert conflict(client, agency, reversed_only["id"], station["credit_code"]).status_code == 201


def test_a_center_and_its_partners_count_as_one(client, agency):
    """Partners act under their regional center's dispatch: an assessor from the center may not
    assess an elder the partner served, nor one from the partner an elder the center served."""
    center = make_provider(client, kind="regional_center")
    partner = make_provider(client, kind="partner", parent_id=center["id"])
    by_partner, by_center = approved_elder(client), approved_elder(client)
    assert redeem(client, partner, by_partner["id"], amount_fen=20000).status_code == 201
    assert redeem(client, center, by_center["id"], amount_fen=20000).status_code == 201
    for elder, code, provider in (
        (by_partner, center["credit_code"], partner),
        (by_center, partner["credit_code"], center),
    ):
        problem = assert_problem(
            conflict(client, agency, elder["id"], code), 409, "ASSESSOR_CONFLICT_OF_INTEREST"
        )
        assert problem["provider_id"] == provider["id"]


def test_an_active_enrolment_is_serving_the_elder(client, agency):
    """A station providing the elder's government-funded basic services (一(八)4) serves them; an
    enrolment that ended before the assessment does not."""
    elder, former = make_elder(client), make_elder(client)
    station = make_provider(client, kind="station")
    for who, ends_on in ((elder, None), (former, "2026-02-28")):
        body = {"kind": "station_basic_services", "provider_id": station["id"], "starts_on": "2026-01-01"}
        if ends_on:
            body["ends_on"] = ends_on
        response = client.post(f"{API}/elders/{who['id']}/enrolments", json=body, headers=admin_headers())
        assert response.status_code == 201, response.text
    assert_problem(
        conflict(client, agency, elder["id"], station["credit_code"]), 409, "ASSESSOR_CONFLICT_OF_INTEREST"
    )
    assert conflict(client, agency, former["id"], station["credit_code"]).status_code == 201


def test_the_agencys_own_organisation_cannot_register_care_in_another_district(client, agency):
    """The conflict this check once caught (the agency's organisation running a station in
    another district that served the elder) cannot arise any more: one organisation is an
    assessment agency or a care provider, city-wide (一(四); tests/api/test_policy_conformance.py
    covers registrations made before the rule)."""
    same_org = client.post(
        f"{API}/providers",
        json={
            "name": "同一机构驿站",
            "kind": "station",
            "district_code": OTHER,
            "credit_code": agency["credit_code"],
        },
        headers=admin_headers(),
    )
    assert_problem(same_org, 409, "ASSESSMENT_AGENCY_CONFLICT")


def test_service_more_than_12_months_before_the_assessment_does_not_count(client, agency):
    """Served on 2026-01-15: an assessment on 2027-01-15 is within 12 months (refused), one on
    2027-01-16 is not."""
    set_clock(client, "2026-01-15T10:00:00+08:00")
    elder = approved_elder(client, assessed_on="2026-01-10")
    station = make_provider(client, kind="station")
    served = redeem(client, station, elder["id"], amount_fen=20000, served_at="2026-01-15T10:00:00+08:00")
    assert served.status_code == 201, served.text
    set_clock(client, "2027-01-20T10:00:00+08:00")
    assert_problem(
        conflict(client, agency, elder["id"], station["credit_code"], assessed_on="2027-01-15"),
        409,
        "ASSESSOR_CONFLICT_OF_INTEREST",
    )
    assert (
        conflict(client, agency, elder["id"], station["credit_code"], assessed_on="2027-01-16").status_code
        == 201
    )


# === exemption (二(二)) ===================================================================================
def test_assessed_moderate_before_2026_and_still_valid_needs_no_new_assessment(client):
    elder = make_elder(client, disability_level="severe", assessed_on="2025-06-01")
    status = status_of(client, elder["id"])
    assert (status["needs_new_assessment"], status["basis"]) == (False, "EXEMPT_PRIOR_ASSESSMENT")
    assert (status["valid_until"], status["current_assessment_id"]) == ("2026-05-31", None)
    assert status["basis_title"]
    assert ok(approve_elder(client, elder["id"]))["voucher"]["month"] == "2026-03"
    expired = make_elder(client, disability_level="severe", assessed_on="2025-03-01")
    assert (status_of(client, expired["id"])["needs_new_assessment"], expired["eligible"]) == (True, False)
    assert status_of(client, expired["id"])["basis"] == "ASSESSMENT_EXPIRED"


def test_the_400_and_600_yuan_allowance_tiers_need_no_new_assessment(client):
    """On the 600 yuan tier since 2019: exempt, and the old date does not expire; receiving the
    allowance still excludes (一(八)3) until the elder leaves it, then they are approved. The 200
    yuan tier is not exempt."""
    body = {
        "name": "张桂兰",
        "id_number": id_number(birth="19400101"),
        "district_code": DISTRICT,
        "residency": "beijing_hukou",
        "disability_level": "severe",
        "assessed_on": "2019-10-01",
        "benefits": ["disability_care_allowance"],
        "disability_allowance_tier": 600,
    }
    elder = ok(client.post(f"{API}/elders", json=body, headers=admin_headers()), 201)
    assert elder["disability_allowance_tier"] == 600
    assert [r["code"] for r in elder["ineligible_reasons"]] == ["RECEIVES_DISABILITY_CARE_ALLOWANCE"]
    status = status_of(client, elder["id"])
    assert (status["needs_new_assessment"], status["basis"]) == (False, "EXEMPT_ALLOWANCE_TIER")
    left = ok(client.patch(f"{API}/elders/{elder['id']}", json={"benefits": []}, headers=admin_headers()))
    assert (left["eligible"], left["disability_allowance_tier"]) == (True, 600)
    assert ok(approve_elder(client, elder["id"]))["voucher"]["month"] == "2026-03"

    low = ok(
        client.post(
            f"{API}/elders",
            json={
                **body,
                "id_number": id_number(birth="19400102"),
                "benefits": [],
                "disability_allowance_tier": 200,
            },
            headers=admin_headers(),
        ),
        201,
    )
    assert [r["code"] for r in low["ineligible_reasons"]] == ["ASSESSMENT_EXPIRED"]
    assert status_of(client, low["id"])["basis"] == "ASSESSMENT_EXPIRED"
    bad = {**body, "id_number": id_number(birth="19400103"), "disability_allowance_tier": 300}
    assert_problem(client.post(f"{API}/elders", json=bad, headers=admin_headers()), 422, "VALIDATION_ERROR")


def test_a_program_assessment_replaces_the_tier(client, agency):
    """Once assessed under the program, the elder's level rests on that record: a 600-tier elder
    assessed mild is no longer exempt (needs a new assessment to qualify)."""
    body = {
        "name": "赵淑珍",
        "id_number": id_number(birth="19410101"),
        "district_code": DISTRICT,
        "residency": "beijing_hukou",
        "disability_level": "severe",
        "assessed_on": "2019-10-01",
        "disability_allowance_tier": 600,
    }
    elder = ok(client.post(f"{API}/elders", json=body, headers=admin_headers()), 201)
    record = approved_assessment(client, agency, elder["id"], level="mild")
    assert record["elder"]["eligible"] is False
    status = status_of(client, elder["id"])
    assert (status["needs_new_assessment"], status["basis"]) == (True, "LEVEL_BELOW_MODERATE")
    assert status["current_assessment_id"] == record["id"]


# === listing =============================================================================================
def test_list_filters(client, agency, civil):
    first, second = make_elder(client), make_elder(client)
    haidian_elder = make_elder(client, district_code=OTHER)
    other_agency = make_provider(client, kind="assessment_agency")
    a = approved_assessment(client, agency, first["id"], assessed_on="2026-02-20")
    b = submitted(client, other_agency, second["id"], assessed_on="2026-03-11")
    c = submitted(client, agency, haidian_elder["id"])

    def ids(headers=None, **params) -> list[str]:
        page = ok(client.get(f"{API}/assessments", params=params, headers=headers or admin_headers()))
        assert page["total"] == len(page["items"]) or "limit" in params
        return [r["id"] for r in page["items"]]

    assert ids() == [b["id"], c["id"], a["id"]]  # latest assessment date first
    assert ids(civil) == [b["id"], a["id"]]
    assert ids(district_code=OTHER) == [c["id"]]
    assert ids(status="submitted") == [b["id"], c["id"]]
    assert ids(agency_id=agency["id"]) == [c["id"], a["id"]]
    assert ids(agency_id="nonsense") == []
    assert ids(elder_id=second["id"]) == [b["id"]]
    assert ids(month="2026-02") == [a["id"]]
    page = ok(client.get(f"{API}/assessments", params={"limit": 1, "offset": 1}, headers=admin_headers()))
    assert ([r["id"] for r in page["items"]], page["total"]) == ([c["id"]], 3)
    for params in ({"status": "approved_maybe"}, {"month": "2026-13"}, {"limit": 0}):
        assert_problem(client.get(f"{API}/assessments", params=params, headers=admin_headers()), 422)


# === audit sample ========================================================================================
def test_the_assessment_audit_sample_is_stratified_by_agency(client, civil):
    """CONTRACT.md "Audit samples", kind assessment: the district's elders holding a voucher in
    March, each in the stratum of the agency whose approved record it rests on; no record:
    ``exempt``."""
    agencies = [make_provider(client, kind="assessment_agency") for _ in range(2)]
    elders = [approved_elder(client) for _ in range(3)]
    approved_assessment(client, agencies[0], elders[0]["id"], level="severe")
    approved_assessment(client, agencies[1], elders[1]["id"], level="complete")
    set_clock(client, "2026-04-02T10:00:00+08:00")
    body = {"district_code": DISTRICT, "month": "2026-03", "kind": "assessment"}
    sample = ok(client.post(f"{API}/audit-samples", json=body, headers=civil), 201)
    assert (sample["population"], sample["sample_size"]) == (3, 1)
    population = ok(client.get(f"{API}/audit-samples/{sample['id']}/population", headers=civil))
    strata = {unit["elder_id"]: unit["stratum"] for unit in population["units"]}
    assert strata == {
        elders[0]["id"]: f"agency:{agencies[0]['id']}",
        elders[1]["id"]: f"agency:{agencies[1]['id']}",
        elders[2]["id"]: "exempt",
    }
    assert ok(client.get(f"{API}/audit-samples/{sample['id']}/verify", headers=civil))["ok"] is True
