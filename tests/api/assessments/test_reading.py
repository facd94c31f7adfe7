"""Reading assessments over HTTP: who sees which records, whether an elder needs a new assessment
(二(二): a valid pre-2026 result or the 400/600 yuan allowance tier exempts), the list's filters
and the assessment audit sample. Clock: 2026-03-16 10:00 Beijing.
"""

from __future__ import annotations

from tests.api.assessments.helpers import (
    DISTRICT,
    OTHER,
    approve_elder,
    ok,
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
    assessment_body,
    bearer,
    id_number,
    make_elder,
    make_provider,
    make_staff,
    set_clock,
)


# === visibility ===================================================================================
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


# === exemption (二(二)) =============================================================================
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


# === listing ======================================================================================
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


# === audit sample =================================================================================
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
