"""The list pages in a real browser (Chromium, headless, axe), over the demo data: an officer
opens a provider's redemptions from the providers page, narrows them to one item, exports them,
and reads the anomalies as a compact table with a detail page."""

from __future__ import annotations

import csv
import io
import re

import openpyxl

from tests.e2e.browser import assert_accessible, screenshot, sign_in

CIVIL = "demo-chaoyang-civil"
ID_NUMBER = re.compile(r"\d{17}[\dX]")


def test_a_providers_redemptions_by_item_are_opened_and_exported(browser, demo_server, artifacts):
    base = demo_server.base_url
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, base, CIVIL)

    page.goto(f"{base}/dashboard/providers")
    assert_accessible(page, "providers")
    page.get_by_label("机构类型").select_option("station")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/providers?*kind=station*")
    first = page.locator("table.providers tbody tr").first
    provider = first.locator("th").inner_text().strip()
    first.get_by_role("link", name=re.compile("查看核销")).click()
    page.wait_for_url("**/dashboard/redemptions?provider=*")
    chosen = page.locator("#f-provider option[selected]")
    assert chosen.count() == 1, page.locator("#f-provider").inner_html()[:2000] + page.url
    assert chosen.inner_text() == provider

    # The demo's current month (April) may be young: look at March, a full month.
    page.get_by_label("所属月份").fill("2026-03")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/redemptions?*month=2026-03*")
    rows = page.locator("table.redemptions tbody tr")
    assert rows.count() > 0 and "没有符合条件" not in rows.first.inner_text()
    # Narrow to the first row's item by its link.
    item_link = rows.first.locator("td").nth(3).get_by_role("link")
    item = item_link.inner_text().strip()
    item_link.click()
    page.wait_for_url("**/redemptions?*item=*")
    cells = page.locator("table.redemptions tbody tr td:nth-child(4)")
    assert {c.strip() for c in cells.all_inner_texts()} == {item}
    assert {c.strip() for c in page.locator("table.redemptions tbody tr td:nth-child(2)").all_inner_texts()} == {provider}  # fmt: skip
    heading = page.locator("#list-heading").inner_text()
    count = int(re.search(r"共 ([\d,]+) 笔", heading).group(1).replace(",", ""))
    assert ID_NUMBER.search(page.content()) is None
    assert_accessible(page, "redemptions")
    screenshot(page, artifacts, "20-redemptions-provider-item")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV").click()
    csv_path = artifacts / csv_download.value.suggested_filename
    csv_download.value.save_as(csv_path)
    text = csv_path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "服务时间" and len(rows) == count + 2
    assert rows[-1][0] == f"合计({count} 笔)"
    assert {r[1] for r in rows[1:-1]} == {provider} and {r[3] for r in rows[1:-1]} == {item}
    assert ID_NUMBER.search(text) is None

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Excel(XLSX)").click()
    xlsx_path = artifacts / xlsx_download.value.suggested_filename
    xlsx_download.value.save_as(xlsx_path)
    sheet = openpyxl.load_workbook(xlsx_path).active
    assert sheet.max_row == count + 2

    # Anomalies: one row a warning; the detail page holds the evidence.
    page.goto(f"{base}/dashboard/anomalies?status=all")
    assert_accessible(page, "anomalies")
    screenshot(page, artifacts, "21-anomalies-table")
    link = page.locator("table.anomalies tbody th a").first
    if link.count():
        link.click()
        page.wait_for_url("**/dashboard/anomalies/*")
        assert page.get_by_role("heading", name="预警数据").count() == 1
        assert_accessible(page, "anomaly detail")
        screenshot(page, artifacts, "22-anomaly-detail")
    context.close()
