"""Issue 12, money-affecting items (京民发〔2026〕6号 二(二), 二(三), 一(四), 四(二)), over HTTP on SQLite
and PostgreSQL: death is final, an assessment agency provides no care anywhere, an expired
assessment stops vouchers, no subsidy before approval, no gap at midnight, a first voucher never
too short to use. The clock starts at 2026-03-16T10:00:00+08:00."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import get_settings
from app.db import get_engine
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_assessment,
    approved_elder,
    approved_elder_with_number,
    assert_problem,
    bearer,
    credit_code,
    ledger_verify,
    make_elder,
    make_provider,
    redeem,
    run_job,
    set_clock,
    staff,
    voucher_of,
    vouchers_of,
)

MARCH_START = "2026-03-01T00:00:00+08:00"


def elder_view(client, elder_id: str) -> dict:
    response = client.get(f"{API}/elders/{elder_id}", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def suspend(client, elder_id: str, reason: str = "deceased", **body):
    return client.post(
        f"{API}/elders/{elder_id}/suspend", json={"reason": reason, **body}, headers=admin_headers()
    )


def approve(client, elder_id: str, headers=None):
    return client.post(f"{API}/elders/{elder_id}/approve", headers=headers or admin_headers())


def lookup(client, provider: dict, number: str) -> dict:
    response = client.post(
        f"{API}/pos/lookup", json={"id_number": number}, headers=bearer(provider["api_key"])
    )
    assert response.status_code == 200, response.text
    return response.json()


def anomalies(client, **params) -> list[dict]:
    response = client.get(f"{API}/anomalies", params={"limit": 500, **params}, headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.fixture
def station(client) -> dict:
    return make_provider(client, kind="station")


# --- 1. death is final ----------------------------------------------------------------------------
def test_a_deceased_elder_is_never_approved_again(client):
    elder = approved_elder(client)
    assert suspend(client, elder["id"], died_on="2026-03-15").status_code == 200
    before = elder_view(client, elder["id"])
    assert before["died_on"] == "2026-03-15" and before["suspension_reason"] == "deceased"
    assert_problem(approve(client, elder["id"]), 409, "ELDER_DECEASED")
    assert elder_view(client, elder["id"]) == before
    # Suspending again (any reason) is refused as before: the record stays a death.
    assert_problem(suspend(client, elder["id"], "moved_out"), 409, "INVALID_STATE")


def test_the_day_of_death_defaults_to_the_day_it_is_recorded_and_is_checked(client):
    elder = approved_elder(client)
    assert_problem(suspend(client, elder["id"], died_on="2026-03-17"), 422, "INVALID_DEATH_DATE")
    assert_problem(suspend(client, elder["id"], died_on="1940-01-01"), 422, "INVALID_DEATH_DATE")
    assert_problem(suspend(client, elder["id"], "moved_out", died_on="2026-03-10"), 422, "VALIDATION_ERROR")
    assert elder_view(client, elder["id"])["status"] == "approved"  # nothing changed
    assert suspend(client, elder["id"]).status_code == 200
    assert elder_view(client, elder["id"])["died_on"] == "2026-03-16"


def test_no_job_or_point_of_service_issues_a_deceased_elder_a_voucher(client, station):
    """Recorded dead on April 1st before the month-start job ran: last_voucher_month is April,
    yet neither the job nor a POS request issues April's voucher."""
    elder, number = approved_elder_with_number(client)
    set_clock(client, "2026-04-01T00:00:30+08:00")
    assert suspend(client, elder["id"]).status_code == 200
    found = lookup(client, station, number)
    assert found["eligible"] is False and found["voucher"] is None
    assert [r["code"] for r in found["ineligible_reasons"]] == ["ELDER_DECEASED"]
    assert_problem(
        redeem(client, station, elder["id"], served_at="2026-04-01T00:00:10+08:00"), 409, "ELDER_NOT_ELIGIBLE"
    )
    assert run_job(client, "issue", "2026-04").json()["issued"] == 0
    assert vouchers_of(client, elder["id"], "2026-04") == []
    assert ledger_verify(client)["ok"] is True


def test_services_on_or_after_the_day_of_death_are_flagged_when_recorded_and_nightly(client, station):
    elder = approved_elder(client, approved_at=MARCH_START)
    before = redeem(client, station, elder["id"], served_at="2026-03-09T18:00:00+08:00")
    on_the_day = redeem(client, station, elder["id"], served_at="2026-03-10T08:00:00+08:00")
    later = redeem(client, station, elder["id"], served_at="2026-03-12T09:00:00+08:00")
    assert {before.status_code, on_the_day.status_code, later.status_code} == {201}
    # The family reports the death on the 16th: the elder died on the 10th.
    assert suspend(client, elder["id"], died_on="2026-03-10").status_code == 200
    flagged = anomalies(client, rule="SERVICE_AFTER_DEATH")
    assert {a["redemption_id"] for a in flagged} == {on_the_day.json()["id"], later.json()["id"]}
    assert {a["detected_by"] for a in flagged} == {"death"}
    assert all(a["district_code"] == "110105" and a["status"] == "open" for a in flagged)
    # The nightly scan finds the same services (and, meeting the same subjects, adds nothing).
    assert run_job(client, "anomaly-scan", "2026-03").json()["by_rule"]["SERVICE_AFTER_DEATH"] == 0
    with get_engine().begin() as connection:
        connection.execute(text("DELETE FROM anomalies"))
    assert run_job(client, "anomaly-scan", "2026-03").json()["by_rule"]["SERVICE_AFTER_DEATH"] == 2
    assert {a["detected_by"] for a in anomalies(client, rule="SERVICE_AFTER_DEATH")} == {"nightly"}


def test_a_service_after_death_posted_later_is_flagged_in_line(client):
    """The assessment voucher is not revoked by a death (the fee is owed for an assessment made
    while alive); an agency redeeming it for a service dated on the day of death is flagged."""
    agency = make_provider(client, kind="assessment_agency")
    elder = make_elder(client, disability_level="mild")
    approved_assessment(client, agency, elder["id"], level="severe", assessed_on="2026-03-16")
    assert suspend(client, elder["id"], died_on="2026-03-16").status_code == 200
    response = redeem(
        client, agency, elder["id"], item=1, amount_fen=10000, served_at="2026-03-16T09:00:00+08:00"
    )
    assert response.status_code == 201, response.text
    [flag] = anomalies(client, rule="SERVICE_AFTER_DEATH")
    assert flag["detected_by"] == "redemption" and flag["redemption_id"] == response.json()["id"]


def test_only_a_city_admin_corrects_a_mistaken_death_record(client, station):
    elder = approved_elder(client, approved_at=MARCH_START)
    assert redeem(client, station, elder["id"], amount_fen=20000).status_code == 201  # 10000 off
    assert suspend(client, elder["id"], note="误报").status_code == 200
    assert voucher_of(client, elder["id"])["status"] == "revoked"
    civil = staff(client, "district_civil", "110105")
    correct = f"{API}/elders/{elder['id']}/correct-death"
    assert_problem(client.post(correct, json={"reason": "家属来电"}, headers=civil.headers), 403, "FORBIDDEN")
    assert_problem(
        client.post(correct, json={"reason": ""}, headers=admin_headers()), 422, "VALIDATION_ERROR"
    )
    response = client.post(correct, json={"reason": "身故信息误报,经核实老人健在"}, headers=admin_headers())
    assert response.status_code == 200, response.text
    restored = response.json()
    assert restored["status"] == "approved" and restored["died_on"] is None
    # This month's voucher is back, with the balance the mistaken record released.
    voucher = voucher_of(client, elder["id"])
    assert (voucher["status"], voucher["balance_fen"]) == ("active", 70000)
    assert ledger_verify(client)["ok"] is True
    history = client.get(f"{API}/elders/{elder['id']}/history", headers=admin_headers()).json()
    assert history[-1]["reason"] == "death_record_corrected"
    assert history[-1]["note"] == "身故信息误报,经核实老人健在"
    assert history[-1]["changed_by"] == "staff:bootstrap-admin"
    assert_problem(
        client.post(correct, json={"reason": "再次"}, headers=admin_headers()), 409, "NOT_DECEASED"
    )
    assert redeem(client, station, elder["id"], amount_fen=20000).status_code == 201


# --- 2. an assessment agency provides no care, anywhere ------------------------------------------
def register(client, *, kind: str, district_code: str, code: str):
    body = {
        "name": f"{kind}-{district_code}",
        "kind": kind,
        "district_code": district_code,
        "credit_code": code,
    }
    return client.post(f"{API}/providers", json=body, headers=admin_headers())


@pytest.mark.parametrize(
    ("first", "second"), [("assessment_agency", "station"), ("institution", "assessment_agency")]
)
def test_one_organisation_is_an_agency_or_a_care_provider_in_every_district(client, first, second):
    code = credit_code(serial=4242)
    assert register(client, kind=first, district_code="110105", code=code).status_code == 201
    assert_problem(
        register(client, kind=second, district_code="110108", code=code), 409, "ASSESSMENT_AGENCY_CONFLICT"
    )
    # The same side in another district is an ordinary second registration.
    assert register(client, kind=first, district_code="110108", code=code).status_code == 201


def test_registrations_made_before_the_rule_are_reported_and_redeem_no_care(client):
    """A conflict written before the rule (inserted behind the service's back) is on the city
    admin's report and in the CLI, and its care registration is refused care items."""
    agency = make_provider(client, kind="assessment_agency", district_code="110105")
    station = make_provider(client, kind="station", district_code="110108")
    with get_engine().begin() as connection:
        connection.execute(
            text("UPDATE providers SET credit_code = :code WHERE kind = 'station'"),
            {"code": agency["credit_code"]},
        )
    report = client.get(f"{API}/providers/assessment-agency-conflicts", headers=admin_headers())
    assert report.status_code == 200, report.text
    [conflict] = report.json()
    assert conflict["credit_code"] == agency["credit_code"]
    assert {r["id"] for r in conflict["registrations"]} == {agency["id"], station["id"]}
    assert (
        client.get(
            f"{API}/providers/assessment-agency-conflicts", headers=staff(client, "auditor").headers
        ).status_code
        == 200
    )
    civil = staff(client, "district_civil", "110105")
    assert_problem(client.get(f"{API}/providers/assessment-agency-conflicts", headers=civil.headers), 403)
    elder = approved_elder(client)
    assert_problem(redeem(client, station, elder["id"]), 422, "ITEM_NOT_ALLOWED")
    outcome = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["providers", "conflicts"])
    assert outcome.exit_code == 1, outcome.output
    assert agency["credit_code"] in outcome.output and "1 个组织需处理" in outcome.output


# --- 3. an expired assessment stops vouchers -----------------------------------------------------
def test_an_expired_assessment_stops_the_voucher_and_a_new_result_restores_it(client, station):
    agency = make_provider(client, kind="assessment_agency")
    elder, number = approved_elder_with_number(client, assessed_on="2025-04-10")  # valid through 2026-04-09
    assert elder_view(client, elder["id"])["assessment_valid_until"] == "2026-04-09"
    set_clock(client, "2026-04-01T08:00:00+08:00")
    assert run_job(client, "issue", "2026-04").json()["issued"] == 1  # valid on April 1st
    set_clock(client, "2026-05-01T08:00:00+08:00")
    assert run_job(client, "issue", "2026-05").json()["issued"] == 0
    view = elder_view(client, elder["id"])
    assert view["eligible"] is False
    assert [r["code"] for r in view["ineligible_reasons"]] == ["ASSESSMENT_EXPIRED"]
    found = lookup(client, station, number)
    assert found["eligible"] is False and found["voucher"] is None
    assert [r["code"] for r in found["ineligible_reasons"]] == ["ASSESSMENT_EXPIRED"]
    refused = redeem(client, station, elder["id"], served_at="2026-05-01T07:30:00+08:00")
    assert assert_problem(refused, 409, "ELDER_NOT_ELIGIBLE")["reason"] == "ASSESSMENT_EXPIRED"
    assert vouchers_of(client, elder["id"], "2026-05") == []
    # A new moderate result, approved on May 6th, restores May's voucher at once, from then.
    set_clock(client, "2026-05-06T10:00:00+08:00")
    approved_assessment(client, agency, elder["id"], level="moderate", assessed_on="2026-05-06")
    [may] = [v for v in vouchers_of(client, elder["id"], "2026-05") if v["kind"] == "monthly"]
    assert may["status"] == "active" and may["valid_from"] == "2026-05-06T10:00:00+08:00"
    assert elder_view(client, elder["id"])["eligible"] is True
    assert redeem(client, station, elder["id"], served_at="2026-05-06T10:00:00+08:00").status_code == 201
    assert ledger_verify(client)["ok"] is True


def test_the_400_or_600_tier_stands_in_for_an_old_assessment(client):
    elder = approved_elder(client, assessed_on="2024-05-01", disability_allowance_tier=600)
    set_clock(client, "2026-05-01T08:00:00+08:00")
    assert run_job(client, "issue", "2026-05").json()["issued"] == 1
    assert elder_view(client, elder["id"])["assessment_valid_until"] is None


def test_districts_see_assessments_ending_soon_and_the_daily_job_stores_the_verdict(client):
    ending = approved_elder(client, assessed_on="2025-04-10")  # ends 2026-04-09: 24 days
    later = approved_elder(client, assessed_on="2025-06-01")  # ends 2026-05-31
    haidian = approved_elder(client, district_code="110108", assessed_on="2025-04-01")
    civil = staff(client, "district_civil", "110105")
    page = client.get(f"{API}/elders/expiring-assessments", headers=civil.headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["within_days"] == 30 and body["total"] == 1
    [row] = body["items"]
    assert (row["elder_id"], row["assessment_valid_until"], row["days_left"]) == (
        ending["id"],
        "2026-04-09",
        24,
    )
    assert "*" in row["id_number_masked"]
    city = client.get(
        f"{API}/elders/expiring-assessments", params={"within_days": 90}, headers=admin_headers()
    )
    assert {r["elder_id"] for r in city.json()["items"]} == {ending["id"], later["id"], haidian["id"]}
    # After it ends, the daily job writes the verdict back, so the list filter finds the elder.
    set_clock(client, "2026-04-10T09:00:00+08:00")
    refreshed = client.post(f"{API}/jobs/refresh-eligibility", headers=admin_headers())
    assert refreshed.status_code == 200 and refreshed.json()["changed"] == 2, refreshed.text
    ineligible = client.get(f"{API}/elders", params={"eligible": "false"}, headers=admin_headers()).json()
    assert {e["id"] for e in ineligible["items"]} == {ending["id"], haidian["id"]}
    assert client.post(f"{API}/jobs/refresh-eligibility", headers=admin_headers()).json()["changed"] == 0


# --- 4. no subsidy for a service before approval --------------------------------------------------
def test_a_service_before_the_approval_instant_is_out_of_range(client, station):
    elder = approved_elder(client)  # approved at 10:00 on the 16th
    assert voucher_of(client, elder["id"])["valid_from"] == "2026-03-16T10:00:00+08:00"
    early = redeem(client, station, elder["id"], served_at="2026-03-16T09:59:59+08:00")
    assert_problem(early, 422, "SERVED_AT_OUT_OF_RANGE")
    assert redeem(client, station, elder["id"], served_at="2026-03-16T10:00:00+08:00").status_code == 201


# --- 5. no gap at midnight --------------------------------------------------------------------------
def test_the_first_instant_of_the_month_is_served_without_the_job(client, station):
    elder, number = approved_elder_with_number(client)
    set_clock(client, "2026-04-01T00:00:00+08:00")
    found = lookup(client, station, number)
    assert found["eligible"] is True and found["voucher"]["month"] == "2026-04"
    response = redeem(client, station, elder["id"], served_at="2026-04-01T00:00:00+08:00")
    assert response.status_code == 201, response.text
    assert response.json()["voucher_id"] == found["voucher"]["id"]
    # The job later finds the voucher issued; one voucher, one issue entry.
    assert run_job(client, "issue", "2026-04").json()["issued"] == 0
    assert len(vouchers_of(client, elder["id"], "2026-04")) == 1
    with get_engine().connect() as connection:
        issues = connection.execute(
            text(
                "SELECT count(*) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id "
                "WHERE e.kind = 'issue' AND l.account = 'voucher' AND l.voucher_id IS NOT NULL "
                "AND e.month = :april"
            ),
            {"april": "2026-04-01"},
        ).scalar_one()
    assert issues == 1
    assert ledger_verify(client)["ok"] is True


# --- 6. the first month must be usable -------------------------------------------------------------
@pytest.mark.parametrize(
    ("approved_at", "voucher_month"),
    [
        pytest.param("2026-03-29T00:00:00+08:00", "2026-03", id="three-days-left"),
        pytest.param("2026-03-29T00:00:01+08:00", None, id="a-second-less"),
        pytest.param("2026-03-31T23:59:00+08:00", None, id="the-last-minute"),
    ],
)
def test_a_first_voucher_is_never_too_short_to_use(client, station, approved_at, voucher_month):
    set_clock(client, approved_at)
    elder = approved_elder(client)
    assert (elder["voucher"] or {}).get("month") == voucher_month
    assert elder["first_voucher_month"] == (voucher_month or "2026-04")
    # Either way April's voucher comes from April's first instant, job or no job.
    set_clock(client, "2026-04-01T00:00:00+08:00")
    response = redeem(client, station, elder["id"], served_at="2026-04-01T00:00:00+08:00")
    assert response.status_code == 201, response.text
    assert response.json()["month"] == "2026-04"


def test_the_first_month_rule_is_a_setting(client, monkeypatch):
    monkeypatch.setenv("VOUCHER_VOUCHERS__FIRST_MONTH_MIN_DAYS", "0")
    get_settings.cache_clear()
    set_clock(client, "2026-03-31T23:59:00+08:00")
    elder = approved_elder(client)
    assert elder["voucher"]["month"] == "2026-03" and elder["first_voucher_month"] == "2026-03"
