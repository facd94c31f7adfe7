"""Supervision pages over HTTP (issue 7 item 4): anomaly warnings with their evidence and the
resolve form, audit samples (draw, verify, findings entry), providers with their sanctions.

Data is made through the API as a district would; the pages are used as a browser would, signed
in through the dashboard's form and submitting its forms with their CSRF token. The clock starts
at 2026-03-16T10:00+08:00 (a Monday).
"""

from __future__ import annotations

import re

from app.config import get_settings
from tests.conftest import admin_headers
from tests.dashboard.pages import DASHBOARD, flash_of, post_form, signed_in_staff
from tests.factories import API, clock_now, elder_body, make_provider, redeem, run_job, set_clock

CHAOYANG, HAIDIAN = "110105", "110108"


def named_elder(client, name: str, district_code: str = CHAOYANG) -> dict:
    """An approved severe-disability elder with this name (subsidy rate 50 %), approved when
    March began so that any March service time of these tests is after the approval."""
    restore = clock_now(client)
    set_clock(client, "2026-03-01T00:00:00+08:00")
    body = {**elder_body(district_code=district_code), "name": name}
    created = client.post(f"{API}/elders", json=body, headers=admin_headers())
    assert created.status_code == 201, created.text
    approved = client.post(f"{API}/elders/{created.json()['id']}/approve", headers=admin_headers())
    assert approved.status_code == 200, approved.text
    set_clock(client, restore)
    return approved.json()


def posted(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def page(client, path: str, **params) -> str:
    response = client.get(f"{DASHBOARD}{path}", params=params)
    assert response.status_code == 200, response.text
    return response.text


def api(client, path: str, **params):
    response = client.get(f"{API}{path}", params=params, headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def text_of(html: str) -> str:
    """The page's text with tags and runs of whitespace collapsed, for phrase assertions."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- anomalies -----------------------------------------------------------------------------------


def test_anomalies_show_their_evidence_and_are_resolved_through_the_form(client):
    civil = signed_in_staff(client, "district_civil", CHAOYANG)
    station = make_provider(client, name="朝阳区幸福驿站")
    company = make_provider(client, kind="home_care_company", name="朝阳区安心护理公司")
    elder = named_elder(client, "王建国")
    # Above the catalogue's 400-yuan reference maximum for item 11: a warning in-line.
    pricey = posted(redeem(client, station, elder["id"], item=11, amount_fen=40001, served_at="2026-03-16T09:00:00+08:00"))  # fmt: skip
    # Another provider ten minutes later: the nightly scan finds the overlap.
    later = posted(redeem(client, company, elder["id"], item=11, amount_fen=30000, served_at="2026-03-16T09:10:00+08:00"))  # fmt: skip
    assert run_job(client, "anomaly-scan", "2026-03").status_code == 200
    warnings = {a["rule"]: a for a in api(client, "/anomalies")["items"]}
    assert set(warnings) == {"PRICE_ABOVE_REFERENCE", "OVERLAPPING_SERVICE"}
    price = warnings["PRICE_ABOVE_REFERENCE"]

    html = page(client, "/anomalies")
    text = text_of(html)
    assert "待处理的预警(共 2 条)" in text
    assert "消费金额高于项目清单参考价上限" in text and "同一老年人同一时段由两家服务机构服务" in text
    # A compact table: one row a warning, elder masked, the evidence on the detail page.
    assert "王**" in text and "王建国" not in html and "预警数据 " not in text
    assert f'href="/dashboard/anomalies/{price["id"]}?status=open"' in html
    assert "2026-03 2026-03-16 10:00 朝阳区幸福驿站 王** 400.01 待处理" in text

    detail = f"/anomalies/{price['id']}"
    html = page(client, detail, status="open")
    text = text_of(html)
    assert "附件1《北京市养老服务消费补贴项目清单》参考价格" in text
    # The price warning's evidence, money in yuan, and its redemption with provider, elder, item.
    assert "消费金额 400.01 元" in text and "参考价格上限 400.00 元" in text and "允许超出比例 0%" in text
    assert (
        "2026-03-16 09:00 · 朝阳区幸福驿站 · 王** · 11 上门洗浴 · 消费 400.01 元(补贴抵扣 200.01 元)" in text
    )
    assert pricey["deduction_fen"] == 20001
    # The overlap's evidence names the other redemption, shown with its provider and time.
    overlap_text = text_of(page(client, f"/anomalies/{warnings['OVERLAPPING_SERVICE']['id']}"))
    assert "时间重叠的另一笔核销 2026-03-16 09:00 · 朝阳区幸福驿站 · 王** · 11 上门洗浴" in overlap_text
    assert "另一家服务机构 朝阳区幸福驿站" in overlap_text and "两次服务开始间隔 10 分 0 秒" in overlap_text
    assert "2026-03-16 09:10 · 朝阳区安心护理公司 · 王**" in overlap_text
    assert f'id="note-{price["id"]}"' in html and f'for="note-{price["id"]}"' in html
    assert pricey["id"] != later["id"]

    resolve = f"/anomalies/{price['id']}/resolve"
    form = {"resolution": "confirmed", "note": "电话回访,价格确高于参考价", "back_status": "open"}
    # Without the confirmation box: refused, nothing changes.
    refused = post_form(client, resolve, form, from_page=detail)
    assert refused.status_code == 303 and "CONFIRMATION_REQUIRED" in flash_of(refused)
    # Without the form's CSRF token: refused, nothing changes.
    forged = client.post(f"{DASHBOARD}{resolve}", data={**form, "confirm": "yes"}, follow_redirects=False)
    assert forged.status_code == 303 and "CSRF_REJECTED" in flash_of(forged)
    assert api(client, f"/anomalies/{price['id']}")["status"] == "open"

    done = post_form(client, resolve, {**form, "confirm": "yes"}, from_page=detail)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{DASHBOARD}/anomalies?status=open"
    assert flash_of(done) == "已将异常预警“消费金额高于项目清单参考价上限”处理为:核查属实"
    resolved = api(client, f"/anomalies/{price['id']}")
    assert resolved["status"] == "confirmed"
    assert resolved["resolution_note"] == "电话回访,价格确高于参考价"
    assert resolved["resolved_by"] == civil.actor
    # A second resolution is refused by the service (the form is gone, a stale page may post).
    again = post_form(client, resolve, {**form, "resolution": "dismissed", "confirm": "yes"}, from_page="/anomalies")  # fmt: skip
    assert "ANOMALY_ALREADY_RESOLVED" in flash_of(again)
    assert api(client, f"/anomalies/{price['id']}")["status"] == "confirmed"

    html = page(client, "/anomalies")
    assert "待处理的预警(共 1 条)" in text_of(html) and f"a-{price['id']}-title" not in html
    assert "核查属实的预警(共 1 条)" in text_of(page(client, "/anomalies", status="confirmed"))
    text = text_of(page(client, detail))
    assert "核查说明 电话回访,价格确高于参考价" in text and "处理人 district_civil-110105" in text
    assert "提交处理结论" not in text
    text = text_of(page(client, "/anomalies", rule="NIGHT_HOME_SERVICE", status="all"))
    assert "没有符合条件的异常预警" in text
    assert client.get(f"{DASHBOARD}/anomalies", params={"rule": "NO_SUCH_RULE"}).status_code == 422
    assert client.get(f"{DASHBOARD}/anomalies", params={"month": "2026-13"}).status_code == 422

    # An auditor reads every district's warnings but gets no resolve form, and may not resolve.
    signed_in_staff(client, "auditor")
    overlap = warnings["OVERLAPPING_SERVICE"]
    assert "同一老年人同一时段由两家服务机构服务" in text_of(page(client, "/anomalies", district=CHAOYANG))
    text = text_of(page(client, f"/anomalies/{overlap['id']}"))
    assert "两次服务开始间隔" in text and "提交处理结论" not in text
    denied = post_form(client, f"/anomalies/{overlap['id']}/resolve", {**form, "confirm": "yes"}, from_page="/anomalies")  # fmt: skip
    assert "FORBIDDEN" in flash_of(denied)
    assert api(client, f"/anomalies/{overlap['id']}")["status"] == "open"

    # Another district's officer sees none of it, and cannot ask for it or resolve it.
    signed_in_staff(client, "district_civil", HAIDIAN)
    text = text_of(page(client, "/anomalies", status="all"))
    assert "(共 0 条)" in text and "王**" not in text
    assert client.get(f"{DASHBOARD}/anomalies", params={"district": CHAOYANG}).status_code == 404
    assert client.get(f"{DASHBOARD}/anomalies/{overlap['id']}").status_code == 404
    theirs = post_form(client, f"/anomalies/{overlap['id']}/resolve", {**form, "confirm": "yes"}, from_page="/anomalies")  # fmt: skip
    assert "ANOMALY_NOT_FOUND" in flash_of(theirs)
    assert api(client, f"/anomalies/{overlap['id']}")["status"] == "open"


def test_anomalies_are_paginated_and_bad_filters_are_no_server_error(client, monkeypatch):
    monkeypatch.setenv("VOUCHER_DASHBOARD__PAGE_SIZE", "10")
    get_settings.cache_clear()
    signed_in_staff(client, "district_finance", CHAOYANG)
    station = make_provider(client, name="朝阳区幸福驿站")
    elder = named_elder(client, "王建国")
    for minute in range(11):
        posted(redeem(client, station, elder["id"], item=7, amount_fen=1100 + minute, served_at=f"2026-03-16T08:{minute:02d}:00+08:00"))  # fmt: skip
    first = text_of(page(client, "/anomalies", month="2026-03"))
    assert "第 1–10 条,共 11 条(第 1/2 页)" in first and "下一页" in first and "上一页" not in first
    html = page(client, "/anomalies", month="2026-03", page=2)
    assert "第 11–11 条,共 11 条(第 2/2 页)" in text_of(html)
    amounts = [re.findall(r"王\*\* (\d+\.\d\d) 待处理", text) for text in (first, text_of(html))]
    assert [len(found) for found in amounts] == [10, 1]
    assert sorted(amounts[0] + amounts[1]) == [f"11.{n:02d}" for n in range(11)]
    assert 'href="/dashboard/anomalies?page=1&amp;month=2026-03&amp;status=open"' in html
    assert "第 3 页没有记录" in page(client, "/anomalies", month="2026-03", page=3)
    one = re.search(r'href="/dashboard/anomalies/([0-9a-f-]{36})', html).group(1)
    detail = page(client, f"/anomalies/{one}")
    assert "只能查看" in detail and "提交处理结论" not in detail  # finance reads only
    assert "预警数据 服务项目 7 上门送餐 消费金额 11." in text_of(detail)
    for params in ({"page": "0"}, {"page": "abc"}, {"status": "closed"}, {"month": "March"}):
        assert client.get(f"{DASHBOARD}/anomalies", params=params).status_code == 422, params
    for path in ("/providers?status=gone", "/audits/x?page=-1"):
        assert client.get(f"{DASHBOARD}{path}").status_code == 422, path


# --- audit samples -------------------------------------------------------------------------------


def test_a_sample_is_drawn_verified_and_findings_recorded_through_the_forms(client):
    signed_in_staff(client, "district_civil", CHAOYANG)
    station = make_provider(client, name="朝阳区安康驿站")
    elder = named_elder(client, "赵淑珍")
    first = posted(redeem(client, station, elder["id"], served_at="2026-03-10T09:00:00+08:00"))
    second = posted(redeem(client, station, elder["id"], served_at="2026-03-12T15:30:00+08:00"))
    draw = {"month": "2026-03", "kind": "redemption", "confirm": "yes"}

    # March has not ended: the service refuses, the page says why, nothing is drawn.
    early = post_form(client, "/audits/draw", draw, from_page="/audits")
    assert early.status_code == 303 and "MONTH_NOT_ENDED" in flash_of(early)
    assert api(client, "/audit-samples") == []
    unconfirmed = post_form(client, "/audits/draw", {**draw, "confirm": ""}, from_page="/audits")
    assert "CONFIRMATION_REQUIRED" in flash_of(unconfirmed)

    set_clock(client, "2026-04-02T10:00:00+08:00")
    html = page(client, "/audits")
    assert 'id="draw-month" name="month" type="month" value="2026-03"' in html  # last month
    assert "本区尚未抽取样本" in html
    drawn = post_form(client, "/audits/draw", draw, from_page="/audits")
    assert drawn.status_code == 303, drawn.text
    assert flash_of(drawn) == "已抽取 2026-03 抽查核销样本:总体 1 人,抽中 1 人"
    [sample] = api(client, "/audit-samples")
    assert (sample["month"], sample["kind"], sample["population"], sample["sample_size"]) == ("2026-03", "redemption", 1, 1)  # fmt: skip
    assert drawn.headers["location"] == f"{DASHBOARD}/audits/{sample['id']}"
    assert api(client, f"/audit-samples/{sample['id']}")["elder_ids"] == [elder["id"]]
    # Asking again opens the same sample: never drawn twice.
    again = post_form(client, "/audits/draw", draw, from_page="/audits")
    assert "此前已抽取" in flash_of(again) and len(api(client, "/audit-samples")) == 1

    text = text_of(page(client, "/audits"))
    assert "2026-03 抽查核销 1 1 0" in text
    listed = client.get(f"{DASHBOARD}/audits/export.csv").content.decode("utf-8-sig").splitlines()
    assert listed[0].startswith("月份,抽查类型") and listed[1].startswith("2026-03,抽查核销,1,1,0,")
    assert client.get(f"{DASHBOARD}/audits/export.xlsx").status_code == 200

    detail = f"/audits/{sample['id']}"
    html = page(client, detail)
    text = text_of(html)
    assert "1. 赵** " in text and "赵淑珍" not in html and "主要服务机构:朝阳区安康驿站" in text
    # No address or phone is stored: the page says so and leads to the elder's redemptions.
    assert f'href="/dashboard/redemptions?elder_id={elder["id"]}&amp;month=2026-03"' in html
    assert "系统未登记老年人或代理人的住址、电话" in text
    exported = client.get(f"{DASHBOARD}{detail}/export.csv").content.decode("utf-8-sig")
    assert "赵**" in exported and "赵淑珍" not in exported and "合计(1 人)" in exported
    assert "300.00" in exported.splitlines()[-1]
    assert client.get(f"{DASHBOARD}{detail}/export.xlsx").status_code == 200
    assert "本月使用的服务机构 朝阳区安康驿站" in text and "本月核销 2 笔,补贴抵扣 300.00 元" in text
    assert sample["seed"] in text
    for r in (first, second):
        assert f'id="redemption-{elder["id"]}-{r["id"]}" name="redemption_ids" value="{r["id"]}"' in html
    assert "2026-03-12 15:30 · 朝阳区安康驿站 · 11 上门洗浴 · 消费 300.00 元(补贴抵扣 150.00 元)" in text
    assert "尚未录入抽查结论" in text
    text = text_of(page(client, detail, verify="true"))
    assert "按公开种子重新抽取 ✓ 与保存的样本一致" in text and "复核结论 通过" in text

    finding = {
        "elder_id": elder["id"],
        "outcome": "fake_service",
        "note": "回访老人,称当天未接受上门洗浴",
        "redemption_ids": [first["id"]],
        "confirm": "yes",
    }
    recorded = post_form(client, f"{detail}/findings", finding, from_page=detail)
    assert recorded.status_code == 303, recorded.text
    assert flash_of(recorded) == "已录入抽查结论:虚假服务;不予结算 150.00 元"
    [saved] = api(client, f"/audit-samples/{sample['id']}/findings")
    assert (saved["outcome"], saved["excluded_fen"], saved["clawback_fen"]) == ("fake_service", 15000, 0)
    assert saved["redemptions"] == [
        {"redemption_id": first["id"], "deduction_fen": 15000, "effect": "excluded"}
    ]
    # A fake-service finding naming no redemption is refused by the service.
    empty = post_form(client, f"{detail}/findings", {**finding, "redemption_ids": []}, from_page=detail)
    assert "INVALID_FINDING" in flash_of(empty)
    assert len(api(client, f"/audit-samples/{sample['id']}/findings")) == 1

    text = text_of(page(client, detail))
    assert "赵** 虚假服务 朝阳区安康驿站" in text
    assert "2026-03-10 09:00 11 上门洗浴:抵扣 150.00 元, 不予结算" in text
    assert "150.00 0.00 回访老人,称当天未接受上门洗浴" in text and "已录入结论 1 条" in text
    assert "2026-03 抽查核销 1 1 1" in text_of(page(client, "/audits"))

    # Finance reads the sample but may not record findings.
    signed_in_staff(client, "district_finance", CHAOYANG)
    html = page(client, detail)
    assert "赵**" in html and 'name="outcome"' not in html and "只能查看" in html
    assert "/audits/draw" not in page(client, "/audits")
    denied = post_form(client, f"{detail}/findings", {**finding, "outcome": "genuine"}, from_page=detail)
    assert "FORBIDDEN" in flash_of(denied)

    # An auditor reads any district's sample; the district picker leads to that district's list.
    signed_in_staff(client, "auditor")
    assert "赵**" in page(client, detail) and 'name="outcome"' not in page(client, detail)
    switched = client.get(f"{DASHBOARD}{detail}", params={"district": HAIDIAN}, follow_redirects=False)
    assert (
        switched.status_code == 303
        and switched.headers["location"] == f"{DASHBOARD}/audits?district={HAIDIAN}"
    )

    # Another district's officer: the sample is not found, and their own list is empty.
    signed_in_staff(client, "district_civil", HAIDIAN)
    assert client.get(f"{DASHBOARD}{detail}").status_code == 404
    assert client.get(f"{DASHBOARD}/audits/not-a-sample").status_code == 404
    assert "本区尚未抽取样本" in page(client, "/audits")
    assert len(api(client, f"/audit-samples/{sample['id']}/findings")) == 1


# --- providers -----------------------------------------------------------------------------------


def test_providers_show_status_rectification_deadlines_and_blacklisting(client):
    signed_in_staff(client, "district_civil", CHAOYANG)
    late = make_provider(client, name="朝阳区康乐驿站")
    barred = make_provider(client, kind="home_care_company", name="朝阳区诚信护理公司")
    opened = client.post(
        f"{API}/providers/{late['id']}/rectifications",
        json={"reason": "服务记录不全", "working_days": 5},
        headers=admin_headers(),
    )
    order = posted(opened)
    assert order["due_on"] == "2026-03-23"  # five working days after Monday the 16th
    listed = client.post(
        f"{API}/providers/{barred['id']}/blacklist",
        json={"reason": "虚构服务骗取补贴", "legal_basis": "京民发〔2026〕6号 四(三)"},
        headers=admin_headers(),
    )
    posted(listed)

    html = page(client, "/providers")
    text = text_of(html)
    assert "朝阳区康乐驿站 社区养老服务驿站 在册" in text and late["credit_code"] in text
    assert "整改中,整改期限 2026-03-23" in text and "服务记录不全" in text and "已逾期" not in text
    assert "朝阳区诚信护理公司 居家社区养老服务企业 取消资格" in text
    assert "已纳入 :2026-03-16 起,朝阳区认定" in text and "虚构服务骗取补贴" in text
    assert f'for="close-note-{order["id"]}"' in html

    set_clock(client, "2026-03-24T10:00:00+08:00")
    assert "整改中,整改期限 2026-03-23 已逾期" in text_of(page(client, "/providers"))
    text = text_of(page(client, "/providers", status="disqualified"))
    assert "朝阳区诚信护理公司" in text and "朝阳区康乐驿站" not in text
    assert "没有符合条件的服务机构" in text_of(page(client, "/providers", status="suspended"))

    close = f"/rectifications/{order['id']}/close"
    refused = post_form(client, close, {"note": "已补齐服务记录"}, from_page="/providers")
    assert "CONFIRMATION_REQUIRED" in flash_of(refused)
    closed = post_form(client, close, {"note": "已补齐服务记录", "confirm": "yes"}, from_page="/providers")
    assert closed.status_code == 303 and flash_of(closed) == "已确认“朝阳区康乐驿站”整改完成,整改通知已结束"
    after = api(client, f"/rectifications/{order['id']}")
    assert (after["status"], after["close_note"]) == ("rectified", "已补齐服务记录")
    assert "整改中" not in text_of(page(client, "/providers"))

    signed_in_staff(client, "district_civil", HAIDIAN)
    assert "朝阳区康乐驿站" not in page(client, "/providers")
