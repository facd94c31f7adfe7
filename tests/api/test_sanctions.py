"""The monthly sanctions view (GET /sanctions, 四(三)): suspensions, disqualifications,
blacklistings and rectification orders of a month, by district and scoped by role."""

from __future__ import annotations

import pytest

from tests.api.sanctions_support import (
    BLACKLIST,
    CHAOYANG,
    HAIDIAN,
    blacklist,
    change_status,
    get,
    open_order,
    staff,
)
from tests.conftest import admin_headers
from tests.factories import API, assert_problem, bearer, make_provider, set_clock


def test_sanctions_by_district_and_month_scoped_by_role(client):
    set_clock(client, "2026-03-02T10:00:00+08:00")
    suspended = make_provider(client, district_code=CHAOYANG, name="暂停的驿站")
    disqualified = make_provider(client, district_code=CHAOYANG, name="取消资格的驿站")
    blacklisted = make_provider(client, district_code=CHAOYANG, name="失信的企业")
    ordered = make_provider(client, district_code=CHAOYANG, name="整改的驿站")
    haidian = make_provider(client, district_code=HAIDIAN, name="海淀的驿站")

    set_clock(client, "2026-03-03T10:00:00+08:00")
    assert change_status(client, suspended, "suspended", "服务投诉集中").status_code == 200
    set_clock(client, "2026-03-04T10:00:00+08:00")
    assert change_status(client, disqualified, "disqualified", "核查属实").status_code == 200
    set_clock(client, "2026-03-05T10:00:00+08:00")
    entry = blacklist(client, blacklisted).json()
    set_clock(client, "2026-03-06T10:00:00+08:00")
    order = open_order(client, ordered).json()
    assert change_status(client, haidian, "suspended", "海淀处理").status_code == 200
    set_clock(client, "2026-04-01T10:00:00+08:00")
    assert change_status(client, suspended, "listed", "整改完成,恢复").status_code == 200  # not a sanction
    assert change_status(client, ordered, "withdrawn", "主动退出").status_code == 200  # not a sanction

    march = get(client, "/sanctions", month="2026-03", district_code=CHAOYANG)
    assert march["district_code"] == CHAOYANG and march["month"] == "2026-03"
    kinds = [(i["kind"], i["provider_name"]) for i in march["items"]]
    assert kinds == [
        ("suspension", "暂停的驿站"),
        ("disqualification", "取消资格的驿站"),
        ("disqualification", "失信的企业"),  # the blacklisting disqualified it
        ("blacklist", "失信的企业"),
        ("rectification", "整改的驿站"),
    ]
    assert march["counts"] == {"suspension": 1, "disqualification": 2, "blacklist": 1, "rectification": 1}
    first = march["items"][0]
    assert (first["reason"], first["at"], first["credit_code"]) == (
        "服务投诉集中",
        "2026-03-03T10:00:00+08:00",
        suspended["credit_code"],
    )
    assert first["blacklist"] is None and first["rectification"] is None
    assert march["items"][3]["blacklist"]["id"] == entry["id"]
    assert march["items"][3]["blacklist"]["legal_basis"] == BLACKLIST["legal_basis"]
    assert march["items"][4]["rectification"]["id"] == order["id"]
    assert march["items"][4]["rectification"]["provider_status"] == "withdrawn"  # its status now
    assert [i["kind"] for i in get(client, "/sanctions", month="2026-03", kind="blacklist")["items"]] == [
        "blacklist"
    ]
    assert get(client, "/sanctions", month="2026-04", district_code=CHAOYANG)["items"] == []
    assert get(client, "/sanctions", month="2026-02")["items"] == []

    # City-wide roles see every district unless they ask for one.
    auditor = staff(client, "auditor")
    everywhere = get(client, "/sanctions", month="2026-03", headers=auditor)
    assert everywhere["district_code"] is None
    assert len(everywhere["items"]) == 6
    assert [
        i["provider_name"] for i in get(client, "/sanctions", month="2026-03", district_code=HAIDIAN)["items"]
    ] == ["海淀的驿站"]

    # District staff: their own district (also by default); another one is 403.
    finance = staff(client, "district_finance", HAIDIAN)
    own = get(client, "/sanctions", month="2026-03", headers=finance)
    assert own["district_code"] == HAIDIAN
    assert [i["provider_name"] for i in own["items"]] == ["海淀的驿站"]
    assert_problem(
        client.get(
            f"{API}/sanctions", params={"month": "2026-03", "district_code": CHAOYANG}, headers=finance
        ),
        403,
        "DISTRICT_OUT_OF_SCOPE",
    )

    # A provider sees only the sanctions on itself.
    mine = get(client, "/sanctions", month="2026-03", headers=bearer(suspended["api_key"]))
    assert [i["kind"] for i in mine["items"]] == ["suspension"]
    assert (
        get(
            client, "/sanctions", month="2026-03", headers=bearer(haidian["api_key"]), district_code=CHAOYANG
        )["items"]
        == []
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"month": "2026-13"},
        {"month": "2026-3"},
        {"month": "2026-03", "district_code": "11010"},
        {"month": "2026-03", "kind": "warning"},
    ],
)
def test_sanctions_bad_queries(client, params):
    assert_problem(client.get(f"{API}/sanctions", params=params, headers=admin_headers()), 422)


def test_sanctions_unknown_district_and_no_token(client):
    assert_problem(
        client.get(
            f"{API}/sanctions",
            params={"month": "2026-03", "district_code": "999999"},
            headers=admin_headers(),
        ),
        422,
        "UNKNOWN_DISTRICT",
    )
    assert_problem(client.get(f"{API}/sanctions", params={"month": "2026-03"}), 401)
    assert_problem(client.get(f"{API}/rectifications"), 401)
    assert_problem(client.get(f"{API}/blacklist"), 401)
