"""Settlement pages (issue 7, item 3): a district's March 2026 settled through the dashboard's
forms only — build, 核减 on the drill-down, civil submission, finance return and approval,
payments — then the downloads, and who may see and do what.

March data (built over the API, clock 2026-03-16), all elders of 朝阳区 (110105):

| elder | provider            | item, amount (fen) | deduction (fen) |
|-------|---------------------|--------------------|-----------------|
| e1    | 朝阳康乐照护中心    | 2, 200000          | 80000           |
| e2    | 朝阳康乐照护中心    | 2, 100000          | 40000           |
| e2    | 朝阳阳光养老驿站    | 11, 24690          | 12345           |
| e3    | 朝阳阳光养老驿站    | 11, 30000          | 15000 (rejected at civil review) |

Station 273.45 yuan, institution 1,200.00 yuan, batch 1,473.45 yuan; after the rejection the
station is owed 123.45 and the batch 1,323.45.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import openpyxl
import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import create_app
from tests.conftest import admin_headers
from tests.dashboard.pages import DASHBOARD, csrf_token, flash_of, post_form, signed_in_staff
from tests.factories import API, approved_elder, make_provider, redeem, set_clock, staff

DISTRICT = "110105"
OTHER = "110108"
STATION = "朝阳阳光养老驿站"
INSTITUTION = "朝阳康乐照护中心"
REASON = "服务签到记录与核销时间不符"
APRIL = "2026-04-02T10:00:00+08:00"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class March:
    station: dict
    institution: dict
    rejected_id: str  # e3's redemption at the station


def _redeem(client, provider: dict, elder: dict, item: int, amount_fen: int) -> dict:
    response = redeem(client, provider, elder["id"], item=item, amount_fen=amount_fen)
    assert response.status_code == 201, response.text
    return response.json()


def build_march(client) -> March:
    station = make_provider(client, kind="station", district_code=DISTRICT, name=STATION)
    institution = make_provider(client, kind="institution", district_code=DISTRICT, name=INSTITUTION)
    e1, e2, e3 = (approved_elder(client, district_code=DISTRICT) for _ in range(3))
    deductions = [
        _redeem(client, institution, e1, 2, 200000)["deduction_fen"],
        _redeem(client, institution, e2, 2, 100000)["deduction_fen"],
        _redeem(client, station, e2, 11, 24690)["deduction_fen"],
    ]
    rejected = _redeem(client, station, e3, 11, 30000)
    assert deductions + [rejected["deduction_fen"]] == [80000, 40000, 12345, 15000]
    set_clock(client, APRIL)
    return March(station, institution, rejected["id"])


def api_batch(client, batch_id: str) -> dict:
    response = client.get(f"{API}/settlements/{batch_id}", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def page(client, path: str) -> str:
    """A page's HTML; every form on it carries the session's CSRF token (the same, non-empty)."""
    response = client.get(f"{DASHBOARD}{path}")
    assert response.status_code == 200, response.text
    tokens = set(re.findall(r'name="csrf_token" value="([^"]*)"', response.text))
    assert len(tokens) == 1 and "" not in tokens, tokens
    return response.text


def text_of(html: str) -> str:
    """The page's text without tags and with runs of whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def line_row(html: str, name: str) -> str:
    """The text of the lines-table row of provider ``name``."""
    rows = [text_of(row) for row in re.findall(r"<tr>(.*?)</tr>", html, re.S) if f">{name}</a>" in row]
    assert len(rows) == 1, rows
    return rows[0]


def submit(client, path: str, data: dict, *, from_page: str) -> str | None:
    """Post a form from ``from_page`` (its Referer) and return the flash the redirect carries."""
    response = client.post(
        f"{DASHBOARD}{path}",
        data={"csrf_token": csrf_token(client, from_page), **data},
        headers={"referer": f"http://testserver{DASHBOARD}{from_page}"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return flash_of(response)


def submit_on_batch(client, batch_id: str, action: str, data: dict) -> str | None:
    """Post a form of the batch page (``action``: the path below the batch's); its flash."""
    return submit(client, f"/settlements/{batch_id}/{action}", data, from_page=f"/settlements/{batch_id}")


def pay(client, batch_id: str, provider: dict, amount: str, reference: str) -> str | None:
    """Register a payment to ``provider`` with the batch page's form; its flash."""
    payment = {"provider_id": provider["id"], "amount": amount, "reference": reference, "confirm": "yes"}
    return submit_on_batch(client, batch_id, "payments", payment)


def test_a_month_settled_through_the_dashboard(client):
    march = build_march(client)
    signed_in_staff(client, "district_civil", DISTRICT)

    listing = page(client, "/settlements")
    assert "本区尚未生成结算批次" in listing
    assert 'name="month" type="month" value="2026-03"' in listing  # last month by default

    # Build: without confirmation nothing is built; with it, the batch page.
    refused = submit(client, "/settlements", {"month": "2026-03"}, from_page="/settlements")
    assert "CONFIRMATION_REQUIRED" in refused
    response = post_form(
        client, "/settlements", {"month": "2026-03", "confirm": "yes"}, from_page="/settlements"
    )
    assert response.status_code == 303, response.text
    batch_id = response.headers["location"].rsplit("/", 1)[1]
    assert response.headers["location"] == f"{DASHBOARD}/settlements/{batch_id}"
    assert flash_of(response) == "已生成朝阳区 2026-03 结算批次:核销 4 笔,应付 1,473.45 元"
    detail = page(client, f"/settlements/{batch_id}")
    assert "已生成朝阳区 2026-03 结算批次" in detail  # the flash, shown once
    assert line_row(detail, STATION).split() == [
        STATION,
        "2",
        "273.45",
        "0.00",
        "273.45",
        "0.00",
        "273.45",
        "未支付",
        "—",
        "—",
    ]
    assert line_row(detail, INSTITUTION).split()[1:5] == ["2", "1,200.00", "0.00", "1,200.00"]
    assert "提交财政复审" in detail and "生成结算批次" in text_of(detail)  # the history's first event
    listing = text_of(page(client, "/settlements"))
    assert "2026-03 民政审核 区民政审核 2026-04-15 剩余 8 个工作日 4 1,473.45 1,473.45" in listing

    # 核减 on the station's drill-down page.
    drill = f"/settlements/{batch_id}/providers/{march.station['id']}"
    rows = page(client, drill)
    assert rows.count('name="redemption_id"') == 2 and "李**" in rows
    rejections = f"/settlements/{batch_id}/rejections"
    rejection = {"provider_id": march.station["id"], "redemption_id": march.rejected_id, "confirm": "yes"}
    refused = submit(client, rejections, rejection, from_page=drill)
    assert "请填写核减原因" in refused
    flash = submit(client, rejections, {**rejection, "reason": REASON}, from_page=drill)
    assert flash == "已核减 1 笔,核减金额 150.00 元,本批次应付 1,323.45 元"
    rows = page(client, drill)
    assert rows.count('name="redemption_id"') == 1
    assert f"已核减</span> {REASON}" in rows
    detail = page(client, f"/settlements/{batch_id}")
    assert line_row(detail, STATION).split()[1:7] == ["2", "273.45", "150.00", "123.45", "0.00", "123.45"]
    assert "民政审核核减" in detail and REASON in detail
    event = api_batch(client, batch_id)["events"][-1]
    assert (event["action"], event["from_status"], event["to_status"]) == (
        "reject",
        "civil_review",
        "civil_review",
    )
    assert event["details"] == {
        "rejections": [{"redemption_id": march.rejected_id, "reason": REASON}],
        "rejected_fen": 15000,
    }

    # Submission refused without the confirmation box: nothing changes.
    refused = submit_on_batch(client, batch_id, "civil-review", {})
    assert "CONFIRMATION_REQUIRED" in refused
    assert api_batch(client, batch_id)["status"] == "civil_review"
    flash = submit_on_batch(client, batch_id, "civil-review", {"confirm": "yes"})
    assert flash.startswith("已提交区财政局复审,应付 1,323.45 元")
    assert "/rejections" not in page(client, drill)  # no more 核减 once submitted
    refused = submit(client, rejections, {**rejection, "reason": REASON}, from_page=drill)
    assert "INVALID_STATE" in refused and api_batch(client, batch_id)["totals"]["rejected_fen"] == 15000

    # Finance, in a browser of its own: no civil form; returns with a note, then approves.
    with TestClient(create_app()) as finance:
        signed_in_staff(finance, "district_finance", DISTRICT)
        seen = page(finance, f"/settlements/{batch_id}")
        assert "复审通过" in seen and "/civil-review" not in seen and "登记支付" not in seen
        refused = submit_on_batch(
            finance, batch_id, "finance-review", {"decision": "return", "confirm": "yes"}
        )
        assert "退回民政重审时须填写退回意见" in refused
        flash = submit_on_batch(
            finance,
            batch_id,
            "finance-review",
            {"decision": "return", "note": "请补充驿站服务记录说明", "confirm": "yes"},
        )
        assert flash == "已退回区民政局重新审核"
        detail = text_of(page(client, f"/settlements/{batch_id}"))
        assert "财政复审退回" in detail and "退回意见:请补充驿站服务记录说明" in detail
        assert api_batch(client, batch_id)["status"] == "civil_review"
        submit_on_batch(client, batch_id, "civil-review", {"confirm": "yes"})
        flash = submit_on_batch(
            finance, batch_id, "finance-review", {"decision": "approve", "confirm": "yes"}
        )
        assert flash.startswith("财政复审已通过,请于 2026-04-08 前完成支付")

    # Payments: a wrong amount is refused and changes nothing; then each line is paid.
    detail = page(client, f"/settlements/{batch_id}")
    assert 'value="123.45"' in detail and 'value="1,200.00"' in detail
    before = api_batch(client, batch_id)
    refused = pay(client, batch_id, march.station, "123.40", "ICBC-0001")
    assert "AMOUNT_MISMATCH" in refused and "应付 12345 分" in refused
    assert api_batch(client, batch_id)["lines"] == before["lines"]
    assert len(api_batch(client, batch_id)["events"]) == len(before["events"])
    refused = pay(client, batch_id, march.station, "12.3.4", "ICBC-0001")
    assert "VALIDATION_ERROR" in refused and "支付金额格式不正确" in refused
    flash = pay(client, batch_id, march.station, "123.45", "ICBC-0001")
    assert flash == f"已登记向{STATION}支付 123.45 元"
    flash = pay(client, batch_id, march.institution, "1,200.00", "ICBC-0002")
    assert flash == f"已登记向{INSTITUTION}支付 1,200.00 元;全部服务机构已支付,本批次结算完成"
    settled = api_batch(client, batch_id)
    assert settled["status"] == "settled"
    assert {line["payment_reference"]: line["payment_due_fen"] for line in settled["lines"]} == {
        "ICBC-0001": 12345,
        "ICBC-0002": 120000,
    }
    detail = page(client, f"/settlements/{batch_id}")
    assert line_row(detail, INSTITUTION).split()[7:] == ["已支付", "2026-04-02", "ICBC-0002"]
    assert "登记支付</button>" not in detail and "已结算" in detail
    verify = client.get(f"{API}/ledger/verify", headers=admin_headers())
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text

    # Downloads with the session cookie.
    csv_file = client.get(f"{DASHBOARD}/settlements/{batch_id}/statement.csv")
    assert csv_file.status_code == 200
    assert csv_file.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        csv_file.content
        == client.get(f"{API}/settlements/{batch_id}/statement.csv", headers=admin_headers()).content
    )
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert {(r[0], r[8], r[9], r[10], r[11]) for r in rows[1:]} == {
        (INSTITUTION, "800.00", "否", "", "800.00"),
        (INSTITUTION, "400.00", "否", "", "400.00"),
        (STATION, "123.45", "否", "", "123.45"),
        (STATION, "150.00", "是", REASON, "0.00"),
    }
    xlsx_file = client.get(f"{DASHBOARD}/settlements/{batch_id}/statement.xlsx")
    assert xlsx_file.status_code == 200 and xlsx_file.headers["content-type"] == XLSX
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_file.content))
    summary = {row[0]: row[1:] for row in workbook["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert float(summary["应付金额(元)"][0]) == 1323.45
    assert float(summary[INSTITUTION][4]) == 1200.00 and float(summary[STATION][4]) == 123.45
    statement = client.get(f"{DASHBOARD}{drill}/statement.csv")
    assert statement.status_code == 200 and statement.headers["content-type"] == "text/csv; charset=utf-8"
    assert STATION in statement.content.decode("utf-8-sig") and REASON in statement.content.decode(
        "utf-8-sig"
    )
    statement = client.get(f"{DASHBOARD}{drill}/statement.xlsx")
    assert statement.status_code == 200 and statement.headers["content-type"] == XLSX
    assert openpyxl.load_workbook(io.BytesIO(statement.content))["汇总"]["B3"].value == STATION


@pytest.fixture
def built(client) -> tuple[March, str]:
    """March built into a batch over the API (the page tests below need no review flow)."""
    march = build_march(client)
    civil = staff(client, "district_civil", DISTRICT)
    response = client.post(
        f"{API}/settlements", json={"district_code": DISTRICT, "month": "2026-03"}, headers=civil.headers
    )
    assert response.status_code == 201, response.text
    return march, response.json()["id"]


def test_other_districts_and_forged_forms_are_refused(client, built):
    march, batch_id = built
    drill = f"/settlements/{batch_id}/providers/{march.station['id']}"
    signed_in_staff(client, "district_civil", OTHER)
    for path in (
        f"/settlements/{batch_id}",
        drill,
        f"/settlements/{batch_id}/statement.csv",
        f"/settlements/{batch_id}/statement.xlsx",
        f"{drill}/statement.csv",
        f"{drill}/statement.xlsx",
    ):
        response = client.get(f"{DASHBOARD}{path}")
        assert response.status_code == 404, path
        assert "未找到该结算批次" in response.text
    assert "/settlements/" + batch_id not in page(client, "/settlements")
    refused = submit(
        client, f"/settlements/{batch_id}/civil-review", {"confirm": "yes"}, from_page="/settlements"
    )
    assert "NOT_FOUND" in refused

    with TestClient(create_app()) as own:
        signed_in_staff(own, "district_civil", DISTRICT)
        before = api_batch(client, batch_id)
        forged = own.post(
            f"{DASHBOARD}/settlements/{batch_id}/civil-review",
            data={"confirm": "yes"},
            follow_redirects=False,
        )
        assert forged.status_code == 303 and "CSRF_REJECTED" in flash_of(forged)
        forged = own.post(
            f"{DASHBOARD}/settlements/{batch_id}/rejections",
            data={
                "confirm": "yes",
                "provider_id": march.station["id"],
                "redemption_id": march.rejected_id,
                "reason": "x",
                "csrf_token": "forged",
            },
            follow_redirects=False,
        )
        assert forged.status_code == 303 and "CSRF_REJECTED" in flash_of(forged)
        assert api_batch(client, batch_id) == before


def test_roles_see_only_their_actions_and_bad_input_is_a_page(client, built, monkeypatch):
    march, batch_id = built
    drill = f"/settlements/{batch_id}/providers/{march.station['id']}"
    signed_in_staff(client, "district_finance", DISTRICT)
    detail = page(client, f"/settlements/{batch_id}")
    assert "/civil-review" not in detail and "复审通过" not in detail  # finance: nothing to do yet
    assert 'name="redemption_id"' not in page(
        client, f"/settlements/{batch_id}/providers/{march.station['id']}"
    )
    assert "生成结算批次</button>" not in page(client, "/settlements")
    refused = submit_on_batch(client, batch_id, "civil-review", {"confirm": "yes"})
    assert "FORBIDDEN" in refused
    refused = submit(client, "/settlements", {"month": "2026-02", "confirm": "yes"}, from_page="/settlements")
    assert "FORBIDDEN" in refused
    assert api_batch(client, batch_id)["status"] == "civil_review"

    for path, status in (
        ("/settlements/not-a-batch", 404),
        (f"/settlements/{batch_id}/providers/not-a-provider", 404),
        (f"{drill}?page=abc", 422),
        (f"{drill}?page=0", 422),
        (f"/settlements?district={OTHER}", 404),
    ):
        assert client.get(f"{DASHBOARD}{path}").status_code == status, path

    # The drill-down pages (one row a page here); a page past the end shows the last one.
    monkeypatch.setattr(get_settings().dashboard, "page_size", 1)
    first, last = text_of(page(client, drill)), text_of(page(client, f"{drill}?page=99"))
    assert "第 1 / 2 页(每页 1 笔,共 2 笔) 下一页" in first and "上一页" not in first
    assert "上一页 第 2 / 2 页(每页 1 笔,共 2 笔)" in last and "下一页" not in last
    amounts = {amount for text in (first, last) for amount in ("246.90", "300.00") if f" {amount} " in text}
    assert amounts == {"246.90", "300.00"} and ("246.90" in first) != ("246.90" in last)

    # A city admin picks the district; the picker on a batch page goes to that district's list.
    with TestClient(create_app()) as admin:
        signed_in_staff(admin, "city_admin")
        assert f"/settlements/{batch_id}" in page(admin, f"/settlements?district={DISTRICT}")
        moved = admin.get(f"{DASHBOARD}/settlements/{batch_id}?district={OTHER}", follow_redirects=False)
        assert (
            moved.status_code == 303
            and moved.headers["location"] == f"{DASHBOARD}/settlements?district={OTHER}"
        )
        assert "提交财政复审" in page(admin, f"/settlements/{batch_id}")
