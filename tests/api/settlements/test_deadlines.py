"""Deadlines over HTTP: overdue and working days left in each stage, early and late
submissions, make-up working days, calendar overrides, and the daily job that flags an overdue
stage once. The January scenario: tests/api/settlements/scenario.py."""

from __future__ import annotations

import uuid

import pytest

from tests.api.settlements.scenario import (
    DISTRICT,
    at,
    built,
    civil_review,
    finance_review,
    get_batch,
    ok,
    pay,
)
from tests.conftest import admin_headers
from tests.factories import API, approved_elder, assert_problem, make_provider, redeem, set_clock, staff


# --- deadlines and overdue -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "overdue", "left"),
    [
        ("2026-02-03T10:00:00+08:00", False, 8),
        ("2026-02-12T10:00:00+08:00", False, 1),
        ("2026-02-13T00:00:00+08:00", False, 0),
        ("2026-02-13T23:59:59+08:00", False, 0),  # the deadline day itself is in time
        ("2026-02-13T16:00:00Z", True, -1),  # 00:00 on 2-14 in Beijing: the make-up Saturday
        ("2026-02-14T09:00:00+08:00", True, -1),
        ("2026-02-15T09:00:00+08:00", True, -1),  # a holiday: still one working day late
        ("2026-02-24T09:00:00+08:00", True, -2),
    ],
)
def test_civil_review_overdue_and_working_days_left(client, january, batch, now, overdue, left):
    set_clock(client, now)
    got = get_batch(client, batch["id"])
    assert (got["overdue"], got["working_days_left"]) == (overdue, left)
    listed = ok(client.get(f"{API}/settlements", headers=january.civil.headers))
    assert listed[0]["overdue"] is overdue


def test_stages_submitted_late(client, january, batch):
    bid = batch["id"]
    # Civil review submitted late, on 2-24 (due 2-13).
    set_clock(client, "2026-02-24T10:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is True
    reviewed = ok(civil_review(client, bid, january.civil))
    assert reviewed["overdue"] is False  # the current stage is finance's now
    # finance: 5th working day after 2-24: 25, 26, 27, 28 (make-up Sat), 3-2
    assert reviewed["deadlines"] == {
        "civil_review": "2026-02-13",
        "finance_review": "2026-03-02",
        "payment": None,
    }
    assert reviewed["working_days_left"] == 5
    set_clock(client, "2026-03-02T18:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is False
    set_clock(client, "2026-03-03T09:00:00+08:00")
    late = get_batch(client, bid)
    assert (late["overdue"], late["working_days_left"]) == (True, -1)
    # Finance approves late too (3-3): payment due 3-6 (4, 5, 6).
    approved = ok(finance_review(client, bid, january.finance, approve=True))
    assert approved["deadlines"]["payment"] == "2026-03-06"
    assert approved["overdue"] is False
    set_clock(client, "2026-03-07T09:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is True
    # Late payments still settle it; a settled batch is not overdue.
    for provider, amount in ((january.a, 15000), (january.b, 44938), (january.c, 501)):
        last = ok(pay(client, bid, january.civil, provider["id"], amount))
    assert last["status"] == "settled"
    assert last["overdue"] is False


def test_stages_submitted_early(client, january, batch):
    bid = batch["id"]
    set_clock(client, "2026-02-04T10:00:00+08:00")
    reviewed = ok(civil_review(client, bid, january.civil))
    # finance: 2-5, 6, 9, 10, 11
    assert reviewed["deadlines"]["finance_review"] == "2026-02-11"
    assert reviewed["working_days_left"] == 5
    set_clock(client, "2026-02-05T10:00:00+08:00")
    approved = ok(finance_review(client, bid, january.finance, approve=True))
    # payment: 2-6, 9, 10
    assert approved["deadlines"] == {
        "civil_review": "2026-02-13",
        "finance_review": "2026-02-11",
        "payment": "2026-02-10",
    }
    assert approved["working_days_left"] == 3
    set_clock(client, "2026-02-11T10:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is True  # paid nothing by 2-10


def test_august_finance_review_due_on_the_makeup_sunday(client):
    set_clock(client, "2026-08-10T10:00:00+08:00")
    civil = staff(client, "district_civil", DISTRICT)
    finance = staff(client, "district_finance", DISTRICT)
    station = make_provider(client, district_code=DISTRICT)
    elder = approved_elder(client, district_code=DISTRICT, assessed_on="2026-08-01")
    assert redeem(client, station, elder["id"], served_at="2026-08-10T10:00:00+08:00").status_code == 201
    set_clock(client, "2026-09-14T16:00:00+08:00")
    batch = built(client, civil, month="2026-08")
    assert batch["deadlines"]["civil_review"] == "2026-09-14"
    assert batch["working_days_left"] == 0
    reviewed = ok(civil_review(client, batch["id"], civil))
    assert reviewed["deadlines"]["finance_review"] == "2026-09-20"  # Sunday, make-up working day
    set_clock(client, "2026-09-20T10:00:00+08:00")
    on_sunday = get_batch(client, batch["id"])
    assert (on_sunday["overdue"], on_sunday["working_days_left"]) == (False, 0)
    approved = ok(finance_review(client, batch["id"], finance, approve=True))
    assert approved["deadlines"]["payment"] == "2026-09-23"


# --- calendar overrides ------------------------------------------------------------------------------
def test_calendar_month_view(client):
    response = client.get(f"{API}/calendar", params={"month": "2026-02"}, headers=admin_headers())
    body = ok(response)
    assert body["month"] == "2026-02"
    assert body["working_days"] == 16
    by_day = {d["day"]: d for d in body["days"]}
    assert len(by_day) == 28
    assert by_day["2026-02-14"]["working"] is True  # make-up Saturday
    assert by_day["2026-02-14"]["source"] == "official"
    assert by_day["2026-02-28"]["working"] is True
    assert by_day["2026-02-16"]["working"] is False
    assert by_day["2026-02-16"]["source"] == "official"
    assert by_day["2026-02-23"]["working"] is False
    assert (by_day["2026-02-07"]["working"], by_day["2026-02-07"]["source"]) == (False, "weekend")
    assert (by_day["2026-02-02"]["working"], by_day["2026-02-02"]["source"]) == (True, "weekday")
    october = ok(client.get(f"{API}/calendar", params={"month": "2026-10"}, headers=admin_headers()))
    assert october["working_days"] == 18  # 22 weekdays - 5 holiday weekdays + 10-10
    # Any caller with a token may read it.
    civil = staff(client, "district_civil", DISTRICT)
    assert (
        client.get(f"{API}/calendar", params={"month": "2026-02"}, headers=civil.headers).status_code == 200
    )


def test_an_override_moves_decembers_civil_deadline(client):
    civil = staff(client, "district_civil", DISTRICT)
    set_clock(client, "2027-01-05T10:00:00+08:00")
    batch = built(client, civil, month="2026-12")
    assert batch["deadlines"]["civil_review"] == "2027-01-15"
    assert batch["working_days_left"] == 8  # 1-6, 7, 8, 11, 12, 13, 14, 15

    body = {"working": False, "note": "国务院2027年节假日安排:1月11日放假"}
    assert_problem(client.put(f"{API}/calendar/overrides/2027-01-11", json=body, headers=civil.headers), 403)
    response = client.put(f"{API}/calendar/overrides/2027-01-11", json=body, headers=admin_headers())
    override = ok(response)
    assert (override["day"], override["working"], override["note"]) == ("2027-01-11", False, body["note"])
    assert override["set_by"] == "staff:bootstrap-admin"
    assert at(override["set_at"]) == at("2027-01-05T10:00:00+08:00")

    january_2027 = ok(client.get(f"{API}/calendar", params={"month": "2027-01"}, headers=civil.headers))
    day = next(d for d in january_2027["days"] if d["day"] == "2027-01-11")
    assert (day["working"], day["source"]) == (False, "override")
    overrides = ok(client.get(f"{API}/calendar/overrides", headers=civil.headers))
    assert [o["day"] for o in overrides] == ["2027-01-11"]

    moved = get_batch(client, batch["id"], civil)
    assert moved["deadlines"]["civil_review"] == "2027-01-18"
    assert moved["working_days_left"] == 8  # 1-11 no longer counts, 1-18 does
    set_clock(client, "2027-01-16T10:00:00+08:00")
    assert get_batch(client, batch["id"])["overdue"] is False  # without the override: overdue

    # A make-up working day the other way: Saturday 1-16 declared a working day.
    ok(
        client.put(
            f"{API}/calendar/overrides/2027-01-16",
            json={"working": True, "note": "调休上班"},
            headers=admin_headers(),
        )
    )
    assert get_batch(client, batch["id"])["deadlines"]["civil_review"] == "2027-01-16"
    # Removing the overrides restores the package's calendar.
    for day in ("2027-01-11", "2027-01-16"):
        assert client.delete(f"{API}/calendar/overrides/{day}", headers=admin_headers()).status_code == 204
    assert_problem(client.delete(f"{API}/calendar/overrides/2027-01-11", headers=admin_headers()), 404)
    restored = get_batch(client, batch["id"])
    assert restored["deadlines"]["civil_review"] == "2027-01-15"
    assert restored["overdue"] is True


def test_the_override_updates_a_stage_deadline_too(client, january, batch):
    set_clock(client, "2026-02-13T10:00:00+08:00")
    reviewed = ok(civil_review(client, batch["id"], january.civil))
    assert reviewed["deadlines"]["finance_review"] == "2026-02-27"
    ok(
        client.put(
            f"{API}/calendar/overrides/2026-02-25",
            json={"working": False, "note": "test"},
            headers=admin_headers(),
        )
    )
    assert get_batch(client, batch["id"])["deadlines"]["finance_review"] == "2026-02-28"


def test_the_daily_job_flags_each_overdue_stage_once(client, january, batch):
    """The scheduler's daily job (app.jobs.service.run_flag_overdue) flags a batch when its
    current stage is past its deadline: once per stage, each flag an audit row."""
    from app.db import session_scope
    from app.jobs.service import run_flag_overdue
    from app.models.settlements import SettlementBatch

    bid = batch["id"]

    def run() -> int:
        with session_scope() as session:
            flagged, _run = run_flag_overdue(session, trigger="test")
        return flagged

    def stamp():
        with session_scope(write=False) as session:
            stored = session.get(SettlementBatch, uuid.UUID(bid))
            return stored.overdue_stage, stored.overdue_flagged_at

    def flags() -> list[dict]:
        events = get_batch(client, bid)["events"]
        return [(e["from_status"], e["details"], e["actor"]) for e in events if e["action"] == "flag_overdue"]

    set_clock(client, "2026-02-13T20:00:00+08:00")  # civil review due today: in time
    assert run() == 0
    assert stamp() == (None, None)
    set_clock(client, "2026-02-14T00:10:00+08:00")
    assert run() == 1
    assert stamp() == ("civil_review", at("2026-02-14T00:10:00+08:00"))
    set_clock(client, "2026-02-15T00:10:00+08:00")
    assert run() == 0  # this stage is flagged already
    # Submitted late (2-24): finance is due 3-2 and is not overdue yet.
    set_clock(client, "2026-02-24T10:00:00+08:00")
    ok(civil_review(client, bid, january.civil))
    set_clock(client, "2026-03-02T23:00:00+08:00")
    assert run() == 0
    set_clock(client, "2026-03-03T00:10:00+08:00")
    assert run() == 1  # late again, in the next stage
    assert stamp() == ("finance_review", at("2026-03-03T00:10:00+08:00"))
    assert run() == 0
    # Finance approves on time from here: payment due 3-6; paid in full, nothing more to flag.
    ok(finance_review(client, bid, january.finance, approve=True))
    for provider, amount in ((january.a, 15000), (january.b, 44938), (january.c, 501)):
        ok(pay(client, bid, january.civil, provider["id"], amount))
    set_clock(client, "2026-03-20T00:10:00+08:00")
    assert run() == 0
    assert flags() == [
        ("civil_review", {"stage": "civil_review", "due": "2026-02-13"}, "system:flag_overdue"),
        ("finance_review", {"stage": "finance_review", "due": "2026-03-02"}, "system:flag_overdue"),
    ]
