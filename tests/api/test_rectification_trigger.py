"""The automatic rectification order (四(三)): serious audit findings in a window of service
months reaching the threshold open one order, once while it is open, as the settings say."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app import clock
from app.config import get_settings
from app.db import session_scope
from app.models.audits import AuditFinding, AuditSample
from app.sanctions.service import on_finding_recorded
from tests.api.sanctions_support import CHAOYANG, change_status, open_order, orders_of
from tests.conftest import admin_headers
from tests.factories import API, make_provider, set_clock


def record_findings(
    provider: dict | None,
    *,
    outcome: str = "poor_quality",
    month: str = "2026-02",
    count: int = 1,
    district_code: str = CHAOYANG,
) -> list[str | None]:
    """Record findings as the audits module does (insert, flush, then on_finding_recorded); the
    id of each automatic order opened, else None."""
    first_day = date.fromisoformat(f"{month}-01")
    opened = []
    with session_scope() as session:
        sample = session.scalar(
            select(AuditSample).where(
                AuditSample.district_code == district_code,
                AuditSample.month == first_day,
                AuditSample.kind == "redemption",
            )
        )
        if sample is None:
            sample = AuditSample(
                id=uuid.uuid4(),
                district_code=district_code,
                month=first_day,
                kind="redemption",
                method="test",
                seed="00" * 32,
                population=100,
                sample_size=count,
                population_sha256="0" * 64,
                drawn_at=clock.now(),
                drawn_by="staff:test",
            )
            session.add(sample)
            session.flush()
        for _ in range(count):
            finding = AuditFinding(
                id=uuid.uuid4(),
                sample_id=sample.id,
                elder_id=uuid.uuid4(),
                district_code=district_code,
                month=first_day,
                provider_id=uuid.UUID(provider["id"]) if provider else None,
                outcome=outcome,
                note="电话回访",
                excluded_fen=0,
                clawback_fen=0,
                recorded_at=clock.now(),
                recorded_by="staff:test",
            )
            session.add(finding)
            session.flush()
            order = on_finding_recorded(session, finding)
            opened.append(str(order.id) if order is not None else None)
    return opened


def test_automatic_rectification_fires_at_n_not_before_and_once_while_open(client):
    provider = make_provider(client)
    bystander = make_provider(client)
    # Findings that do not count: genuine ones, none naming a provider, another provider's.
    assert record_findings(provider, outcome="genuine", count=5) == [None] * 5
    assert record_findings(None, count=3) == [None] * 3
    assert record_findings(bystander, count=2) == [None, None]

    # N - 1 = 2 serious findings in the window: nothing yet.
    assert record_findings(provider, outcome="poor_quality", month="2026-01") == [None]
    assert record_findings(provider, outcome="low_satisfaction", month="2026-02") == [None]
    assert orders_of(client, provider) == []

    # The N-th (a fake service counts too) opens one order, automatically.
    [opened] = record_findings(provider, outcome="fake_service", month="2026-02")
    assert opened is not None
    [order] = orders_of(client, provider)
    assert order["id"] == opened
    assert (order["source"], order["status"], order["opened_by"]) == (
        "automatic",
        "open",
        "system:rectification_trigger",
    )
    assert len(order["finding_ids"]) == 3 and order["trigger_finding_id"] in order["finding_ids"]
    assert "2025-12 至 2026-02" in order["reason"] and "3 条" in order["reason"]
    assert (order["opened_on"], order["due_on"], order["overdue"]) == ("2026-03-16", "2026-04-07", False)

    # More findings while it is open: no second order; they are attached to the open one.
    assert record_findings(provider, count=4) == [None] * 4
    [order] = orders_of(client, provider)
    assert len(order["finding_ids"]) == 7
    assert orders_of(client, bystander) == []

    # Closed: findings it answered do not count again; a new order needs N new ones.
    set_clock(client, "2026-04-01T10:00:00+08:00")
    assert (
        client.post(f"{API}/rectifications/{order['id']}/close", json={"note": "已整改"}).status_code == 401
    )
    response = client.post(
        f"{API}/rectifications/{order['id']}/close", json={"note": "已整改"}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text
    assert record_findings(provider, month="2026-03", count=2) == [None, None]
    [again] = record_findings(provider, month="2026-03")
    assert again is not None and again != order["id"]
    assert [o["id"] for o in orders_of(client, provider)] == [again, order["id"]]


def test_automatic_trigger_counts_only_the_window(client):
    provider = make_provider(client)
    # Each finding looks at the three service months ending with its own month.
    assert record_findings(provider, month="2025-10") == [None]
    assert record_findings(provider, month="2025-11") == [None]  # 2025-09 … 2025-11: 2
    assert record_findings(provider, month="2026-01") == [None]  # 2025-11 … 2026-01: 2
    assert record_findings(provider, month="2026-03") == [None]  # 2026-01 … 2026-03: 2
    assert orders_of(client, provider) == []
    # A late finding on 2025-12 looks at 2025-10 … 2025-12: three.
    [opened] = record_findings(provider, month="2025-12")
    assert opened is not None
    [order] = orders_of(client, provider)
    assert "2025-10 至 2025-12" in order["reason"]
    # Every serious finding not yet answered is answered by the order, in the window or not.
    assert len(order["finding_ids"]) == 5


def test_automatic_trigger_follows_the_settings(client, monkeypatch):
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_TRIGGER_FINDINGS", "2")
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_WINDOW_MONTHS", "1")
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_WORKING_DAYS", "5")
    get_settings.cache_clear()
    provider = make_provider(client)
    assert record_findings(provider, month="2026-01") == [None]
    assert record_findings(provider, month="2026-02") == [None]  # a one-month window
    [opened] = record_findings(provider, month="2026-02")
    assert opened is not None
    [order] = orders_of(client, provider)
    assert (order["working_days"], order["due_on"]) == (5, "2026-03-23")
    assert "2026-02 服务抽查" in order["reason"]


def test_settings_are_bounded(monkeypatch):
    monkeypatch.setenv("VOUCHER_SUPERVISION__RECTIFICATION_TRIGGER_FINDINGS", "0")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError):
            get_settings()
    finally:
        monkeypatch.delenv("VOUCHER_SUPERVISION__RECTIFICATION_TRIGGER_FINDINGS")
        get_settings.cache_clear()


def test_no_automatic_order_for_a_disqualified_provider_or_after_a_manual_one(client):
    gone = make_provider(client)
    assert change_status(client, gone, "disqualified", "核查属实").status_code == 200
    assert record_findings(gone, count=4) == [None] * 4
    assert orders_of(client, gone) == []

    provider = make_provider(client)
    record_findings(provider, count=2)
    manual = open_order(client, provider).json()
    assert len(manual["finding_ids"]) == 2  # the findings it answers
    assert record_findings(provider) == [None]
    assert [o["id"] for o in orders_of(client, provider)] == [manual["id"]]
    assert len(orders_of(client, provider)[0]["finding_ids"]) == 3
