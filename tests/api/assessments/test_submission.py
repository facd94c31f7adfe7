"""Submitting assessments over HTTP (issue 6 items 2 and 4; 京民发〔2026〕6号 二(二), attachment 5).

An assessment agency (or district staff, for a paper record) submits the 26 scores; the service
works out the level (app/rules/assessment.py) and stores the record for the elder's district to
decide. Every refusal changes nothing; all of them, in the order the API reports them, are
tables in tests/rules/test_assessment_review.py. Clock: 2026-03-16 10:00 Beijing.
"""

from __future__ import annotations

import pytest

from tests.api.assessments.helpers import (
    ASSESSMENT_FIELDS,
    DISTRICT,
    OTHER,
    decide,
    elder_of,
    ok,
    snapshot,
    submitted,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    assessment_body,
    assessment_scores,
    bearer,
    credit_code,
    id_number,
    make_elder,
    make_provider,
    make_staff,
    redeem,
    set_clock,
    submit_assessment,
)


# === reference ====================================================================================
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


# === submission ===================================================================================
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


def test_one_record_awaits_a_decision_at_a_time(client, agency):
    elder = make_elder(client)
    submitted(client, agency, elder["id"])
    before = snapshot(client, elder["id"])
    assert_problem(submit_assessment(client, agency, elder["id"]), 409, "ASSESSMENT_PENDING")
    assert snapshot(client, elder["id"]) == before


# === refusals change nothing ======================================================================
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


def test_deceased_elder_is_not_assessed(client, agency):
    elder = approved_elder(client)
    suspended = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "deceased"}, headers=admin_headers()
    )
    assert suspended.status_code == 200, suspended.text
    before = snapshot(client, elder["id"])
    assert_problem(submit_assessment(client, agency, elder["id"]), 409, "INVALID_STATE")
    assert snapshot(client, elder["id"]) == before


# === conflict of interest =========================================================================
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
