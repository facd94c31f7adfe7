"""The sandbox clock (CONTRACT.md, "Sandbox clock"). The ``client`` fixture freezes it at
2026-03-16T10:00:00+08:00."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import DEFAULT_NOW, admin_headers
from tests.factories import assert_problem, bearer, make_elder, make_provider, make_staff

API = "/api/v1"
RFC3339_BEIJING = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")


def set_clock(client, now: str):
    return client.put(f"{API}/sandbox/clock", json={"now": now}, headers=admin_headers())


def test_fixture_clock_is_frozen(client):
    response = client.get(f"{API}/sandbox/clock", headers=admin_headers())
    assert response.status_code == 200, response.text
    assert response.json() == {"now": DEFAULT_NOW, "frozen": True}


def test_put_sets_now(client):
    response = set_clock(client, "2026-07-01T08:30:00+08:00")
    assert response.status_code == 200, response.text
    assert response.json() == {"now": "2026-07-01T08:30:00+08:00", "frozen": True}
    assert client.get(f"{API}/sandbox/clock", headers=admin_headers()).json() == {
        "now": "2026-07-01T08:30:00+08:00",
        "frozen": True,
    }


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("2026-05-31T16:00:00Z", "2026-06-01T00:00:00+08:00"),
        ("2026-05-31T16:00:00+00:00", "2026-06-01T00:00:00+08:00"),
        ("2026-06-01T01:00:00+09:00", "2026-06-01T00:00:00+08:00"),
        ("2026-05-31T11:00:00-05:00", "2026-06-01T00:00:00+08:00"),
    ],
)
def test_times_are_answered_in_beijing_time(client, given, shown):
    assert set_clock(client, given).json()["now"] == shown
    assert client.get(f"{API}/sandbox/clock", headers=admin_headers()).json()["now"] == shown


def test_frozen_clock_dates_created_records(client):
    set_clock(client, "2026-08-20T14:15:16+08:00")
    token = make_staff(client, role="auditor")
    staff = client.get(f"{API}/staff", headers=admin_headers()).json()
    assert [s["created_at"] for s in staff] == ["2026-08-20T14:15:16+08:00"]
    provider = make_provider(client)
    assert provider["created_at"] == "2026-08-20T14:15:16+08:00"
    elder = make_elder(client, assessed_on="2026-08-01")
    assert elder["created_at"] == "2026-08-20T14:15:16+08:00"
    assert elder["eligibility_checked_on"] == "2026-08-20"
    history = client.get(f"{API}/providers/{provider['id']}/status-history", headers=bearer(token)).json()
    assert history[0]["changed_at"] == "2026-08-20T14:15:16+08:00"


def test_suspension_month_is_the_sandbox_month(client):
    elder = make_elder(client)
    client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    set_clock(client, "2026-09-30T23:59:59+08:00")
    body = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "deceased"}, headers=admin_headers()
    ).json()
    assert body["last_voucher_month"] == "2026-09"
    assert body["suspended_at"] == "2026-09-30T23:59:59+08:00"


def test_suspension_month_uses_beijing_month_not_utc(client):
    elder = make_elder(client)
    client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    # 2026-09-30T16:30Z is already 1 October in Beijing.
    set_clock(client, "2026-09-30T16:30:00Z")
    body = client.post(
        f"{API}/elders/{elder['id']}/suspend", json={"reason": "moved_out"}, headers=admin_headers()
    ).json()
    assert body["last_voucher_month"] == "2026-10"


def test_assessment_in_the_future_follows_the_sandbox_day(client):
    set_clock(client, "2026-02-01T09:00:00+08:00")
    response = client.post(
        f"{API}/elders",
        json={
            "name": "张桂芝",
            "id_number": "110105194803050011",
            "district_code": "110105",
            "residency": "beijing_hukou",
            "disability_level": "severe",
            "assessed_on": "2026-02-02",
            "benefits": [],
        },
        headers=admin_headers(),
    )
    assert_problem(response, 422, "INVALID_ASSESSMENT_DATE")


@pytest.mark.parametrize(
    "now",
    [
        "2026-07-01T08:30:00",  # naive: no offset
        "2026-07-01 08:30:00",
        "2026-07-01",
        "08:30:00+08:00",
        "2026-07-01T25:00:00+08:00",
        "not a time",
        "",
    ],
)
def test_times_without_offset_or_malformed_are_refused(client, now):
    response = set_clock(client, now)
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert client.get(f"{API}/sandbox/clock", headers=admin_headers()).json()["now"] == DEFAULT_NOW


@pytest.mark.parametrize("now", [1782865800, "1782865800", 0])
def test_unix_timestamps_are_not_rfc3339(client, now):
    """``now`` is an RFC 3339 string; a bare number is not a time with an offset."""
    response = set_clock(client, now)
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert client.get(f"{API}/sandbox/clock", headers=admin_headers()).json()["now"] == DEFAULT_NOW


def test_delete_restores_real_time(client):
    response = client.delete(f"{API}/sandbox/clock", headers=admin_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["frozen"] is False
    assert RFC3339_BEIJING.match(body["now"]), body
    real = datetime.now(UTC)
    assert abs(datetime.fromisoformat(body["now"]) - real) < timedelta(minutes=1)

    after = client.get(f"{API}/sandbox/clock", headers=admin_headers()).json()
    assert after["frozen"] is False
    assert RFC3339_BEIJING.match(after["now"]), after
    assert abs(datetime.fromisoformat(after["now"]) - datetime.now(UTC)) < timedelta(minutes=1)

    make_staff(client, role="auditor")
    created = client.get(f"{API}/staff", headers=admin_headers()).json()[0]["created_at"]
    assert RFC3339_BEIJING.match(created), created
    assert abs(datetime.fromisoformat(created) - datetime.now(UTC)) < timedelta(minutes=1)


def test_delete_twice_is_harmless(client):
    assert client.delete(f"{API}/sandbox/clock", headers=admin_headers()).status_code == 200
    assert client.delete(f"{API}/sandbox/clock", headers=admin_headers()).status_code == 200


def test_clock_can_be_frozen_again_after_delete(client):
    client.delete(f"{API}/sandbox/clock", headers=admin_headers())
    assert set_clock(client, "2026-10-10T10:10:10+08:00").status_code == 200
    assert client.get(f"{API}/sandbox/clock", headers=admin_headers()).json() == {
        "now": "2026-10-10T10:10:10+08:00",
        "frozen": True,
    }


@pytest.mark.parametrize(
    ("role", "district_code"),
    [("district_civil", "110105"), ("district_finance", "110105"), ("auditor", None)],
)
def test_non_admin_cannot_touch_the_clock(client, role, district_code):
    token = bearer(make_staff(client, role=role, district_code=district_code))
    assert_problem(client.get(f"{API}/sandbox/clock", headers=token), 403, "FORBIDDEN")
    assert_problem(
        client.put(f"{API}/sandbox/clock", json={"now": "2026-12-01T00:00:00+08:00"}, headers=token),
        403,
        "FORBIDDEN",
    )
    assert_problem(client.delete(f"{API}/sandbox/clock", headers=token), 403, "FORBIDDEN")
    assert client.get(f"{API}/sandbox/clock", headers=admin_headers()).json() == {
        "now": DEFAULT_NOW,
        "frozen": True,
    }


def test_provider_cannot_touch_the_clock(client):
    key = bearer(make_provider(client)["api_key"])
    assert_problem(
        client.put(f"{API}/sandbox/clock", json={"now": "2026-12-01T00:00:00+08:00"}, headers=key),
        403,
        "FORBIDDEN",
    )
    assert_problem(client.delete(f"{API}/sandbox/clock", headers=key), 403, "FORBIDDEN")
    assert client.get(f"{API}/sandbox/clock", headers=admin_headers()).json()["now"] == DEFAULT_NOW


def test_clock_needs_a_token(client):
    assert_problem(client.get(f"{API}/sandbox/clock"), 401, "UNAUTHENTICATED")
    assert_problem(client.put(f"{API}/sandbox/clock", json={"now": DEFAULT_NOW}), 401, "UNAUTHENTICATED")
    assert_problem(client.delete(f"{API}/sandbox/clock"), 401, "UNAUTHENTICATED")


# --- disabled ------------------------------------------------------------------------------------
@pytest.fixture
def disabled_client(client, monkeypatch):
    """A fresh app with ``VOUCHER_SANDBOX_CLOCK=false`` on the same database (still frozen there)."""
    from fastapi.testclient import TestClient

    import app.config
    import app.main

    monkeypatch.setenv("VOUCHER_SANDBOX_CLOCK", "false")
    app.config.get_settings.cache_clear()
    with TestClient(app.main.create_app()) as test_client:
        yield test_client
    app.config.get_settings.cache_clear()


def test_disabled_clock_answers_404(disabled_client):
    h = admin_headers()
    assert_problem(disabled_client.get(f"{API}/sandbox/clock", headers=h), 404)
    assert_problem(
        disabled_client.put(f"{API}/sandbox/clock", json={"now": "2026-12-01T00:00:00+08:00"}, headers=h), 404
    )
    assert_problem(disabled_client.delete(f"{API}/sandbox/clock", headers=h), 404)


def test_disabled_clock_ignores_the_stored_frozen_instant(disabled_client):
    make_staff(disabled_client, role="auditor")
    created = disabled_client.get(f"{API}/staff", headers=admin_headers()).json()[0]["created_at"]
    assert created != DEFAULT_NOW
    assert RFC3339_BEIJING.match(created), created
    assert abs(datetime.fromisoformat(created) - datetime.now(UTC)) < timedelta(minutes=1)


def test_disabled_clock_put_does_not_freeze(disabled_client, monkeypatch):
    import app.config

    disabled_client.put(
        f"{API}/sandbox/clock", json={"now": "2026-12-01T00:00:00+08:00"}, headers=admin_headers()
    )
    # Switch the sandbox back on: the instant stored by the fixture is still the one in force.
    monkeypatch.setenv("VOUCHER_SANDBOX_CLOCK", "true")
    app.config.get_settings.cache_clear()
    assert disabled_client.get(f"{API}/sandbox/clock", headers=admin_headers()).json()["now"] == DEFAULT_NOW


# --- instants at the edges of the calendar -----------------------------------------------------
@pytest.fixture
def quiet(client):
    """The same app, answering a 500 as a response instead of raising it in the test."""
    from fastapi.testclient import TestClient

    return TestClient(client.app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "now",
    [
        "9999-12-31T23:00:00-05:00",  # 10000-01-01 in UTC
        "0001-01-01T00:00:00+08:00",  # year 0 in UTC
    ],
)
def test_instant_outside_the_representable_range_is_refused_not_500(quiet, now):
    response = quiet.put(f"{API}/sandbox/clock", json={"now": now}, headers=admin_headers())
    problem = assert_problem(response, 422)
    assert problem["code"] == "VALIDATION_ERROR"
    assert quiet.get(f"{API}/sandbox/clock", headers=admin_headers()).json()["now"] == DEFAULT_NOW


@pytest.mark.parametrize("now", ["1900-01-01T00:00:00+08:00", "0001-01-01T00:00:00-08:00"])
def test_clock_answers_rfc3339_offsets_even_for_old_instants(quiet, now):
    """Either refuse the instant, or answer it with a real RFC 3339 offset (+08:00, not the
    zone's local mean time +08:05:43)."""
    response = quiet.put(f"{API}/sandbox/clock", json={"now": now}, headers=admin_headers())
    if response.status_code == 200:
        assert RFC3339_BEIJING.match(response.json()["now"]), response.json()
        shown = quiet.get(f"{API}/sandbox/clock", headers=admin_headers()).json()["now"]
        assert RFC3339_BEIJING.match(shown), shown
    else:
        assert_problem(response, 422)
