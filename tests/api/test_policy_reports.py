"""Issue 12, reports and evidence the text asks for: the annual work summary due 12/10 (三(三)) with
the record of each report's submission, and the photo of the ID card or 养老助残卡 (四(三)) as an
evidence kind of its own, over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.api.test_quarterly_report import build_quarter
from tests.api.test_statements import XLSX_MEDIA_TYPE
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    make_provider,
    redeem,
    set_clock,
    staff,
)

ANNUAL = f"{API}/reports/annual"
SUBMISSIONS = f"{API}/reports/submissions"


def annual(client, headers=None, **params) -> dict:
    response = client.get(
        ANNUAL, params={"district_code": "110105", "year": 2026, **params}, headers=headers or admin_headers()
    )
    assert response.status_code == 200, response.text
    return response.json()


def submit(client, headers, **body):
    return client.post(SUBMISSIONS, json={"district_code": "110105", "year": 2026, **body}, headers=headers)


# --- 7. the annual work summary and submissions ----------------------------------------------------
def test_the_annual_summary_adds_the_months_like_the_quarterly_report(client):
    jan = build_quarter(client)  # January settled to payment, February issued, one death recorded
    set_clock(client, "2026-03-20T10:00:00+08:00")
    body = annual(client, headers=bearer(jan.civil))
    assert (body["district_code"], body["year"], body["due_on"]) == ("110105", 2026, "2026-12-10")
    assert [m["month"] for m in body["months"]] == ["2026-01", "2026-02", "2026-03"]  # begun so far
    quarterly = client.get(
        f"{API}/reports/quarterly",
        params={"district_code": "110105", "year": 2026, "quarter": 1},
        headers=admin_headers(),
    ).json()
    assert body["months"] == quarterly["months"]
    assert body["total"] == quarterly["total"]  # the same months: the same totals
    assert body["supervision"]["deaths_recorded"] == 1
    assert body["elders_by_status"] == {"approved": 1, "suspended": 1}
    assert sum(body["providers_listed"].values()) >= 1

    xlsx = client.get(
        f"{ANNUAL}.xlsx", params={"district_code": "110105", "year": 2026}, headers=admin_headers()
    )
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX_MEDIA_TYPE
    assert "annual_110105_2026.xlsx" in xlsx.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["工作总结"]
    rows = {row[0].value: [c.value for c in row[1:]] for row in sheet.iter_rows() if row and row[0].value}
    assert rows["报告期"][0] == "2026年(截至生成时)"
    assert rows["指标"][:4] == ["2026-01", "2026-02", "2026-03", "全年"]
    assert rows["登记身故老年人数"][0] == 1


def test_reports_are_submitted_once_with_who_when_and_whether_late(client):
    civil = staff(client, "district_civil", "110105")
    finance = staff(client, "district_finance", "110105")
    set_clock(client, "2026-03-26T09:00:00+08:00")  # the day after Q1's due day
    q1 = submit(client, civil.headers, kind="quarterly", quarter=1, summary="一季度自查:进展顺利")
    assert q1.status_code == 201, q1.text
    assert q1.json()["late"] is True and q1.json()["due_on"] == "2026-03-25"
    assert q1.json()["submitted_by"] == civil.actor
    assert_problem(
        submit(client, finance.headers, kind="quarterly", quarter=1), 409, "REPORT_ALREADY_SUBMITTED"
    )
    assert_problem(submit(client, civil.headers, kind="quarterly", quarter=2), 409, "REPORT_NOT_DUE")
    assert_problem(submit(client, civil.headers, kind="annual", quarter=1), 422, "VALIDATION_ERROR")
    assert_problem(submit(client, civil.headers, kind="quarterly"), 422, "VALIDATION_ERROR")

    set_clock(client, "2026-12-10T18:00:00+08:00")  # the due day itself is in time
    summary = submit(client, finance.headers, kind="annual", summary="全年工作总结")
    assert summary.status_code == 201 and summary.json()["late"] is False, summary.text

    schedule = client.get(SUBMISSIONS, params={"year": 2026}, headers=civil.headers)
    assert schedule.status_code == 200, schedule.text
    rows = {(r["kind"], r["quarter"]): r for r in schedule.json()}
    assert set(rows) == {
        ("quarterly", 1),
        ("quarterly", 2),
        ("quarterly", 3),
        ("quarterly", 4),
        ("annual", None),
    }
    assert rows[("quarterly", 1)]["submission"]["late"] is True
    assert rows[("quarterly", 2)]["overdue"] is True and rows[("quarterly", 2)]["submitted"] is False
    assert rows[("quarterly", 4)]["overdue"] is False  # due 12/25
    assert rows[("annual", None)]["submission"]["summary"] == "全年工作总结"
    city = client.get(SUBMISSIONS, params={"year": 2026}, headers=admin_headers()).json()
    assert len(city) == 5 * len({r["district_code"] for r in city}) and len(city) > 5


def test_who_may_submit_and_read_reports(client):
    set_clock(client, "2026-04-01T09:00:00+08:00")
    haidian = staff(client, "district_civil", "110108")
    auditor = staff(client, "auditor")
    provider = make_provider(client)
    assert_problem(submit(client, haidian.headers, kind="quarterly", quarter=1), 403, "DISTRICT_OUT_OF_SCOPE")
    assert_problem(submit(client, auditor.headers, kind="quarterly", quarter=1), 403, "FORBIDDEN")
    assert_problem(submit(client, bearer(provider["api_key"]), kind="quarterly", quarter=1), 403, "FORBIDDEN")
    assert_problem(
        client.get(ANNUAL, params={"district_code": "110105", "year": 2026}, headers=haidian.headers), 403
    )
    assert annual(client, headers=auditor.headers)["district_code"] == "110105"


# --- 8. the photo of the ID card or 养老助残卡 ----------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch):
    from app.config import get_settings

    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(tmp_path / "evidence"))
    get_settings.cache_clear()
    return tmp_path / "evidence"


def test_the_id_photo_is_its_own_kind_and_completes_a_home_service(client, evidence_dir):
    station = make_provider(client)
    elder = approved_elder(client)
    redemption = redeem(client, station, elder["id"]).json()
    headers = bearer(station["api_key"])

    def upload(kind: str):
        return client.post(
            f"{API}/redemptions/{redemption['id']}/evidence",
            data={"kind": kind},
            files={"file": (f"{kind}.png", PNG + kind.encode(), "image/png")},
            headers=headers,
        )

    for kind in ("service_record", "receipt", "redemption_proof"):
        assert upload(kind).status_code == 201
    set_clock(client, "2026-04-02T09:00:00+08:00")
    civil = staff(client, "district_civil", "110105")
    batch = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-03"}, headers=civil.headers
    )
    assert batch.status_code == 201, batch.text
    assert batch.json()["missing_evidence"] == 1
    missing = client.get(
        f"{API}/settlements/{batch.json()['id']}/missing-evidence", headers=civil.headers
    ).json()
    assert missing["items"][0]["missing_kinds"] == ["id_photo"]
    photo = upload("id_photo")
    assert photo.status_code == 201 and photo.json()["kind"] == "id_photo"
    assert (
        client.get(f"{API}/settlements/{batch.json()['id']}", headers=civil.headers).json()[
            "missing_evidence"
        ]
        == 0
    )
