"""The elders workbench in a real browser (Chromium, headless, axe checks) over the demo data:
a district civil officer finds an elder by name, approves two pending applications, refuses
one and records a death with its date. Screenshots go to tests/artifacts/<backend>/."""

from __future__ import annotations

from tests.e2e.browser import assert_accessible, screenshot, sign_in
from tests.e2e.conftest import api

API = "/api/v1"
CIVIL, CHAOYANG = "demo-chaoyang-civil", "110105"


def elders(server, **params) -> dict:
    with api(server, CIVIL) as client:
        response = client.get(f"{API}/elders", params={"district_code": CHAOYANG, "limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()


def elder(server, elder_id: str) -> dict:
    with api(server, CIVIL) as client:
        response = client.get(f"{API}/elders/{elder_id}")
    assert response.status_code == 200, response.text
    return response.json()


def open_elder(page, base: str, name: str, elder_id: str) -> None:
    """Search the list by name and open this elder's page from the results."""
    page.goto(f"{base}/dashboard/elders")
    page.get_by_label("姓名或身份证号").fill(name)
    page.get_by_role("button", name="查找").click()
    page.wait_for_url("**/dashboard/elders?q=*")
    page.locator(f'table a[href$="/elders/{elder_id}"]').click()
    page.wait_for_url(f"**/dashboard/elders/{elder_id}")


def flash(page) -> str:
    return page.locator(".flash").inner_text()


def test_an_officer_works_through_the_pending_elders(browser, demo_server, artifacts):
    base = demo_server.base_url
    pending = elders(demo_server, status="pending")
    eligible = [e for e in pending["items"] if e["eligible"]]
    assert len(eligible) >= 3, pending["total"]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, CIVIL)

    # The list, with the pending applications one tab away and their count on it.
    page.goto(f"{base}/dashboard/elders")
    assert page.locator("h1").inner_text() == "朝阳区 · 老年人"
    assert_accessible(page, "elders list")
    tab = page.get_by_role("navigation", name="按状态查看").get_by_role("link", name="待审核")
    assert tab.inner_text().split()[-1] == f"{pending['total']:,}"
    tab.click()
    assert f"待审核(共 {pending['total']:,} 人)" in page.locator("#elders-heading").inner_text()
    screenshot(page, artifacts, "20-elders-pending")

    # Find the first one by name and approve it, then a second one.
    for index, applicant in enumerate(eligible[:2]):
        open_elder(page, base, applicant["name"], applicant["id"])
        if index == 0:
            assert_accessible(page, "elder detail (pending)")
            screenshot(page, artifacts, "21-elder-pending")
        page.get_by_label("确认审核通过", exact=False).check()
        page.get_by_role("button", name="审核通过").click()
        assert "已审核通过" in flash(page)
        assert elder(demo_server, applicant["id"])["status"] == "approved"
    assert_accessible(page, "elder detail (approved)")

    # Refuse a third with its reason.
    refused = eligible[2]
    open_elder(page, base, refused["name"], refused["id"])
    page.get_by_label("不予通过的原因").select_option(label="其他原因")
    page.get_by_label("说明(必填)").fill("申请材料不全,已告知家属补齐后重新申请")
    page.get_by_label("确认对该申请不予通过").check()
    page.get_by_role("button", name="不予通过").click()
    assert "申请不予通过" in flash(page)
    after = elder(demo_server, refused["id"])
    assert after["status"] == "suspended" and after["suspension_reason"] == "other"
    assert "申请材料不全" in page.locator("#history-heading + .table-scroll").inner_text()

    # Record a death with its date for an approved elder (the first one approved above).
    deceased = eligible[0]
    open_elder(page, base, deceased["name"], deceased["id"])
    page.get_by_label("停发原因").select_option(label="身故")
    page.get_by_label("身故日期", exact=False).fill("2026-04-05")
    page.get_by_label("确认停发", exact=False).check()
    page.get_by_role("button", name="停发").click()
    assert "原因:身故" in flash(page)
    after = elder(demo_server, deceased["id"])
    assert after["status"] == "suspended" and after["died_on"] == "2026-04-05"
    assert_accessible(page, "elder detail (deceased)")
    screenshot(page, artifacts, "22-elder-deceased")

    # Three fewer applications wait.
    page.goto(f"{base}/dashboard/elders?status=pending")
    assert f"待审核(共 {pending['total'] - 3:,} 人)" in page.locator("#elders-heading").inner_text()
    context.close()
