"""The elders workbench (issue 15) over HTTP: the list with its search, filters and status tabs,
an elder's page, and the work on it (approve, refuse, suspend, correct the benefits) with the
API's refusals, CSRF and role checks. Data is made through the API as a district would; pages
are used as a browser would. The clock starts at 2026-03-16T10:00+08:00."""

from __future__ import annotations

import re

from tests.conftest import admin_headers
from tests.dashboard.pages import DASHBOARD, csrf_token, flash_of, post_form, signed_in_staff
from tests.factories import API, elder_body, id_number, make_provider, redeem, set_clock

CHAOYANG, HAIDIAN = "110105", "110108"


def applied(client, name: str, district_code: str = CHAOYANG, **fields) -> tuple[dict, str]:
    """A pending application with this name, and the full ID number it carries."""
    number = id_number(region=district_code, birth="19480305")
    body = {**elder_body(district_code=district_code, number=number, **fields), "name": name}
    response = client.post(f"{API}/elders", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text
    return response.json(), number


def approved(client, name: str, **fields) -> tuple[dict, str]:
    elder, number = applied(client, name, **fields)
    response = client.post(f"{API}/elders/{elder['id']}/approve", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json(), number


def page(client, path: str, **params) -> str:
    response = client.get(f"{DASHBOARD}{path}", params=params)
    assert response.status_code == 200, response.text
    return response.text


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def api_elder(client, elder_id: str) -> dict:
    response = client.get(f"{API}/elders/{elder_id}", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def act(client, elder_id: str, action: str, data: dict | None = None, *, confirm: bool = True):
    form = {**(data or {}), **({"confirm": "yes"} if confirm else {})}
    return post_form(client, f"/elders/{elder_id}/{action}", form, from_page=f"/elders/{elder_id}")


# --- the list ----------------------------------------------------------------------------------


def test_the_list_searches_by_name_and_masked_id_and_filters_by_status_level_and_reason(client):
    wang, wang_number = applied(client, "王建国")
    li, _ = approved(client, "李秀英", disability_level="moderate")
    zhao, _ = applied(client, "赵桂兰", assessed_on="2024-01-10")  # expired: ASSESSMENT_EXPIRED
    applied(client, "孙丽", HAIDIAN)  # another district
    signed_in_staff(client, "district_civil", CHAOYANG)

    text = text_of(page(client, "/elders"))
    assert "全部 3" in text and "待审核 2" in text and "已审核通过 1" in text and "已停发 0" in text
    assert "王*" in text and "李**" in text and "孙*" not in text
    assert "王建国" not in text and wang_number not in text and wang["id_number_masked"] in text

    pending = text_of(page(client, "/elders", status="pending"))
    assert "待审核(共 2 人)" in pending and "李**" not in pending
    by_name = text_of(page(client, "/elders", q="建国"))
    assert "共 1 人" in by_name and "王*" in by_name
    by_masked = text_of(page(client, "/elders", q=li["id_number_masked"]))
    assert "共 1 人" in by_masked and "李**" in by_masked
    by_level = text_of(page(client, "/elders", level="moderate"))
    assert "共 1 人" in by_level and "李**" in by_level
    expired = text_of(page(client, "/elders", reason="ASSESSMENT_EXPIRED"))
    assert "共 1 人" in expired and "赵**" in expired and "能力评估结论已超过有效期" in expired
    assert zhao["id"] in page(client, "/elders", reason="ASSESSMENT_EXPIRED")
    # Wildcards are searched literally; unknown codes are ignored.
    assert "共 0 人" in text_of(page(client, "/elders", q="%"))
    assert "共 3 人" in text_of(page(client, "/elders", status="nonsense", level="x"))


def test_a_full_id_number_is_searched_by_post_and_never_shown_or_put_in_a_url(client):
    wang, number = applied(client, "王建国")
    _, other_number = applied(client, "孙丽", HAIDIAN)
    signed_in_staff(client, "district_civil", CHAOYANG)
    token = csrf_token(client, "/elders")
    found = client.post(
        f"{DASHBOARD}/elders/search", data={"csrf_token": token, "q": number.lower()}, follow_redirects=False
    )
    assert found.status_code == 303 and found.headers["location"] == f"{DASHBOARD}/elders/{wang['id']}"
    detail = page(client, f"/elders/{wang['id']}")
    assert number not in detail and wang["id_number_masked"] in detail and "王建国" not in detail
    # Another district's number is "not found", and the number is nowhere in the answer.
    missing = client.post(
        f"{DASHBOARD}/elders/search", data={"csrf_token": token, "q": other_number}, follow_redirects=False
    )
    assert missing.status_code == 303 and other_number not in missing.headers["location"]
    assert flash_of(missing) == "未找到该身份证号码对应的老年人" and other_number not in flash_of(missing)
    # A name goes to the list (GET, bookmarkable); a full number typed into a URL is echoed masked.
    by_name = client.post(
        f"{DASHBOARD}/elders/search",
        data={"csrf_token": token, "q": "建国", "level": "severe"},
        follow_redirects=False,
    )
    assert by_name.headers["location"].startswith(f"{DASHBOARD}/elders?q=")
    typed = page(client, "/elders", q=number)
    assert number not in typed and "共 1 人" in text_of(typed)
    # Without the CSRF token the search is refused.
    refused = client.post(f"{DASHBOARD}/elders/search", data={"q": number}, follow_redirects=False)
    assert refused.status_code == 303 and "CSRF_REJECTED" in flash_of(refused)


def test_the_expiring_filter_and_the_old_page_list_the_same_elders(client):
    soon, _ = approved(client, "周凤英", assessed_on="2025-04-10")  # ends 2026-04-09
    approved(client, "吴德明", assessed_on="2026-01-10")
    signed_in_staff(client, "district_civil", CHAOYANG)
    filtered = page(client, "/elders", expiring=1)
    assert "共 1 人" in text_of(filtered) and soon["id"] in filtered
    old = page(client, "/elders/expiring")
    assert "2026-04-09" in old and f"/elders/{soon['id']}" in old


def test_scope_another_district_and_city_wide_viewers(client):
    sun, _ = applied(client, "孙丽", HAIDIAN)
    signed_in_staff(client, "district_civil", CHAOYANG)
    assert client.get(f"{DASHBOARD}/elders/{sun['id']}").status_code == 404
    assert client.get(f"{DASHBOARD}/elders", params={"district": HAIDIAN}).status_code == 404
    client.cookies.clear()
    signed_in_staff(client, "auditor")
    haidian = text_of(page(client, "/elders", district=HAIDIAN))
    assert "海淀区 · 老年人" in haidian and "孙*" in haidian
    detail = page(client, f"/elders/{sun['id']}")
    assert "审核通过</button>" not in detail  # auditors read only


# --- the detail page ---------------------------------------------------------------------------


def test_the_detail_page_shows_history_vouchers_and_redemptions(client):
    set_clock(client, "2026-03-02T09:00:00+08:00")
    elder, number = approved(client, "王建国")
    set_clock(client, "2026-03-16T10:00:00+08:00")
    station = make_provider(client, name="朝阳区幸福驿站")
    response = redeem(
        client, station, elder["id"], item=11, amount_fen=10000, served_at="2026-03-16T09:30:00+08:00"
    )
    assert response.status_code == 201, response.text
    signed_in_staff(client, "district_civil", CHAOYANG)
    html = page(client, f"/elders/{elder['id']}")
    text = text_of(html)
    assert "王** · 已审核通过" in text and number not in html
    assert "待审核 → 已审核通过" in text and "提交申请" in text and "审核通过" in text
    assert "2026-03" in text and "月度消费券" in text
    assert "核销记录(共 1 笔)" in text and "朝阳区幸福驿站" in text and "100.00" in text
    assert "停发</button>" in html and "不予通过</button>" not in html


# --- the work ----------------------------------------------------------------------------------


def test_approve_through_the_form_and_its_refusals(client):
    wang, _ = applied(client, "王建国")
    mild, _ = applied(client, "赵桂兰", disability_level="mild")
    signed_in_staff(client, "district_civil", CHAOYANG)
    unconfirmed = act(client, wang["id"], "approve", confirm=False)
    assert (
        "CONFIRMATION_REQUIRED" in flash_of(unconfirmed)
        and api_elder(client, wang["id"])["status"] == "pending"
    )
    done = act(client, wang["id"], "approve")
    assert done.status_code == 303 and done.headers["location"] == f"{DASHBOARD}/elders/{wang['id']}"
    assert flash_of(done) == "已审核通过“王**”,已发放2026年3月消费券"
    assert api_elder(client, wang["id"])["status"] == "approved"
    again = act(client, wang["id"], "approve")
    assert "该老年人已审核通过" in flash_of(again) and "INVALID_STATE" in flash_of(again)
    refused = act(client, mild["id"], "approve")
    assert "NOT_ELIGIBLE" in flash_of(refused) and "能力评估等级低于中度失能" in flash_of(refused)
    assert api_elder(client, mild["id"])["status"] == "pending"
    history = client.get(f"{API}/elders/{wang['id']}/history", headers=admin_headers()).json()
    assert [h["to_status"] for h in history] == ["pending", "approved"]


def test_only_civil_officers_act_and_every_form_needs_its_token(client):
    wang, _ = applied(client, "王建国")
    signed_in_staff(client, "district_finance", CHAOYANG)
    html = page(client, f"/elders/{wang['id']}")
    assert "审核通过</button>" not in html
    refused = act(client, wang["id"], "approve")
    assert refused.status_code == 303 and "FORBIDDEN" in flash_of(refused)
    assert api_elder(client, wang["id"])["status"] == "pending"
    client.cookies.clear()
    signed_in_staff(client, "district_civil", CHAOYANG)
    no_token = client.post(
        f"{DASHBOARD}/elders/{wang['id']}/approve", data={"confirm": "yes"}, follow_redirects=False
    )
    assert "CSRF_REJECTED" in flash_of(no_token) and api_elder(client, wang["id"])["status"] == "pending"
    sun, _ = applied(client, "孙丽", HAIDIAN)
    other = post_form(client, f"/elders/{sun['id']}/approve", {"confirm": "yes"}, from_page="/elders")
    assert "NOT_FOUND" in flash_of(other) and api_elder(client, sun["id"])["status"] == "pending"


def test_reject_a_pending_application_with_its_reason(client):
    wang, _ = applied(client, "王建国")
    signed_in_staff(client, "district_civil", CHAOYANG)
    blank = act(client, wang["id"], "reject", {"reason": "no_longer_eligible", "note": "  "})
    assert "请填写不予通过的说明" in flash_of(blank) and api_elder(client, wang["id"])["status"] == "pending"
    done = act(client, wang["id"], "reject", {"reason": "no_longer_eligible", "note": "享受特困供养"})
    assert flash_of(done) == "已对“王**”的申请不予通过"
    after = api_elder(client, wang["id"])
    assert after["status"] == "suspended" and after["suspension_reason"] == "no_longer_eligible"
    text = text_of(page(client, f"/elders/{wang['id']}"))
    assert "待审核 → 已停发 不再符合补贴条件 享受特困供养" in text
    again = act(client, wang["id"], "reject", {"reason": "other", "note": "x"})
    assert "只有待审核的申请可以不予通过" in flash_of(again)


def test_suspend_with_a_reason_and_a_date_of_death(client):
    wang, _ = approved(client, "王建国")
    li, _ = approved(client, "李秀英")
    signed_in_staff(client, "district_civil", CHAOYANG)
    future = act(client, wang["id"], "suspend", {"reason": "deceased", "died_on": "2026-03-20"})
    assert "INVALID_DEATH_DATE" in flash_of(future) and "身故日期不能晚于今天" in flash_of(future)
    mixed = act(client, wang["id"], "suspend", {"reason": "moved_out", "died_on": "2026-03-10"})
    assert "身故日期仅在停发原因为“身故”时填写" in flash_of(mixed)
    assert api_elder(client, wang["id"])["status"] == "approved"
    done = act(
        client, wang["id"], "suspend", {"reason": "deceased", "died_on": "2026-03-10", "note": "家属告知"}
    )
    assert flash_of(done) == "已停发“王**”(原因:身故),2026年3月为最后一个发券月"
    after = api_elder(client, wang["id"])
    assert after["status"] == "suspended" and after["died_on"] == "2026-03-10"
    html = page(client, f"/elders/{wang['id']}")
    assert "2026-03-10" in html and "已收回" in html and "审核通过</button>" not in html  # death is final
    moved = act(client, li["id"], "suspend", {"reason": "moved_out", "died_on": ""})
    assert "迁出本区" in flash_of(moved) and api_elder(client, li["id"])["suspension_reason"] == "moved_out"
    again = act(client, li["id"], "suspend", {"reason": "other"})
    assert "该老年人已停发" in flash_of(again)


def test_correct_the_benefits_and_the_allowance_tier(client):
    wang, _ = applied(client, "王建国")
    signed_in_staff(client, "district_civil", CHAOYANG)
    done = act(client, wang["id"], "benefits", {"benefits": ["destitute_support"], "tier": "400"})
    assert flash_of(done) == "已更正“王**”的待遇信息,重新判定为不符合补贴条件"
    after = api_elder(client, wang["id"])
    assert after["benefits"] == ["destitute_support"] and after["disability_allowance_tier"] == 400
    assert "正在享受特困人员供养救助待遇" in text_of(page(client, f"/elders/{wang['id']}"))
    bad = act(client, wang["id"], "benefits", {"benefits": ["lottery"], "tier": ""})
    assert "享受的待遇或护理补贴档次不正确" in flash_of(bad)
    cleared = act(client, wang["id"], "benefits", {"tier": ""})
    assert "重新判定为符合补贴条件" in flash_of(cleared) and api_elder(client, wang["id"])["benefits"] == []


def test_a_city_admin_corrects_a_mistaken_death_record(client):
    wang, _ = approved(client, "王建国")
    signed_in_staff(client, "district_civil", CHAOYANG)
    act(client, wang["id"], "suspend", {"reason": "deceased", "died_on": "2026-03-10"})
    assert "更正身故登记</button>" not in page(client, f"/elders/{wang['id']}")
    refused = act(client, wang["id"], "correct-death", {"reason": "误报"})
    assert "该操作仅限市级管理员" in flash_of(refused)
    client.cookies.clear()
    signed_in_staff(client, "city_admin")
    assert "更正身故登记</button>" in page(client, f"/elders/{wang['id']}", district=CHAOYANG)
    blank = act(client, wang["id"], "correct-death", {"reason": ""})
    assert "请填写更正理由" in flash_of(blank) and api_elder(client, wang["id"])["died_on"] == "2026-03-10"
    done = act(client, wang["id"], "correct-death", {"reason": "家属误报,本人健在"})
    assert flash_of(done) == "已更正“王**”的身故登记"
    assert done.headers["location"] == f"{DASHBOARD}/elders/{wang['id']}?district={CHAOYANG}"
    after = api_elder(client, wang["id"])
    assert after["status"] == "approved" and after["died_on"] is None
