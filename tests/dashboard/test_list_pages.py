"""List pages of issue 15 over HTTP: redemptions filtered server-side and paged, reached from a
provider's row; exports of the current filter (CSV with a totals row, XLSX); masked names and ID
numbers that are matched but never shown. The clock starts at 2026-03-16T10:00+08:00.
"""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from app.config import get_settings
from tests.conftest import admin_headers
from tests.dashboard.pages import DASHBOARD, signed_in_staff
from tests.factories import API, clock_now, elder_body, id_number, make_provider, redeem, set_clock

CHAOYANG, HAIDIAN = "110105", "110108"


def elder_named(client, name: str, *, birth: str, district_code: str = CHAOYANG) -> tuple[dict, str]:
    """An approved elder with this name, approved when March began; and its full ID number."""
    restore = clock_now(client)
    set_clock(client, "2026-03-01T00:00:00+08:00")
    number = id_number(region=district_code, birth=birth)
    body = {**elder_body(district_code=district_code, number=number), "name": name}
    created = client.post(f"{API}/elders", json=body, headers=admin_headers())
    assert created.status_code == 201, created.text
    approved = client.post(f"{API}/elders/{created.json()['id']}/approve", headers=admin_headers())
    assert approved.status_code == 200, approved.text
    set_clock(client, restore)
    return approved.json(), number


def posted(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def get(client, path: str, **params):
    return client.get(f"{DASHBOARD}{path}", params=params, follow_redirects=False)


def page(client, path: str, **params) -> str:
    response = get(client, path, **params)
    assert response.status_code == 200, response.text
    return response.text


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def march_data(client) -> dict:
    """Two providers, two elders, five March redemptions (one reversed)."""
    station = make_provider(client, name="朝阳区幸福驿站")
    company = make_provider(client, kind="home_care_company", name="朝阳区安心护理公司")
    wang, wang_number = elder_named(client, "王建国", birth="19450101")
    li, _ = elder_named(client, "李秀英", birth="19460202")
    made = {
        "bath": posted(
            redeem(
                client, station, wang["id"], item=11, amount_fen=30000, served_at="2026-03-02T09:00:00+08:00"
            )
        ),  # fmt: skip
        "meal": posted(
            redeem(
                client, station, wang["id"], item=7, amount_fen=1500, served_at="2026-03-03T11:00:00+08:00"
            )
        ),  # fmt: skip
        "meal2": posted(
            redeem(client, station, li["id"], item=7, amount_fen=1800, served_at="2026-03-05T11:00:00+08:00")
        ),  # fmt: skip
        "care": posted(
            redeem(
                client, company, li["id"], item=11, amount_fen=20000, served_at="2026-03-10T15:00:00+08:00"
            )
        ),  # fmt: skip
    }
    return {
        "station": station,
        "company": company,
        "wang": wang,
        "wang_number": wang_number,
        "li": li,
        **made,
    }


def test_redemptions_are_filtered_server_side_and_names_are_masked(client):
    signed_in_staff(client, "district_civil", CHAOYANG)
    d = march_data(client)
    html = page(client, "/redemptions", month="2026-03")
    text = text_of(html)
    assert "2026-03 核销记录(共 4 笔)" in text
    assert "消费合计 533.00 元" in text
    assert "王** " in text and "李** " in text and "王建国" not in html and "李秀英" not in html
    assert "朝阳区安心护理公司" in text and "11 上门洗浴" in text

    # By provider, then by item: the links of the rows carry the filter.
    by_provider = page(client, "/redemptions", month="2026-03", provider=d["station"]["id"])
    assert "(共 3 笔)" in text_of(by_provider)
    assert f"provider={d['station']['id']}&amp;item=7" in by_provider
    assert f'<option value="{d["station"]["id"]}" selected>朝阳区幸福驿站</option>' in by_provider
    by_item = text_of(page(client, "/redemptions", month="2026-03", provider=d["station"]["id"], item=7))
    assert "(共 2 笔)" in by_item and "上门洗浴" not in by_item.split("核销记录(共")[1]

    # Amount range in yuan, date range, status, name search.
    assert "(共 2 笔)" in text_of(page(client, "/redemptions", month="2026-03", amount_min="16", amount_max="250"))  # fmt: skip
    assert "(共 2 笔)" in text_of(page(client, "/redemptions", date_from="2026-03-03", date_to="2026-03-05"))  # fmt: skip
    assert "(共 2 笔)" in text_of(page(client, "/redemptions", month="2026-03", elder="秀英"))
    assert "(共 0 笔)" in text_of(page(client, "/redemptions", month="2026-03", status="reversed"))
    assert "(共 4 笔)" in text_of(page(client, "/redemptions", month="2026-03", evidence="missing"))
    assert "(共 0 笔)" in text_of(page(client, "/redemptions", month="2026-02"))
    # The form as a browser submits it: every field, blanks included.
    blanks = dict.fromkeys(
        ("elder", "provider", "item", "date_from", "date_to", "amount_min", "amount_max"), ""
    )
    assert "(共 4 笔)" in text_of(page(client, "/redemptions", month="2026-03", status="all", **blanks))

    # A full ID number finds the elder; the page and the URL show only the masked number.
    found = get(client, "/redemptions", month="2026-03", elder=d["wang_number"])
    assert found.status_code == 303 and d["wang_number"] not in found.headers["location"]
    assert f"elder_id={d['wang']['id']}" in found.headers["location"]
    html = client.get(found.headers["location"]).text
    assert "(共 2 笔)" in text_of(html) and d["wang_number"] not in html
    assert d["wang_number"][:6] + "********" + d["wang_number"][-4:] in html
    unknown = get(client, "/redemptions", month="2026-03", elder=id_number(region=CHAOYANG, birth="19300101"))
    assert unknown.status_code == 303 and "elder_id=none" in unknown.headers["location"]
    assert "该身份证号未匹配到本区老年人" in client.get(unknown.headers["location"]).text

    for params in (
        {"amount_min": "abc"},
        {"amount_min": "5", "amount_max": "1"},
        {"date_from": "2026-03-05", "date_to": "2026-03-01"},
        {"date_from": "2025-01-01", "date_to": "2026-03-01"},
        {"status": "gone"},
        {"provider": "not-an-id"},
        {"month": "2026-13"},
        {"page": "0"},
        {"item": "x"},
        {"date_from": "2026-3-1"},
    ):
        assert get(client, "/redemptions", **params).status_code == 422, params

    # Another district sees none of it.
    signed_in_staff(client, "district_civil", HAIDIAN)
    assert "(共 0 笔)" in text_of(page(client, "/redemptions", month="2026-03"))
    assert get(client, "/redemptions", district=CHAOYANG).status_code == 404


def test_redemptions_are_paginated(client, monkeypatch):
    monkeypatch.setenv("VOUCHER_DASHBOARD__PAGE_SIZE", "10")
    get_settings.cache_clear()
    signed_in_staff(client, "district_finance", CHAOYANG)
    station = make_provider(client, name="朝阳区幸福驿站")
    elder, _ = elder_named(client, "王建国", birth="19450101")
    for minute in range(11):
        posted(redeem(client, station, elder["id"], item=7, amount_fen=1100 + minute, served_at=f"2026-03-16T08:{minute:02d}:00+08:00"))  # fmt: skip
    first = text_of(page(client, "/redemptions", month="2026-03"))
    assert "第 1–10 条,共 11 条(第 1/2 页)" in first and "下一页" in first
    assert "11.10" in first and "11.00" not in first  # newest first
    html = page(client, "/redemptions", month="2026-03", page=2)
    assert "第 11–11 条,共 11 条(第 2/2 页)" in text_of(html) and "11.00" in text_of(html)
    assert 'href="/dashboard/redemptions?page=1&amp;month=2026-03"' in html


def test_redemption_exports_follow_the_filter_with_totals_and_no_id_numbers(client):
    signed_in_staff(client, "district_civil", CHAOYANG)
    d = march_data(client)
    response = get(client, "/redemptions/export.csv", month="2026-03", provider=d["station"]["id"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    body = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["服务时间", "服务机构", "老年人", "服务项目"]
    assert len(rows) == 1 + 3 + 1
    assert rows[-1][0] == "合计(3 笔)" and rows[-1][4] == "333.00"
    assert "王建国" not in body and d["wang_number"] not in body and "王**" in body

    xlsx = get(client, "/redemptions/export.xlsx", month="2026-03", item=11)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "服务时间" and len(values) == 1 + 2 + 1
    assert values[-1][0] == "合计(2 笔)" and str(values[-1][4]) == "500"
    flat = " ".join(str(v) for row in values for v in row if v is not None)
    assert "李秀英" not in flat and d["wang_number"] not in flat

    moved = get(client, "/redemptions/export.csv", month="2026-03", elder=d["wang_number"])
    assert moved.status_code == 303 and d["wang_number"] not in moved.headers["location"]
    assert get(client, "/redemptions/export.pdf").status_code == 404


# --- providers -----------------------------------------------------------------------------------


def test_providers_are_searched_and_lead_to_their_redemptions(client):
    signed_in_staff(client, "district_civil", CHAOYANG)
    d = march_data(client)
    make_provider(client, kind="institution", name="朝阳区福寿养老院")
    html = page(client, "/providers")
    assert f'href="/dashboard/redemptions?provider={d["station"]["id"]}"' in html
    text = text_of(page(client, "/providers", q="驿站"))
    assert "朝阳区幸福驿站" in text and "安心护理" not in text and "福寿" not in text
    text = text_of(page(client, "/providers", q=d["company"]["credit_code"]))
    assert "朝阳区安心护理公司" in text and "朝阳区幸福驿站" not in text
    text = text_of(page(client, "/providers", kind="institution"))
    assert "朝阳区福寿养老院" in text and "驿站" not in text.split("核销记录")[-1]
    assert "全部(3)" in text_of(page(client, "/providers")) and "在册(1)" in text
    assert get(client, "/providers", kind="shop").status_code == 422

    response = get(client, "/providers/export.csv", q="朝阳区")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["服务机构", "类型", "名单状态", "统一社会信用代码"]
    assert sorted(r[0] for r in rows[1:]) == ["朝阳区安心护理公司", "朝阳区幸福驿站", "朝阳区福寿养老院"]
    xlsx = get(client, "/providers/export.xlsx", kind="station")
    values = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in values] == ["服务机构", "朝阳区幸福驿站"]

    signed_in_staff(client, "district_civil", HAIDIAN)
    assert "朝阳区幸福驿站" not in page(client, "/providers", q="驿站")
    assert "朝阳区幸福驿站" not in get(client, "/providers/export.csv").content.decode("utf-8-sig")


# --- anomalies -----------------------------------------------------------------------------------


def test_anomalies_are_filtered_by_provider_and_exported(client):
    signed_in_staff(client, "district_civil", CHAOYANG)
    station = make_provider(client, name="朝阳区幸福驿站")
    company = make_provider(client, kind="home_care_company", name="朝阳区安心护理公司")
    wang, number = elder_named(client, "王建国", birth="19450101")
    posted(redeem(client, station, wang["id"], item=11, amount_fen=40001, served_at="2026-03-16T09:00:00+08:00"))  # fmt: skip
    posted(redeem(client, company, wang["id"], item=11, amount_fen=40002, served_at="2026-03-16T07:00:00+08:00"))  # fmt: skip
    assert "待处理的预警(共 2 条)" in text_of(page(client, "/anomalies"))
    text = text_of(page(client, "/anomalies", provider=station["id"]))
    assert "(共 1 条)" in text and "朝阳区幸福驿站 王** 400.01" in text and "400.02" not in text
    assert get(client, "/anomalies", provider="x").status_code == 422

    body = get(client, "/anomalies/export.csv", status="all").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "预警规则" and len(rows) == 4
    assert rows[-1][0] == "合计(2 条)" and rows[-1][5] == "800.03"
    assert "王建国" not in body and number not in body
    xlsx = get(client, "/anomalies/export.xlsx", provider=company["id"])
    values = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert len(values) == 3 and values[1][3] == "朝阳区安心护理公司"
