"""Anomaly warnings (四(二) 异常交易预警, 四(三) 先涨价后抵扣; docs/anomalies.md): every rule triggered,
every rule quiet on an ordinary month, rescans that add nothing, and who may list and resolve.

The clock starts at 2026-03-16T10:00:00+08:00. Each rule has a test that triggers it and one that
stays just inside its threshold (or across a Beijing-time boundary a UTC reading would get wrong).
"""

from __future__ import annotations

import pytest

from app.config import get_settings
from app.rules.anomalies import RULE_CODES
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    make_provider,
    make_staff,
    redeem,
    run_job,
    set_clock,
)

MARCH = "2026-03"
MARCH_START = "2026-03-01T00:00:00+08:00"


# --- helpers -------------------------------------------------------------------------------------
def scan(client, month: str = MARCH) -> dict:
    response = client.post(f"{API}/jobs/anomaly-scan", json={"month": month}, headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def listed(client, headers=None, **params) -> dict:
    response = client.get(
        f"{API}/anomalies", params={"limit": 1000, **params}, headers=headers or admin_headers()
    )
    assert response.status_code == 200, response.text
    return response.json()


def found(client, **params) -> list[dict]:
    return listed(client, **params)["items"]


def rules_of(items: list[dict]) -> list[str]:
    return sorted(item["rule"] for item in items)


def posted(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def configure(monkeypatch, **values) -> None:
    """Change anomaly thresholds the way an operator would: environment, then reload."""
    for name, value in values.items():
        monkeypatch.setenv(f"VOUCHER_ANOMALIES__{name.upper()}", str(value))
    get_settings.cache_clear()


@pytest.fixture
def station(client) -> dict:
    return make_provider(client, kind="station")


@pytest.fixture
def company(client) -> dict:
    return make_provider(client, kind="home_care_company")


@pytest.fixture
def elder(client) -> dict:
    """Approved when March began: every March service time in these tests is after approval."""
    return approved_elder(client, approved_at=MARCH_START)


def at(day: int, hhmm: str, month: str = MARCH) -> str:
    return f"{month}-{day:02d}T{hhmm}:00+08:00"


# --- an ordinary month ---------------------------------------------------------------------------
def test_an_ordinary_month_raises_no_anomaly(client, station, company):
    """February sets the baseline prices; March is busy but ordinary: catalogue prices, no price
    rises, daytime visits hours apart, meals three times a day, a first day without drains."""
    set_clock(client, "2026-02-10T18:00:00+08:00")
    elders = [approved_elder(client, approved_at="2026-02-10T07:00:00+08:00") for _ in range(3)]
    for hour in ("08", "10", "12", "14", "16"):
        posted(redeem(client, station, elders[0]["id"], item=11, amount_fen=30000, served_at=f"2026-02-10T{hour}:00:00+08:00"))  # fmt: skip
    set_clock(client, "2026-03-16T20:00:00+08:00")
    assert run_job(client, "issue", MARCH).status_code == 200
    for elder in elders:
        posted(redeem(client, station, elder["id"], item=11, amount_fen=30000, served_at=at(1, "09:00")))
        for day in (5, 12):
            for meal in ("07:30", "11:30", "17:30"):
                posted(redeem(client, company, elder["id"], item=7, amount_fen=800, served_at=at(day, meal)))
            posted(redeem(client, station, elder["id"], item=22, amount_fen=5000, served_at=at(day, "09:30")))
            posted(redeem(client, station, elder["id"], item=46, amount_fen=1200, served_at=at(day, "14:00")))
        posted(redeem(client, station, elders[0]["id"], item=28, amount_fen=3000, served_at=at(14, "03:00")))

    result = scan(client)
    assert result["new_anomalies"] == 0, result
    assert result["by_rule"] == {rule: 0 for rule in RULE_CODES}
    assert scan(client, "2026-02")["new_anomalies"] == 0
    assert listed(client)["total"] == 0


# --- PRICE_ABOVE_REFERENCE -----------------------------------------------------------------------
def test_price_above_reference_is_recorded_with_the_redemption(client, elder, station):
    body = posted(redeem(client, station, elder["id"], item=11, amount_fen=40001))
    assert body["warnings"] == ["PRICE_ABOVE_REFERENCE"]
    [anomaly] = found(client)
    assert anomaly["rule"] == "PRICE_ABOVE_REFERENCE"
    assert anomaly["detected_by"] == "redemption" and anomaly["status"] == "open"
    assert anomaly["redemption_id"] == body["id"] and anomaly["provider_id"] == station["id"]
    assert anomaly["elder_id"] == elder["id"] and anomaly["district_code"] == "110105"
    assert anomaly["month"] == MARCH
    assert anomaly["evidence"] == {
        "item": 11,
        "amount_fen": 40001,
        "ref_price_max_fen": 40000,
        "tolerance_percent": 0,
    }
    assert anomaly["redemption"]["amount_fen"] == 40001
    assert anomaly["redemption"]["served_at"] == "2026-03-16T10:00:00+08:00"
    # The nightly rescan meets the same subject: nothing new, still one warning.
    assert scan(client)["by_rule"]["PRICE_ABOVE_REFERENCE"] == 0
    assert len(found(client)) == 1


def test_price_at_the_reference_maximum_raises_nothing(client, elder, station):
    assert posted(redeem(client, station, elder["id"], item=11, amount_fen=40000))["warnings"] == []
    posted(redeem(client, station, elder["id"], item=6, amount_fen=900000, served_at=at(16, "09:40")))
    assert scan(client)["new_anomalies"] == 0  # item 6 has no reference price
    assert found(client) == []


def test_nightly_scan_finds_prices_a_lowered_tolerance_flags(client, elder, station, monkeypatch):
    configure(monkeypatch, price_tolerance_percent=10)
    body = posted(redeem(client, station, elder["id"], item=11, amount_fen=44000))
    assert found(client) == []  # 10 % over the maximum is tolerated
    configure(monkeypatch, price_tolerance_percent=5)
    assert scan(client)["by_rule"]["PRICE_ABOVE_REFERENCE"] == 1
    [anomaly] = found(client)
    assert anomaly["detected_by"] == "nightly" and anomaly["redemption_id"] == body["id"]
    assert anomaly["evidence"] == {
        "item": 11,
        "amount_fen": 44000,
        "ref_price_max_fen": 40000,
        "tolerance_percent": 5,
    }


# --- NIGHT_HOME_SERVICE --------------------------------------------------------------------------
@pytest.mark.parametrize("served", [at(16, "05:59"), at(15, "22:00"), at(1, "00:30")])
def test_home_service_at_night(client, elder, station, served):
    if served.startswith("2026-03-01"):
        set_clock(client, "2026-03-01T08:00:00+08:00")
    body = posted(redeem(client, station, elder["id"], item=11, served_at=served))
    [anomaly] = found(client)
    assert anomaly["rule"] == "NIGHT_HOME_SERVICE" and anomaly["redemption_id"] == body["id"]
    assert anomaly["evidence"] == {"item": 11, "night_start_hour": 22, "night_end_hour": 6}
    assert scan(client)["new_anomalies"] == 0


def test_daytime_and_emergency_services_are_not_night_services(client, elder, station):
    for served in (at(16, "06:00"), at(15, "21:59")):
        posted(redeem(client, station, elder["id"], item=11, served_at=served))
    posted(redeem(client, station, elder["id"], item=28, amount_fen=5000, served_at=at(16, "02:00")))  # 助急
    assert scan(client)["new_anomalies"] == 0
    assert found(client) == []


def test_nightly_scan_finds_night_services_by_beijing_time(client, elder, station, monkeypatch):
    early = posted(redeem(client, station, elder["id"], item=11, served_at=at(16, "06:30")))
    posted(redeem(client, station, elder["id"], item=11, served_at=at(16, "07:00")))
    assert found(client) == []
    configure(monkeypatch, night_end_hour=7)  # the district decides the night ends at 07:00
    assert scan(client)["by_rule"]["NIGHT_HOME_SERVICE"] == 1
    [anomaly] = found(client)
    assert anomaly["detected_by"] == "nightly" and anomaly["redemption_id"] == early["id"]
    assert anomaly["evidence"] == {"item": 11, "night_start_hour": 22, "night_end_hour": 7}


# --- REDEEMED_AFTER_SUSPENSION -------------------------------------------------------------------
def suspend(client, elder_id: str, reason: str) -> None:
    response = client.post(
        f"{API}/elders/{elder_id}/suspend", json={"reason": reason}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text


def test_redemption_after_a_suspension_was_recorded(client, elder, station):
    suspend(client, elder["id"], "moved_out")  # at 10:00; March's voucher still runs (次月停发)
    set_clock(client, "2026-03-16T12:00:00+08:00")
    body = posted(redeem(client, station, elder["id"], served_at=at(16, "11:00")))
    [anomaly] = found(client)
    assert anomaly["rule"] == "REDEEMED_AFTER_SUSPENSION" and anomaly["detected_by"] == "redemption"
    assert anomaly["redemption_id"] == body["id"]
    assert anomaly["evidence"]["suspension_reason"] == "moved_out"
    assert isinstance(anomaly["evidence"]["status_change_id"], int)
    assert scan(client)["new_anomalies"] == 0


def test_nightly_scan_finds_services_after_a_recorded_death(client, elder, station):
    set_clock(client, "2026-03-16T12:00:00+08:00")
    body = posted(redeem(client, station, elder["id"], served_at=at(16, "11:30")))
    # The death is then recorded as of 11:00 (the sandbox clock stands in for a late record).
    set_clock(client, "2026-03-16T11:00:00+08:00")
    suspend(client, elder["id"], "deceased")
    # Recording the death (on the 16th, by default the day of the record) flags the service of
    # that day at once; the suspension rule is the nightly scan's.
    [after_death] = found(client)
    assert after_death["rule"] == "SERVICE_AFTER_DEATH" and after_death["detected_by"] == "death"
    assert after_death["evidence"] == {"died_on": "2026-03-16", "served_on": "2026-03-16"}
    assert scan(client)["by_rule"]["REDEEMED_AFTER_SUSPENSION"] == 1
    [anomaly] = found(client, rule="REDEEMED_AFTER_SUSPENSION")
    assert anomaly["detected_by"] == "nightly" and anomaly["redemption_id"] == body["id"]
    assert anomaly["evidence"]["suspension_reason"] == "deceased"
    assert isinstance(anomaly["evidence"]["status_change_id"], int)


def test_services_before_a_suspension_or_after_reapproval_are_ordinary(client, elder, station):
    set_clock(client, "2026-03-16T11:00:00+08:00")
    suspend(client, elder["id"], "no_longer_eligible")  # at 11:00
    set_clock(client, "2026-03-16T12:00:00+08:00")
    posted(redeem(client, station, elder["id"], served_at=at(16, "10:30")))  # served before it
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert response.status_code == 200, response.text
    set_clock(client, "2026-03-16T14:00:00+08:00")
    posted(redeem(client, station, elder["id"], served_at=at(16, "13:30")))  # after re-approval
    assert scan(client)["new_anomalies"] == 0
    assert found(client) == []


# --- TOO_MANY_SERVICES_PER_DAY -------------------------------------------------------------------
def test_too_many_services_for_one_elder_in_a_day(client, elder, station, company, monkeypatch):
    configure(monkeypatch, max_services_per_elder_day=3)
    for provider, served in ((station, "06:10"), (station, "07:10"), (company, "08:10"), (company, "09:10")):
        posted(redeem(client, provider, elder["id"], item=7, amount_fen=800, served_at=at(16, served)))
    assert found(client) == []  # a nightly rule
    assert scan(client)["by_rule"]["TOO_MANY_SERVICES_PER_DAY"] == 1
    [anomaly] = found(client)
    assert anomaly["rule"] == "TOO_MANY_SERVICES_PER_DAY" and anomaly["elder_id"] == elder["id"]
    assert anomaly["redemption_id"] is None and anomaly["provider_id"] is None
    assert anomaly["evidence"] == {"day": "2026-03-16", "services": 4, "providers": 2, "max_per_day": 3}
    assert scan(client)["new_anomalies"] == 0


def test_services_are_counted_per_beijing_day(client, elder, station, monkeypatch):
    configure(monkeypatch, max_services_per_elder_day=3)
    # 23:30 and 23:50 on the 15th, 00:10 and 00:30 on the 16th: two Beijing days of two each,
    # though all four fall on the same UTC day (the 15th). 助急 (28) is exempt from the night rule.
    for served in (at(15, "23:30"), at(15, "23:50"), at(16, "00:10"), at(16, "00:30")):
        posted(redeem(client, station, elder["id"], item=28, amount_fen=2000, served_at=served))
    for served in ("08:00", "09:00", "09:50"):
        posted(redeem(client, station, elder["id"], item=7, amount_fen=800, served_at=at(14, served)))
    assert scan(client)["new_anomalies"] == 0
    assert found(client) == []


# --- OVERLAPPING_SERVICE -------------------------------------------------------------------------
def test_two_providers_serving_one_elder_at_overlapping_times(client, elder, station, company):
    first = posted(redeem(client, station, elder["id"], item=11, served_at=at(16, "09:00")))
    second = posted(redeem(client, company, elder["id"], item=22, amount_fen=5000, served_at=at(16, "09:20")))
    assert found(client) == []
    assert scan(client)["by_rule"]["OVERLAPPING_SERVICE"] == 1
    [anomaly] = found(client)
    assert anomaly["rule"] == "OVERLAPPING_SERVICE"
    assert anomaly["redemption_id"] == second["id"] and anomaly["provider_id"] == company["id"]
    assert anomaly["evidence"] == {
        "other_redemption_id": first["id"],
        "other_provider_id": station["id"],
        "gap_seconds": 1200,
        "overlap_minutes": 30,
    }
    assert scan(client)["new_anomalies"] == 0


def test_services_a_window_apart_or_by_one_provider_do_not_overlap(client, elder, station, company):
    posted(redeem(client, station, elder["id"], item=11, served_at=at(16, "08:00")))
    posted(redeem(client, company, elder["id"], item=22, amount_fen=5000, served_at=at(16, "08:30")))
    posted(redeem(client, company, elder["id"], item=23, amount_fen=5000, served_at=at(16, "08:40")))
    other = approved_elder(client, approved_at=MARCH_START)  # another elder at the same time is no overlap
    posted(redeem(client, station, other["id"], item=11, served_at=at(16, "08:35")))
    assert scan(client)["new_anomalies"] == 0
    assert found(client) == []


# --- FIRST_DAY_DRAIN -----------------------------------------------------------------------------
def drain(client, provider, elder_id: str, served: str):
    # 服务包 (item 6) has no reference price: 160,000 fen at 50 % takes the whole 80,000 fen voucher.
    body = posted(redeem(client, provider, elder_id, item=6, amount_fen=160000, served_at=served))
    assert body["voucher_balance_fen"] == 0


def test_one_provider_draining_many_vouchers_on_the_first_day(client, station, monkeypatch):
    configure(monkeypatch, drain_min_vouchers=3)
    set_clock(client, "2026-03-01T08:00:00+08:00")
    for _ in range(3):
        drain(client, station, approved_elder(client, approved_at=at(1, "07:00"))["id"], at(1, "07:30"))
    assert scan(client)["by_rule"]["FIRST_DAY_DRAIN"] == 1
    [anomaly] = found(client)
    assert anomaly["rule"] == "FIRST_DAY_DRAIN" and anomaly["provider_id"] == station["id"]
    assert anomaly["evidence"] == {
        "day": "2026-03-01",
        "vouchers_drained": 3,
        "deduction_fen": 240000,
        "min_vouchers": 3,
    }
    assert scan(client)["new_anomalies"] == 0


def test_draining_below_the_threshold_or_after_the_first_day_is_ordinary(client, station, monkeypatch):
    configure(monkeypatch, drain_min_vouchers=3)
    set_clock(client, "2026-03-01T08:00:00+08:00")
    elders = [approved_elder(client, approved_at=at(1, "07:00")) for _ in range(4)]
    drain(client, station, elders[0]["id"], at(1, "07:30"))
    drain(client, station, elders[1]["id"], at(1, "07:40"))
    posted(redeem(client, station, elders[2]["id"], item=6, amount_fen=159998, served_at=at(1, "07:50")))
    set_clock(client, "2026-03-02T07:00:00+08:00")  # the 2nd in Beijing, still the 1st in UTC
    drain(client, station, elders[3]["id"], at(2, "06:30"))
    assert scan(client)["new_anomalies"] == 0
    assert found(client) == []


# --- PRICE_JUMP (先涨价后抵扣) --------------------------------------------------------------------------
def february_prices(client, provider, elder_id: str, count: int = 5) -> None:
    for n in range(count):
        served = f"2026-02-10T{8 + n:02d}:00:00+08:00"
        posted(
            redeem(client, provider, elder_id, item=11, amount_fen=20000 + 100 * (n % 2), served_at=served)
        )


@pytest.fixture
def february(client, station) -> dict:
    """An elder approved in February; the station charged 20,000–20,100 fen for 上门洗浴 five times."""
    set_clock(client, "2026-02-10T18:00:00+08:00")
    elder = approved_elder(client, approved_at="2026-02-10T07:00:00+08:00")
    february_prices(client, station, elder["id"])
    set_clock(client, "2026-03-16T10:00:00+08:00")
    assert run_job(client, "issue", MARCH).status_code == 200
    return elder


def test_price_jump_against_the_providers_own_median(client, station, february):
    posted(redeem(client, station, february["id"], item=11, amount_fen=30000, served_at=at(16, "08:00")))
    posted(redeem(client, station, february["id"], item=11, amount_fen=27000, served_at=at(16, "09:00")))
    assert found(client) == []
    assert scan(client)["by_rule"]["PRICE_JUMP"] == 1
    [anomaly] = found(client)
    assert anomaly["rule"] == "PRICE_JUMP" and anomaly["provider_id"] == station["id"]
    assert anomaly["month"] == MARCH and anomaly["redemption_id"] is None
    assert anomaly["evidence"] == {
        "item": 11,
        "baseline_from": "2025-12",
        "baseline_to": "2026-02",
        "baseline_median_fen": 20000,
        "baseline_redemptions": 5,
        "jump_percent": 30,
        "redemptions_above": 2,
        "max_amount_fen": 30000,
    }
    assert scan(client)["new_anomalies"] == 0
    # Another item of the same provider has no baseline: nothing.
    posted(redeem(client, station, february["id"], item=10, amount_fen=15000, served_at=at(16, "09:40")))
    assert scan(client)["new_anomalies"] == 0


def test_price_within_the_jump_or_without_enough_history_is_ordinary(client, station, company, february):
    posted(redeem(client, station, february["id"], item=11, amount_fen=26000, served_at=at(16, "08:00")))
    # The company charged 20,000 four times only: too little history for a median.
    set_clock(client, "2026-02-20T18:00:00+08:00")
    other = approved_elder(client, approved_at="2026-02-20T07:00:00+08:00")
    for n in range(4):
        served = f"2026-02-20T{8 + n:02d}:00:00+08:00"
        posted(redeem(client, company, other["id"], item=11, amount_fen=20000, served_at=served))
    set_clock(client, "2026-03-16T10:00:00+08:00")
    assert run_job(client, "issue", MARCH).status_code == 200
    posted(redeem(client, company, other["id"], item=11, amount_fen=39000, served_at=at(16, "09:00")))
    assert scan(client)["new_anomalies"] == 0
    assert found(client) == []


# --- listing and resolving -----------------------------------------------------------------------
@pytest.fixture
def warned(client, elder, station) -> dict:
    """One open warning in 110105 (a night service)."""
    posted(redeem(client, station, elder["id"], served_at=at(16, "02:00")))
    [anomaly] = found(client)
    return anomaly


def test_listing_is_scoped_by_district(client, warned, station):
    civil = make_staff(client, role="district_civil", district_code="110105")
    finance = make_staff(client, role="district_finance", district_code="110105")
    elsewhere = make_staff(client, role="district_civil", district_code="110108")
    auditor = make_staff(client, role="auditor")
    for token in (civil, finance, auditor):
        assert [a["id"] for a in listed(client, bearer(token))["items"]] == [warned["id"]]
        response = client.get(f"{API}/anomalies/{warned['id']}", headers=bearer(token))
        assert response.status_code == 200 and response.json()["rule"] == "NIGHT_HOME_SERVICE"
    assert listed(client, bearer(elsewhere)) == {"items": [], "total": 0, "limit": 1000, "offset": 0}
    assert_problem(
        client.get(f"{API}/anomalies", params={"district_code": "110105"}, headers=bearer(elsewhere)),
        403,
        "DISTRICT_OUT_OF_SCOPE",
    )
    assert_problem(
        client.get(f"{API}/anomalies/{warned['id']}", headers=bearer(elsewhere)), 404, "ANOMALY_NOT_FOUND"
    )
    assert_problem(
        client.get(f"{API}/anomalies/not-an-id", headers=admin_headers()), 404, "ANOMALY_NOT_FOUND"
    )
    assert_problem(client.get(f"{API}/anomalies", headers=bearer(station["api_key"])), 403, "FORBIDDEN")
    assert_problem(client.get(f"{API}/anomalies"), 401)


def test_listing_filters_and_pages(client, warned, elder, station):
    posted(redeem(client, station, elder["id"], item=11, amount_fen=45000, served_at=at(16, "09:30")))
    assert listed(client, district_code="110105", month=MARCH)["total"] == 2
    assert listed(client, month="2026-02")["total"] == 0
    assert listed(client, district_code="110108")["total"] == 0
    assert rules_of(found(client, rule="NIGHT_HOME_SERVICE")) == ["NIGHT_HOME_SERVICE"]
    assert listed(client, status="open")["total"] == 2 and listed(client, status="confirmed")["total"] == 0
    assert listed(client, provider_id=station["id"])["total"] == 2
    assert listed(client, provider_id="nonsense")["total"] == 0
    page = listed(client, limit=1, offset=1)
    assert page["total"] == 2 and len(page["items"]) == 1
    for params in ({"status": "closed"}, {"rule": "NOPE"}, {"month": "2026-13"}, {"district_code": "1101"}):
        assert_problem(client.get(f"{API}/anomalies", params=params, headers=admin_headers()), 422)


def test_resolving_a_warning_once(client, warned):
    civil = make_staff(client, role="district_civil", district_code="110105")
    url = f"{API}/anomalies/{warned['id']}/resolve"
    body = {"status": "confirmed", "note": "电话回访老人,夜间未接受服务,属虚假交易"}
    response = client.post(url, json=body, headers=bearer(civil))
    assert response.status_code == 200, response.text
    resolved = response.json()
    assert resolved["status"] == "confirmed" and resolved["resolution_note"] == body["note"]
    assert resolved["resolved_by"].startswith("staff:") and resolved["resolved_at"]
    assert listed(client, status="confirmed")["total"] == 1 and listed(client, status="open")["total"] == 0
    again = client.post(url, json={"status": "dismissed", "note": "再次处理"}, headers=admin_headers())
    assert_problem(again, 409, "ANOMALY_ALREADY_RESOLVED")
    # A rescan does not reopen or duplicate it.
    assert scan(client)["new_anomalies"] == 0
    assert [a["status"] for a in found(client)] == ["confirmed"]


def test_who_may_resolve(client, warned, station):
    url = f"{API}/anomalies/{warned['id']}/resolve"
    body = {"status": "dismissed", "note": "经核查为夜间助急"}
    finance = make_staff(client, role="district_finance", district_code="110105")
    auditor = make_staff(client, role="auditor")
    elsewhere = make_staff(client, role="district_civil", district_code="110108")
    for token in (finance, auditor, station["api_key"]):
        assert_problem(client.post(url, json=body, headers=bearer(token)), 403, "FORBIDDEN")
    assert_problem(client.post(url, json=body, headers=bearer(elsewhere)), 404, "ANOMALY_NOT_FOUND")
    for bad in (
        {"status": "open", "note": "x"},
        {"status": "dismissed"},
        {"status": "dismissed", "note": ""},
        {"status": "dismissed", "note": "x", "extra": 1},
    ):
        assert_problem(client.post(url, json=bad, headers=admin_headers()), 422)
    assert found(client)[0]["status"] == "open"  # nothing above changed it
    response = client.post(url, json=body, headers=admin_headers())
    assert response.status_code == 200 and response.json()["status"] == "dismissed"


# --- the jobs ------------------------------------------------------------------------------------
def test_scan_job_is_recorded_and_only_for_city_admins(client, warned):
    civil = make_staff(client, role="district_civil", district_code="110105")
    denied = client.post(f"{API}/jobs/anomaly-scan", json={"month": MARCH}, headers=bearer(civil))
    assert_problem(denied, 403, "FORBIDDEN")
    result = scan(client)
    assert result["month"] == MARCH and result["new_anomalies"] == 0 and isinstance(result["job_run_id"], int)
    runs = client.get(f"{API}/jobs/runs", headers=admin_headers()).json()
    run = next(r for r in runs if r["id"] == result["job_run_id"])
    assert run["job"] == "anomaly_scan" and run["period"] == MARCH and run["status"] == "succeeded"
    assert run["counts"] == {"new": 0, **{rule: 0 for rule in RULE_CODES}}
    future = client.post(f"{API}/jobs/anomaly-scan", json={"month": "2026-04"}, headers=admin_headers())
    assert_problem(future, 409, "SCAN_MONTH_NOT_STARTED")
    bad = client.post(f"{API}/jobs/anomaly-scan", json={"month": "2026-3"}, headers=admin_headers())
    assert_problem(bad, 422)


def test_the_scheduler_scans_nightly_with_the_previous_month_in_its_first_days(
    client, elder, station, company, monkeypatch
):
    from app.scheduler import run_daily_jobs

    configure(monkeypatch, max_services_per_elder_day=1)
    set_clock(client, "2026-03-31T23:00:00+08:00")
    posted(redeem(client, station, elder["id"], item=7, amount_fen=800, served_at=at(31, "12:00")))
    posted(redeem(client, company, elder["id"], item=7, amount_fen=800, served_at=at(31, "18:00")))
    set_clock(client, "2026-04-01T00:00:01+08:00")
    done = run_daily_jobs("test-holder")
    [nightly] = [job for job in done if job["job"] == "anomaly_scan_nightly"]
    assert nightly["2026-03"]["TOO_MANY_SERVICES_PER_DAY"] == 1 and nightly["2026-04"]["new"] == 0
    assert rules_of(found(client)) == ["TOO_MANY_SERVICES_PER_DAY"]
    assert all(job["job"] != "anomaly_scan_nightly" for job in run_daily_jobs("test-holder"))  # once a day
    set_clock(client, "2026-04-06T00:00:01+08:00")  # past the first five days: April only
    [later] = [job for job in run_daily_jobs("test-holder") if job["job"] == "anomaly_scan_nightly"]
    assert set(later) == {"job", "day", "job_run_id", "2026-04"}


def test_cli_scan(client, warned):
    from typer.testing import CliRunner

    from app.cli import app

    result = CliRunner().invoke(app, ["anomalies", "scan", "--month", MARCH])
    assert result.exit_code == 0, result.output
    assert "新增 0 条" in result.output
    refused = CliRunner().invoke(app, ["anomalies", "scan", "--month", "2026-05"])
    assert refused.exit_code == 2
