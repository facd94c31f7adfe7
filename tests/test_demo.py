"""The demo data (app/demo): loaded in-process at the sandbox clock, checked over HTTP with the
published demo tokens, as the dashboard and its end-to-end test will use it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from app import clock
from app.config import get_settings
from app.db import session_scope
from app.demo.loader import load_demo
from app.rules.months import BEIJING
from tests.conftest import admin_headers
from tests.factories import bearer

API = "/api/v1"
ADMIN = bearer("demo-city-admin")
CIVIL = bearer("demo-chaoyang-civil")
ELDERS = 30


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(tmp_path / "evidence"))
    get_settings.cache_clear()
    return tmp_path / "evidence"


def _load(**kwargs):
    with session_scope() as session:
        return load_demo(session, elders_per_district=ELDERS, **kwargs)


@pytest.fixture
def demo(client, evidence_dir):
    """The demo loaded at 2026-03-16 10:00 (the tests' sandbox clock), with its progress calls."""
    calls = []
    summary = _load(progress=lambda description, done, total: calls.append((description, done, total)))
    return summary, calls


def test_demo_contents(client, demo):
    """One load (they take seconds), every read-only check of what it holds."""
    summary, calls = demo
    assert summary.loaded
    assert (summary.previous_month, summary.current_month) == ("2026-02", "2026-03")
    _check_previous_month(client, summary)
    _check_current_month(client, summary)
    _check_supervision(client, summary)
    _check_progress(calls)
    report = client.get(f"{API}/ledger/verify", headers=ADMIN).json()
    assert report["ok"], report["mismatches"]
    assert report["entries"] > 0 and report["vouchers_checked"] > 0


def _check_previous_month(client, summary) -> None:
    assert summary.previous_month_redemptions > 0
    assert summary.previous_month_expired > 0 and summary.previous_month_released_fen > 0

    page = client.get(f"{API}/redemptions", params={"month": "2026-02", "limit": 200}, headers=CIVIL).json()
    assert page["total"] > 0
    served = [datetime.fromisoformat(r["served_at"]).astimezone(BEIJING) for r in page["items"]]
    assert all(at.strftime("%Y-%m") == "2026-02" for at in served)
    assert len({at.date() for at in served}) > 5  # spread over the month

    runs = client.get(f"{API}/jobs/runs", headers=ADMIN).json()
    expire = [r for r in runs if r["job"] == "expire" and r["period"].startswith("2026-02")]
    assert len(expire) == 1 and expire[0]["counts"]["expired"] == summary.previous_month_expired

    # An elder who redeemed in February: that voucher is now expired with nothing left on it,
    # and March's voucher was issued by the month-start job.
    elder_id = page["items"][0]["elder_id"]
    vouchers = {v["month"]: v for v in client.get(f"{API}/elders/{elder_id}/vouchers", headers=CIVIL).json()}
    assert vouchers["2026-02"]["status"] == "expired" and vouchers["2026-02"]["balance_fen"] == 0
    assert vouchers["2026-03"]["status"] == "active"


def _check_current_month(client, summary) -> None:
    page = client.get(f"{API}/redemptions", params={"month": "2026-03", "limit": 1}, headers=ADMIN).json()
    assert page["total"] == summary.redemptions > 0


def _check_supervision(client, summary) -> None:
    page = client.get(
        f"{API}/anomalies",
        params={"district_code": "110105", "month": "2026-02", "status": "open", "limit": 100},
        headers=CIVIL,
    ).json()
    rules = Counter(item["rule"] for item in page["items"])
    assert len(rules) >= 2, rules
    assert rules["NIGHT_HOME_SERVICE"] >= 3 and rules["PRICE_ABOVE_REFERENCE"] >= 3
    assert rules["TOO_MANY_SERVICES_PER_DAY"] >= 1 and rules["OVERLAPPING_SERVICE"] >= 1
    assert summary.anomalies >= page["total"]

    orders = client.get(
        f"{API}/rectifications", params={"district_code": "110105", "status": "open"}, headers=CIVIL
    ).json()
    assert len(orders) == 1 and summary.rectifications == 1
    assert orders[0]["provider_name"] == "北京乐龄居家养老服务有限公司"

    # Left for the dashboard's own test: no settlement batch.
    assert client.get(f"{API}/settlements", headers=CIVIL).json() == []


def _check_progress(calls) -> None:
    assert len(calls) > 10
    totals = {total for _, _, total in calls}
    assert len(totals) == 1
    done = [d for _, d, _ in calls]
    assert done == sorted(set(done)) and done[-1] == totals.pop()
    assert all(description for description, _, _ in calls)
    assert any("2026-02" in description for description, _, _ in calls)


def test_previous_month_settles_and_a_second_load_changes_nothing(client, demo):
    response = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-02"}, headers=CIVIL
    )
    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["lines"] and batch["totals"]["redemptions"] > 0
    # Most redemptions came with their evidence; a few did not (realistic work for the reviewer).
    assert batch["missing_evidence"] < batch["totals"]["redemptions"] / 2
    assert client.get(f"{API}/ledger/verify", headers=ADMIN).json()["ok"]

    before = client.get(f"{API}/redemptions", params={"limit": 1}, headers=ADMIN).json()["total"]
    assert not _load().loaded
    assert client.get(f"{API}/redemptions", params={"limit": 1}, headers=ADMIN).json()["total"] == before


def test_first_programme_month_has_no_previous_month(client, evidence_dir):
    response = client.put(
        f"{API}/sandbox/clock", json={"now": "2026-01-20T10:00:00+08:00"}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text
    summary = _load()
    assert summary.loaded and summary.previous_month is None
    assert summary.current_month == "2026-01" and summary.redemptions > 0
    assert summary.previous_month_redemptions == 0 and summary.rectifications == 0
    assert client.get(f"{API}/ledger/verify", headers=ADMIN).json()["ok"]


def test_pinned_clock_overrides_the_sandbox_and_restores_it(client):
    sandbox = clock.now()
    assert sandbox == datetime(2026, 3, 16, 10, tzinfo=BEIJING)
    instant = datetime(2026, 2, 3, 9, 30, tzinfo=BEIJING)
    with clock.pinned(instant):
        assert clock.now() == instant and str(clock.current_month()) == "2026-02"
        with clock.pinned(datetime(2026, 2, 4, tzinfo=BEIJING)):
            assert clock.today().day == 4
        assert clock.now() == instant
    assert clock.now() == sandbox
    with pytest.raises(ValueError):
        with clock.pinned(datetime(2026, 2, 3)):
            pass
