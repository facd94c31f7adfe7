"""Issue 12 in the dashboard: the elders whose assessment ends soon, the reports page (schedule,
XLSX, submission form), and the evidence a settlement reviewer sees missing (the ID-card photo)."""

from __future__ import annotations

import io

import openpyxl

from tests.dashboard.pages import DASHBOARD, flash_of, post_form, signed_in_staff
from tests.factories import API, approved_elder, make_provider, redeem, set_clock, staff


def test_the_overview_counts_and_the_page_lists_assessments_ending_soon(client):
    soon = approved_elder(client, assessed_on="2025-04-10")  # ends 2026-04-09
    approved_elder(client, assessed_on="2026-01-10")  # ends 2027-01-09
    signed_in_staff(client, "district_civil", "110105")
    overview = client.get(f"{DASHBOARD}/")
    assert "30 天内评估结论到期的老年人:<strong>1 人</strong>" in overview.text
    page = client.get(f"{DASHBOARD}/elders/expiring")
    assert page.status_code == 200, page.text
    assert "2026-04-09" in page.text and "24 天" in page.text
    assert soon["id_number_masked"] in page.text and soon["name"] not in page.text  # masked


def test_reports_are_downloaded_and_submitted_from_the_dashboard(client):
    set_clock(client, "2026-03-20T10:00:00+08:00")
    civil = signed_in_staff(client, "district_civil", "110105")
    page = client.get(f"{DASHBOARD}/reports")
    assert page.status_code == 200 and "年度工作总结" in page.text and "2026-12-10" in page.text
    annual = client.get(f"{DASHBOARD}/reports/annual.xlsx", params={"year": 2026})
    assert annual.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(annual.content)).sheetnames == ["工作总结"]
    quarterly = client.get(f"{DASHBOARD}/reports/quarterly.xlsx", params={"year": 2026, "quarter": 1})
    assert quarterly.status_code == 200
    refused = post_form(client, "/reports/submit", {"year": "2026", "report": "Q1"}, from_page="/reports")
    assert refused.status_code == 303 and "确认" in (flash_of(refused) or "")
    done = post_form(
        client,
        "/reports/submit",
        {"year": "2026", "report": "Q1", "summary": "一季度", "confirm": "yes"},
        from_page="/reports",
    )
    assert done.status_code == 303 and flash_of(done) == "报告已报送并留存报送记录"
    schedule = client.get(f"{API}/reports/submissions", params={"year": 2026}, headers=civil.headers).json()
    [q1] = [r for r in schedule if r["quarter"] == 1]
    assert (
        q1["submitted"] and q1["submission"]["submitted_by"] == civil.actor and not q1["submission"]["late"]
    )
    assert "按时报送" in client.get(f"{DASHBOARD}/reports").text


def test_an_auditor_reads_reports_but_has_no_form(client):
    signed_in_staff(client, "auditor")
    page = client.get(f"{DASHBOARD}/reports", params={"district": "110108"})
    assert page.status_code == 200 and "报送报告" not in page.text


def test_the_reviewer_sees_which_evidence_is_missing(client, tmp_path, monkeypatch):
    from app.config import get_settings

    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(tmp_path))
    get_settings.cache_clear()
    station = make_provider(client, name="劲松驿站")
    elder = approved_elder(client)
    redemption = redeem(client, station, elder["id"]).json()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    for kind in ("service_record", "receipt", "redemption_proof"):
        uploaded = client.post(
            f"{API}/redemptions/{redemption['id']}/evidence",
            data={"kind": kind},
            files={"file": (f"{kind}.png", png + kind.encode(), "image/png")},
            headers={"Authorization": f"Bearer {station['api_key']}"},
        )
        assert uploaded.status_code == 201, uploaded.text
    set_clock(client, "2026-04-02T10:00:00+08:00")
    civil = staff(client, "district_civil", "110105")
    batch = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-03"}, headers=civil.headers
    )
    assert batch.status_code == 201, batch.text
    signed_in_staff(client, "district_civil", "110105")
    page = client.get(f"{DASHBOARD}/settlements/{batch.json()['id']}/providers/{station['id']}")
    assert page.status_code == 200, page.text
    assert "缺少凭证</span> 身份证或养老助残卡照片" in page.text
