"""Provider list publication (一(四)): each district's monthly list of providers added and
withdrawn, computed from the listing history, due by the 5th working day of the next month,
published once with who and when, flagged when late, and downloadable as XLSX."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from app.calendar.service import CALENDAR_YEARS
from app.rules.calendar import WorkingCalendar, nth_working_day_of_month
from app.rules.months import Month
from tests.conftest import admin_headers
from tests.factories import API, assert_problem, bearer, make_provider, make_staff, set_clock

HEADERS = ["机构名称", "类型", "统一社会信用代码", "变动", "变动日期", "原因"]


def change_status(client, provider: dict, status: str, reason: str) -> None:
    response = client.post(
        f"{API}/providers/{provider['id']}/status",
        json={"status": status, "reason": reason},
        headers=admin_headers(),
    )
    assert response.status_code == 200, response.text


def provider_at(client, when: str, name: str, **fields) -> dict:
    set_clock(client, when)
    return make_provider(client, name=name, **fields)


def get_list(client, district_code: str, month: str, headers=None):
    return client.get(
        f"{API}/provider-lists",
        params={"district_code": district_code, "month": month},
        headers=headers or admin_headers(),
    )


def publish(client, district_code: str, month: str, headers=None):
    return client.post(
        f"{API}/provider-lists",
        json={"district_code": district_code, "month": month},
        headers=headers or admin_headers(),
    )


def changes(listing: dict) -> list[tuple[str, str]]:
    return [(e["name"], e["change"]) for e in listing["entries"]]


@pytest.fixture
def history(client) -> dict:
    """A district's listing history around January and February 2026 (Beijing times)."""
    p = {}
    p["before"] = provider_at(client, "2025-12-20T10:00:00+08:00", "早已纳入的驿站")
    p["january"] = provider_at(client, "2026-01-10T10:00:00+08:00", "一月纳入的驿站")
    p["withdrawn"] = provider_at(client, "2026-01-10T10:05:00+08:00", "二月退出的驿站")
    p["suspended"] = provider_at(client, "2026-01-10T10:10:00+08:00", "二月暂停的机构", kind="institution")
    p["already_out"] = provider_at(client, "2026-01-10T10:15:00+08:00", "一月已暂停的驿站")
    p["relisted"] = provider_at(client, "2026-01-10T10:20:00+08:00", "二月恢复的驿站")
    set_clock(client, "2026-01-20T10:00:00+08:00")
    change_status(client, p["already_out"], "suspended", "服务质量整改")
    change_status(client, p["relisted"], "suspended", "差评较多,限期整改")
    p["last_minute"] = provider_at(
        client, "2026-01-31T23:50:00+08:00", "一月最后时刻纳入的企业", kind="home_care_company"
    )
    p["first_minute"] = provider_at(
        client, "2026-02-01T00:10:00+08:00", "二月第一时刻纳入的企业", kind="home_care_company"
    )
    set_clock(client, "2026-02-05T10:00:00+08:00")
    change_status(client, p["already_out"], "withdrawn", "自愿退出")  # was not listed: no change
    set_clock(client, "2026-02-10T10:00:00+08:00")
    change_status(client, p["withdrawn"], "withdrawn", "自愿退出项目")
    set_clock(client, "2026-02-12T10:00:00+08:00")
    change_status(client, p["suspended"], "suspended", "先涨价后抵扣,核查中")
    p["february"] = provider_at(
        client, "2026-02-20T10:00:00+08:00", "二月纳入的评估机构", kind="assessment_agency"
    )
    p["other_district"] = provider_at(
        client, "2026-02-15T10:00:00+08:00", "海淀区的驿站", district_code="110108"
    )
    set_clock(client, "2026-02-25T10:00:00+08:00")
    change_status(client, p["relisted"], "listed", "整改完成")
    p["march"] = provider_at(client, "2026-03-03T10:00:00+08:00", "三月纳入的驿站")
    return p


def test_five_working_days_on_the_official_calendar():
    calendar = WorkingCalendar.china(CALENDAR_YEARS)
    # The working days the tests rely on (Spring Festival 2026: 2026-02-15 … 02-23).
    assert str(nth_working_day_of_month(Month(2026, 2), 5, calendar)) == "2026-02-06"
    assert str(nth_working_day_of_month(Month(2026, 3), 5, calendar)) == "2026-03-06"
    assert str(nth_working_day_of_month(Month(2026, 4), 5, calendar)) == "2026-04-08"


def test_february_list_holds_the_changes_of_february_only(client, history):
    set_clock(client, "2026-03-02T09:00:00+08:00")
    response = get_list(client, "110105", "2026-02")
    assert response.status_code == 200, response.text
    listing = response.json()
    assert listing["first_list"] is False and listing["complete"] is True
    assert changes(listing) == [
        ("二月第一时刻纳入的企业", "added"),
        ("二月退出的驿站", "withdrawn"),
        ("二月暂停的机构", "withdrawn"),
        ("二月纳入的评估机构", "added"),
        ("二月恢复的驿站", "added"),
    ]
    assert (listing["added"], listing["withdrawn"]) == (3, 2)
    by_name = {e["name"]: e for e in listing["entries"]}
    suspended = by_name["二月暂停的机构"]
    assert suspended["to_status"] == "suspended" and suspended["change_title"] == "退出(暂停)"
    assert suspended["reason"] == "先涨价后抵扣,核查中"
    assert suspended["changed_on"] == "2026-02-12"
    assert suspended["kind_title"] == "养老机构"
    assert suspended["credit_code"] == history["suspended"]["credit_code"]
    assert by_name["二月第一时刻纳入的企业"]["changed_on"] == "2026-02-01"
    assert by_name["二月恢复的驿站"]["reason"] == "整改完成"
    assert listing["publication"] == {
        "id": None,
        "due_on": "2026-03-06",
        "published": False,
        "published_at": None,
        "published_by": None,
        "late": False,
        "xlsx_url": None,
    }
    # The other district has its own list.
    haidian = get_list(client, "110108", "2026-02").json()
    assert changes(haidian) == [("海淀区的驿站", "added")]


def test_first_list_counts_every_provider_listed_then_as_added(client, history):
    set_clock(client, "2026-02-27T09:00:00+08:00")
    listing = get_list(client, "110105", "2026-01").json()
    assert listing["first_list"] is True
    assert changes(listing) == [
        ("早已纳入的驿站", "added"),
        ("一月纳入的驿站", "added"),
        ("二月退出的驿站", "added"),
        ("二月暂停的机构", "added"),
        ("一月已暂停的驿站", "added"),
        ("二月恢复的驿站", "added"),
        ("一月已暂停的驿站", "withdrawn"),
        ("二月恢复的驿站", "withdrawn"),
        ("一月最后时刻纳入的企业", "added"),
    ]
    assert listing["entries"][0]["changed_on"] == "2025-12-20"
    # Due 5 working days after the work plan was issued (2026-02-14), not before it existed.
    assert listing["publication"]["due_on"] == "2026-02-28"
    assert listing["publication"]["late"] is False


def test_publish_on_time_then_once_only(client, history):
    civil = bearer(make_staff(client, role="district_civil", district_code="110105", name="朝阳民政"))
    set_clock(client, "2026-03-06T23:59:00+08:00")  # the due day, late evening Beijing time
    response = publish(client, "110105", "2026-02", headers=civil)
    assert response.status_code == 201, response.text
    publication = response.json()
    assert publication["late"] is False
    assert publication["due_on"] == "2026-03-06"
    assert publication["published_at"] == "2026-03-06T23:59:00+08:00"
    assert publication["published_by"].startswith("staff:")
    assert (publication["added"], publication["withdrawn"]) == (3, 2)
    assert len(publication["entries"]) == 5

    assert_problem(publish(client, "110105", "2026-02", headers=civil), 409, "LIST_ALREADY_PUBLISHED")
    assert_problem(publish(client, "110105", "2026-02"), 409, "LIST_ALREADY_PUBLISHED")

    listing = get_list(client, "110105", "2026-02", headers=civil).json()
    assert listing["publication"]["published"] is True
    assert listing["publication"]["id"] == publication["id"]
    assert listing["publication"]["late"] is False
    assert listing["publication"]["xlsx_url"] == f"{API}/provider-lists/{publication['id']}.xlsx"
    again = client.get(f"{API}/provider-lists/{publication['id']}", headers=civil)
    assert again.status_code == 200 and again.json() == publication


def test_publish_late(client, history):
    set_clock(client, "2026-03-09T09:00:00+08:00")  # Monday after the due Friday
    unpublished = get_list(client, "110105", "2026-02").json()
    assert unpublished["publication"]["late"] is True  # overdue, not yet published
    response = publish(client, "110105", "2026-02")
    assert response.status_code == 201, response.text
    assert response.json()["late"] is True
    # The first list: published after its due day (2026-02-28).
    set_clock(client, "2026-03-02T09:00:00+08:00")
    first = publish(client, "110105", "2026-01")
    assert first.status_code == 201, first.text
    assert first.json()["late"] is True and first.json()["due_on"] == "2026-02-28"


def test_a_month_not_over_or_outside_the_program_is_refused(client):
    set_clock(client, "2026-03-16T10:00:00+08:00")
    assert_problem(publish(client, "110105", "2026-03"), 409, "MONTH_NOT_ENDED")
    preview = get_list(client, "110105", "2026-03").json()
    assert preview["complete"] is False
    assert_problem(get_list(client, "110105", "2025-12"), 404, "NO_POLICY_FOR_MONTH")
    assert_problem(publish(client, "110105", "2025-12"), 404, "NO_POLICY_FOR_MONTH")
    assert_problem(get_list(client, "999999", "2026-02"), 422, "UNKNOWN_DISTRICT")
    assert_problem(
        client.get(f"{API}/provider-lists", params={"month": "2026-02"}, headers=admin_headers()),
        422,
        "VALIDATION_ERROR",
    )


def test_scoping(client, history):
    set_clock(client, "2026-03-02T09:00:00+08:00")
    haidian_civil = bearer(make_staff(client, role="district_civil", district_code="110108"))
    chaoyang_finance = bearer(make_staff(client, role="district_finance", district_code="110105"))
    auditor = bearer(make_staff(client, role="auditor"))
    provider = bearer(history["january"]["api_key"])

    assert_problem(get_list(client, "110105", "2026-02", headers=haidian_civil), 403, "DISTRICT_OUT_OF_SCOPE")
    assert_problem(publish(client, "110105", "2026-02", headers=haidian_civil), 403, "DISTRICT_OUT_OF_SCOPE")
    assert_problem(get_list(client, "110105", "2026-02", headers=provider), 403, "FORBIDDEN")
    assert_problem(publish(client, "110105", "2026-02", headers=provider), 403, "FORBIDDEN")
    assert_problem(publish(client, "110105", "2026-02", headers=chaoyang_finance), 403, "FORBIDDEN")
    assert_problem(publish(client, "110105", "2026-02", headers=auditor), 403, "FORBIDDEN")
    assert get_list(client, "110105", "2026-02", headers=chaoyang_finance).status_code == 200
    assert get_list(client, "110105", "2026-02", headers=auditor).status_code == 200

    published = publish(client, "110105", "2026-02")
    assert published.status_code == 201, published.text
    publication_id = published.json()["id"]
    for path in (f"{publication_id}.xlsx", publication_id):
        assert_problem(client.get(f"{API}/provider-lists/{path}", headers=haidian_civil), 404, "NOT_FOUND")
        assert_problem(client.get(f"{API}/provider-lists/{path}", headers=provider), 403, "FORBIDDEN")
        assert client.get(f"{API}/provider-lists/{path}", headers=auditor).status_code == 200
    assert_problem(client.get(f"{API}/provider-lists/nope.xlsx", headers=auditor), 404)


def test_xlsx(client, history):
    set_clock(client, "2026-03-02T09:00:00+08:00")
    published = publish(client, "110105", "2026-02")
    assert published.status_code == 201, published.text
    for response in (
        client.get(f"{API}/provider-lists/{published.json()['id']}.xlsx", headers=admin_headers()),
        client.get(
            f"{API}/provider-lists",
            params={"district_code": "110105", "month": "2026-02", "format": "xlsx"},
            headers=admin_headers(),
        ),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert "provider-list-110105-2026-02.xlsx" in response.headers["content-disposition"]
        workbook = load_workbook(io.BytesIO(response.content))
        sheet = workbook["名单变动"]
        rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
        assert list(rows[0]) == HEADERS
        body = rows[1:]
        assert [(r[0], r[3]) for r in body] == [
            ("二月第一时刻纳入的企业", "新增"),
            ("二月退出的驿站", "退出"),
            ("二月暂停的机构", "退出(暂停)"),
            ("二月纳入的评估机构", "新增"),
            ("二月恢复的驿站", "新增"),
        ]
        suspended = body[2]
        assert suspended[1] == "养老机构"
        assert suspended[2] == history["suspended"]["credit_code"]
        assert suspended[4].date().isoformat() == "2026-02-12"
        assert suspended[5] == "先涨价后抵扣,核查中"
        assert body[3][1] == "评估经办机构"
        info = dict(workbook["公布信息"].iter_rows(values_only=True))
        assert info["应公布日期"] == "2026-03-06" and info["是否逾期"] == "否"
