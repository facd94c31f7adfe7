"""The month overview: figures, categories, the daily chart, top providers, the current batch."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from tests.conftest import admin_headers
from tests.dashboard.pages import DASHBOARD, signed_in_staff
from tests.factories import API, approved_elder, make_provider, redeem, set_clock, staff, voucher_of


def posted(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def text_of(html: str) -> str:
    """The page's visible text with tags and whitespace runs collapsed, for phrase checks."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_overview_shows_the_districts_month(client):
    station = make_provider(client, kind="station", name="劲松驿站")
    nursing_home = make_provider(client, kind="institution", name="颐康养老院")
    a = approved_elder(client, district_code="110105", approved_at="2026-03-01T00:00:00+08:00")
    b = approved_elder(client, district_code="110105", approved_at="2026-03-01T00:00:00+08:00")
    face_value = voucher_of(client, a["id"])["face_value_fen"] + voucher_of(client, b["id"])["face_value_fen"]
    home = [
        posted(
            redeem(client, station, a["id"], item=11, amount_fen=30000, served_at="2026-03-16T09:00:00+08:00")
        ),
        posted(
            redeem(client, station, b["id"], item=11, amount_fen=20000, served_at="2026-03-02T10:00:00+08:00")
        ),
    ]
    institution = posted(
        redeem(client, nursing_home, a["id"], item=3, amount_fen=18000, served_at="2026-03-02T23:30:00+08:00")
    )
    reversed_one = posted(redeem(client, station, b["id"], item=11, amount_fen=1000))
    response = client.post(
        f"{API}/redemptions/{reversed_one['id']}/reverse",
        json={"reason": "录入错误"},
        headers={"Authorization": f"Bearer {station['api_key']}", "Idempotency-Key": "reverse-1"},
    )
    assert response.status_code == 200, response.text
    # Another district's activity stays out of 朝阳区's page.
    haidian_station = make_provider(client, kind="station", district_code="110108")
    haidian = approved_elder(client, district_code="110108")
    posted(redeem(client, haidian_station, haidian["id"], item=11, amount_fen=50000))

    signed_in_staff(client, "district_civil", "110105")
    page = client.get(f"{DASHBOARD}/?month=2026-03")
    assert page.status_code == 200
    text = text_of(page.text)

    home_fen = sum(r["deduction_fen"] for r in home)
    total_fen = home_fen + institution["deduction_fen"]
    assert (home_fen, institution["deduction_fen"]) == (25000, 7200)  # 50 % and 40 %
    ratio = (Decimal(total_fen) / Decimal(face_value) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    for phrase in (
        "朝阳区 · 2026年3月 概览",
        "持券老年人 2 人",
        "发放消费券 2 张",
        f"发放面额 {face_value // 100:,}.00 元",
        "已抵扣 322.00 元 3 笔",
        f"使用率 {ratio}%",
        "居家社区服务 2 500.00 250.00",
        "机构服务 1 180.00 72.00",
        "合计 3 680.00 322.00",
        "劲松驿站 社区养老服务驿站 2 2 250.00",
        "颐康养老院 养老机构 1 1 72.00",
    ):
        assert phrase in text, phrase
    assert text.index("劲松驿站") < text.index("颐康养老院")  # by deduction, largest first
    # The chart: one bar per day of March with its count; the 23:30 service counts on the 2nd.
    assert page.text.count("<rect") == 31
    assert "<title>3月2日:2 笔</title>" in page.text
    assert "<title>3月16日:1 笔</title>" in page.text
    assert "<title>3月17日:0 笔</title>" in page.text
    assert "500.00" not in text.split("按服务类别")[0]  # 海淀区's 250.00 deduction is nowhere
    assert "海淀" not in text


def test_overview_shows_the_batch_stages_and_overdue_in_red(client):
    station = make_provider(client, kind="station")
    elder = approved_elder(client, district_code="110105")
    posted(redeem(client, station, elder["id"], item=11, amount_fen=30000))
    set_clock(client, "2026-04-20T10:00:00+08:00")  # past 10 working days of April
    civil = staff(client, "district_civil", "110105")
    built = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-03"}, headers=civil.headers
    )
    assert built.status_code == 201, built.text
    batch = built.json()
    assert batch["overdue"] is True and batch["working_days_left"] < 0

    signed_in_staff(client, "district_civil", "110105")
    page = client.get(f"{DASHBOARD}/")  # April: the March batch is the one being worked on
    text = text_of(page.text)
    assert "2026-03 结算批次" in text
    assert f"截止 {batch['deadlines']['civil_review']}" in text
    assert f"已逾期 {-batch['working_days_left']} 个工作日" in text
    assert 'class="stage stage-current overdue"' in page.text
    assert f'href="/dashboard/settlements/{batch["id"]}"' in page.text


def test_overview_of_an_empty_month(client):
    signed_in_staff(client, "district_finance", "110105")
    text = text_of(client.get(f"{DASHBOARD}/?month=2026-05").text)
    assert "持券老年人 0 人" in text and "使用率 —" in text
    assert "本月尚无核销记录" in text and "尚未生成结算批次" in text


def test_api_admin_can_still_read_the_same_figures(client):
    # The page and the quarterly report agree: both come from reports.monthly_figures.
    station = make_provider(client, kind="station")
    elder = approved_elder(client, district_code="110105")
    posted(redeem(client, station, elder["id"], item=11, amount_fen=30000))
    report = client.get(
        f"{API}/reports/quarterly",
        params={"district_code": "110105", "year": 2026, "quarter": 1},
        headers=admin_headers(),
    ).json()
    march = report["months"][2]
    signed_in_staff(client, "district_civil", "110105")
    text = text_of(client.get(f"{DASHBOARD}/?month=2026-03").text)
    assert f"已抵扣 {march['deduction_fen'] // 100}.00 元" in text
