"""The dashboard in a real browser (Chromium, headless), over the demo data: a district civil
officer and a finance officer take last month's settlement through every stage, download the
statement, and an officer of another district cannot see it. Screenshots of the main pages are
saved under tests/artifacts/<backend>/ (git-ignored)."""

from __future__ import annotations

import csv
import io

import openpyxl

from tests.e2e.browser import (
    assert_accessible,
    assert_keyboard_focus_visible,
    screenshot,
    sign_in,
    sign_out,
)
from tests.e2e.conftest import api

API = "/api/v1"
CIVIL, FINANCE, OTHER_CIVIL = "demo-chaoyang-civil", "demo-chaoyang-finance", "demo-haidian-civil"


def stat(page, label: str) -> str:
    """The value of one figure of the overview (its <dd>), whitespace collapsed."""
    value = page.locator(".stat").filter(has=page.locator("dt", has_text=label)).locator("dd")
    return " ".join(value.inner_text().split())


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def quarter_month(server, year: int, quarter: int, index: int) -> dict:
    with api(server, CIVIL) as client:
        response = client.get(
            f"{API}/reports/quarterly", params={"district_code": "110105", "year": year, "quarter": quarter}
        )
    assert response.status_code == 200, response.text
    return response.json()["months"][index]


def open_anomalies(server) -> int:
    with api(server, CIVIL) as client:
        response = client.get(f"{API}/anomalies", params={"status": "open", "district_code": "110105"})
    assert response.status_code == 200, response.text
    return response.json()["total"]


def test_overview_shows_the_demo_numbers(browser, demo_server, artifacts):
    base = demo_server.base_url
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/dashboard/login")
    assert_accessible(page, "sign-in")
    screenshot(page, artifacts, "00-sign-in")
    sign_in(page, base, CIVIL)

    # April (the demo's current month): the same figures as the quarterly report's.
    april = quarter_month(demo_server, 2026, 2, 0)
    assert april["redemptions"]["posted"] > 0 and april["elders_with_vouchers"] > 0
    assert page.locator("h1").inner_text() == "朝阳区 · 2026年4月 概览"
    assert stat(page, "持券老年人") == f"{april['elders_with_vouchers']:,} 人"
    assert stat(page, "发放消费券") == f"{april['vouchers_issued']:,} 张"
    assert stat(page, "发放面额") == f"{yuan(april['face_value_fen'])} 元"
    assert stat(page, "已抵扣") == f"{yuan(april['deduction_fen'])} 元 {april['redemptions']['posted']:,} 笔"
    assert page.locator("svg[role=img] rect").count() == 30  # a bar per day of April
    assert page.get_by_role("table").filter(has_text="居家社区服务").count() >= 1
    screenshot(page, artifacts, "01-overview-april")
    assert_accessible(page, "overview")
    assert_keyboard_focus_visible(page)

    # March, ended: its vouchers expired at month end, and the page says how many.
    page.get_by_label("月份").fill("2026-03")
    page.get_by_role("button", name="查看").click()
    march = quarter_month(demo_server, 2026, 1, 2)
    assert march["expired"]["vouchers"] > 0
    assert stat(page, "到期失效").startswith(f"{march['expired']['vouchers']:,} 张")
    assert stat(page, "已抵扣") == f"{yuan(march['deduction_fen'])} 元 {march['redemptions']['posted']:,} 笔"
    screenshot(page, artifacts, "02-overview-march")
    context.close()

    # An auditor sees every district: the picker switches to 海淀区, with its own figures.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, "demo-auditor")
    page.get_by_label("查看区").select_option(label="海淀区")
    page.get_by_role("button", name="切换").click()
    assert page.locator("h1").inner_text() == "海淀区 · 2026年4月 概览"
    with api(demo_server, "demo-auditor") as client:
        haidian = client.get(
            f"{API}/reports/quarterly", params={"district_code": "110108", "year": 2026, "quarter": 2}
        ).json()["months"][0]
    assert stat(page, "持券老年人") == f"{haidian['elders_with_vouchers']:,} 人"
    screenshot(page, artifacts, "02b-overview-auditor-haidian")
    context.close()


def test_settlement_through_every_stage_in_the_browser(browser, demo_server, artifacts):
    base = demo_server.base_url
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, base, CIVIL)

    # Civil affairs builds March's batch.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="结算审核").click()
    assert_accessible(page, "settlements")
    page.get_by_label("结算月份").fill("2026-03")
    page.get_by_label("确认生成", exact=False).check()
    page.get_by_role("button", name="生成结算批次").click()
    page.wait_for_url(f"{base}/dashboard/settlements/*")
    batch_url = page.url
    batch_id = batch_url.rsplit("/", 1)[1]
    assert "2026年3月 结算批次" in page.locator("h1").inner_text()
    assert_accessible(page, "batch detail (civil review)")
    screenshot(page, artifacts, "03-batch-civil-review")

    with api(demo_server, CIVIL) as client:
        built = client.get(f"{API}/settlements/{batch_id}").json()
    assert built["status"] == "civil_review" and built["totals"]["redemptions"] > 0

    # Drill down to the biggest provider and reject one redemption, with a reason.
    biggest = max(built["lines"], key=lambda line: line["redemptions"])
    page.get_by_role("link", name=biggest["provider_name"]).first.click()
    page.wait_for_url(f"**/providers/{biggest['provider_id']}*")
    page.locator("input[name=redemption_id]").first.check()
    page.get_by_label("核减原因").fill("服务记录与签到时间不符")
    page.get_by_label("确认核减", exact=False).check()
    page.get_by_role("button", name="核减所选记录").click()
    assert page.get_by_role("status").count() == 1  # the success message
    assert page.get_by_text("服务记录与签到时间不符").count() >= 1
    assert_accessible(page, "drill-down")
    screenshot(page, artifacts, "04-drill-down-rejected")

    # Submit to finance.
    page.goto(batch_url)
    page.get_by_label("确认将应付", exact=False).check()
    page.get_by_role("button", name="提交财政复审").click()
    assert page.locator(".badge").first.inner_text().startswith("财政复审")
    sign_out(page)

    # Finance approves.
    sign_in(page, base, FINANCE)
    page.goto(batch_url)
    assert page.get_by_role("button", name="提交财政复审").count() == 0
    page.get_by_label("确认复审通过", exact=False).check()
    page.get_by_role("button", name="复审通过").click()
    assert page.locator(".badge").first.inner_text().startswith("待支付")
    sign_out(page)

    # Civil affairs records each provider's payment; the last one settles the batch.
    sign_in(page, base, CIVIL)
    page.goto(batch_url)
    screenshot(page, artifacts, "05-batch-payment")
    paid = 0
    while page.locator("form.payment-form").count():
        form = page.locator("form.payment-form").first
        paid += 1
        form.get_by_label("银行支付凭证号").fill(f"BOC-2026-04-{paid:04d}")
        form.get_by_label("确认已向", exact=False).check()
        form.get_by_role("button", name="登记支付").click()
        page.wait_for_load_state()
    assert paid == len([line for line in built["lines"] if line["payable_fen"] > 0]) or paid >= 1
    assert page.locator(".badge").first.inner_text().startswith("已结算")
    assert_accessible(page, "batch detail (settled)")
    screenshot(page, artifacts, "06-batch-settled")

    with api(demo_server, CIVIL) as client:
        settled = client.get(f"{API}/settlements/{batch_id}").json()
    assert settled["status"] == "settled" and all(line["paid"] for line in settled["lines"])
    assert settled["totals"]["rejected_fen"] > 0
    with api(demo_server, "demo-city-admin") as client:
        assert client.get(f"{API}/ledger/verify").json()["ok"] is True

    # Download the statement as CSV and XLSX.
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="结算单 CSV", exact=False).click()
    csv_path = artifacts / csv_download.value.suggested_filename
    csv_download.value.save_as(csv_path)
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "服务机构"
    assert len(rows) - 1 >= settled["totals"]["redemptions"]
    assert {line["provider_name"] for line in settled["lines"]} <= {row[0] for row in rows[1:]}
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="结算单 XLSX", exact=False).click()
    xlsx_path = artifacts / xlsx_download.value.suggested_filename
    xlsx_download.value.save_as(xlsx_path)
    workbook = openpyxl.load_workbook(xlsx_path, read_only=True)
    assert workbook.sheetnames[0] == "汇总"
    context.close()

    # Another district's officer: neither the batch nor its statement.
    other = browser.new_context(locale="zh-CN")
    page = other.new_page()
    sign_in(page, base, OTHER_CIVIL)
    response = page.goto(batch_url)
    assert response.status == 404
    assert "未找到" in page.locator("main").inner_text()
    assert page.request.get(f"{batch_url}/statement.csv").status == 404
    assert batch_id not in page.goto(f"{base}/dashboard/settlements").text()
    screenshot(page, artifacts, "07-other-district-not-found")
    other.close()


def test_supervision_pages_in_the_browser(browser, demo_server, artifacts):
    base = demo_server.base_url
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, CIVIL)
    open_count = open_anomalies(demo_server)
    assert open_count >= 2  # the demo plants night services, prices over reference, overlaps...

    # Anomalies: March's open warnings with their evidence; resolve the first one.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="异常预警").click()
    page.goto(f"{base}/dashboard/anomalies?month=2026-03")
    assert_accessible(page, "anomalies")
    screenshot(page, artifacts, "08-anomalies")
    # One table row a warning: its detail page holds the evidence and the form.
    page.locator("table.anomalies tbody th a").first.click()
    page.wait_for_url(f"{base}/dashboard/anomalies/*")
    first = page.locator("form[action*='/resolve']").first
    first.get_by_label("核查属实").check()
    first.get_by_label("核查说明", exact=False).fill("电话回访老年人,夜间未接受上门服务")
    first.get_by_label("我已核实", exact=False).check()
    first.get_by_role("button", name="提交处理结论").click()
    assert "处理" in page.get_by_role("status").inner_text()
    assert open_anomalies(demo_server) == open_count - 1

    # Audits: draw March's 1 % sample, then record a finding for the first drawn elder.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="抽查核查").click()
    assert_accessible(page, "audits")
    page.get_by_label("抽查月份").fill("2026-03")
    page.get_by_label("确认抽取", exact=False).check()
    page.get_by_role("button", name="抽取样本").click()
    page.wait_for_url(f"{base}/dashboard/audits/*")
    sample_id = page.url.rsplit("/", 1)[1].split("?")[0]
    with api(demo_server, CIVIL) as client:
        sample = client.get(f"{API}/audit-samples/{sample_id}").json()
    assert sample["month"] == "2026-03" and sample["sample_size"] >= 1
    assert sample["elder_ids"][0] in page.content()  # the drawn elders are listed
    finding = page.locator("form[action*='/findings']").first
    finding.get_by_label("核查结论").select_option("genuine")
    finding.get_by_label("核查情况说明").fill("入户核实,服务真实,老人满意")
    finding.get_by_label("确认录入", exact=False).check()
    finding.get_by_role("button", name="录入结论").click()
    assert page.get_by_text("入户核实,服务真实,老人满意").count() >= 1
    assert_accessible(page, "audit sample")
    screenshot(page, artifacts, "09-audit-sample")

    # Providers: the demo's open rectification order, with its deadline.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="服务机构").click()
    assert page.get_by_text("整改中").count() >= 1
    assert_accessible(page, "providers")
    screenshot(page, artifacts, "10-providers")
    context.close()
