"""The quarterly progress report (issue 4, item 6), JSON and XLSX, over the January scenario of
tests.api.test_statements: February's vouchers issued, January's expired, and one elder's February
voucher revoked (deceased)."""

from __future__ import annotations

import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import openpyxl
import pytest

from app.rules.reports import quarter_months, report_due_on, utilisation_text
from tests.api.test_statements import XLSX_MEDIA_TYPE, January, build_january, cell_fen
from tests.conftest import admin_headers
from tests.factories import API, assert_problem, bearer, run_job, set_clock

REPORT = f"{API}/reports/quarterly"
Q1 = {"district_code": "110105", "year": 2026, "quarter": 1}


def exact_ratio(numerator: int, denominator: int) -> str:
    return str(
        (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    )


def build_quarter(client) -> January:
    jan = build_january(client)  # the clock is at 2026-02-03
    response = run_job(client, "issue", "2026-02")
    assert response.status_code == 200, response.text
    response = run_job(client, "expire", "2026-01")
    assert response.status_code == 200, response.text
    # 98,827 fen released for 朝阳区: 800.00 - 155.00 and 800.00 - 400.00 - 56.73
    response = client.post(
        f"{API}/elders/{jan.elders[0]['id']}/suspend", json={"reason": "deceased"}, headers=bearer(jan.civil)
    )
    assert response.status_code == 200, response.text
    return jan


def report(client, headers=None, **params) -> dict:
    response = client.get(REPORT, params={**Q1, **params}, headers=headers or admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def test_quarterly_report_figures(client):
    jan = build_quarter(client)
    body = report(client, headers=bearer(jan.civil))
    assert (body["district_code"], body["district_name"], body["year"], body["quarter"]) == (
        "110105",
        "朝阳区",
        2026,
        1,
    )
    assert body["due_on"] == "2026-03-25"
    assert [m["month"] for m in body["months"]] == ["2026-01", "2026-02", "2026-03"]
    january, february, march = body["months"]

    # January: two elders, two vouchers of 800.00; four posted redemptions and one reversed.
    assert (january["elders_with_vouchers"], january["vouchers_issued"], january["face_value_fen"]) == (
        2,
        2,
        160000,
    )
    assert january["redemptions"] == {"count": 5, "posted": 4, "reversed": 1, "elders": 2}
    assert (january["amount_fen"], january["deduction_fen"]) == (143345, 61173)
    assert january["by_category"] == {
        "home_community": {
            "redemptions": 3,
            "amount_fen": 30000 + 999 + 12345,
            "deduction_fen": 15000 + 500 + 5673,
        },
        "institution": {"redemptions": 1, "amount_fen": 100001, "deduction_fen": 40000},
    }
    assert january["utilisation"] == exact_ratio(61173, 160000) == "0.3823"
    assert january["expired"] == {"vouchers": 2, "released_fen": (80000 - 15500) + (80000 - 45673)}
    assert january["revoked"] == {"vouchers": 0, "released_fen": 0}
    batch = jan.batch
    assert january["settlement"] == {
        "settlement_id": batch["id"],
        "status": "payment",
        "deadlines": batch["deadlines"],
        "overdue": False,
        "payable_fen": batch["totals"]["payable_fen"],
    }
    assert january["funding"] == {**batch["funding"], "payable_fen": batch["totals"]["payable_fen"]}
    assert sum(batch["funding"].values()) == 60673

    # February: vouchers issued, nothing redeemed, one revoked at death; no batch yet.
    assert (february["elders_with_vouchers"], february["vouchers_issued"], february["face_value_fen"]) == (
        2,
        2,
        160000,
    )
    assert february["redemptions"] == {"count": 0, "posted": 0, "reversed": 0, "elders": 0}
    assert february["utilisation"] == "0.0000"
    assert february["revoked"] == {"vouchers": 1, "released_fen": 80000}
    assert february["expired"] == {"vouchers": 0, "released_fen": 0}
    assert february["settlement"]["settlement_id"] is None
    assert february["settlement"]["status"] == "not_built"
    assert february["settlement"]["deadlines"]["civil_review"].startswith("2026-03-")
    assert february["settlement"]["overdue"] is False
    assert february["funding"] == {"central_fen": 0, "city_fen": 0, "district_fen": 0, "payable_fen": 0}

    # March: nothing issued yet; utilisation is undefined, not zero.
    assert (march["vouchers_issued"], march["face_value_fen"], march["utilisation"]) == (0, 0, None)

    # The quarter: elders counted once; sums of the months; utilisation exact, not averaged.
    total = body["total"]
    assert (total["elders_with_vouchers"], total["vouchers_issued"], total["face_value_fen"]) == (
        2,
        4,
        320000,
    )
    assert total["redemptions"] == {"count": 5, "posted": 4, "reversed": 1, "elders": 2}
    assert total["deduction_fen"] == 61173
    assert total["utilisation"] == exact_ratio(61173, 320000) == "0.1912"  # 0.191165625
    assert total["expired"] == january["expired"] and total["revoked"] == february["revoked"]
    assert total["by_category"] == january["by_category"]
    assert total["funding"] == january["funding"]

    # A redemption belongs to the elder's district: 海淀区 sees only its elder's.
    haidian = report(client, headers=bearer(jan.civil_haidian), district_code="110108")
    assert haidian["months"][0]["redemptions"]["posted"] == 1
    assert haidian["months"][0]["deduction_fen"] == 15000
    assert haidian["months"][0]["settlement"]["status"] == "civil_review"
    assert haidian["months"][0]["funding"]["payable_fen"] == 0  # not approved yet


def test_quarterly_report_overdue_and_due_dates(client):
    jan = build_quarter(client)
    set_clock(client, "2026-02-20T10:00:00+08:00")  # past January's payment deadline
    january = report(client)["months"][0]
    assert january["settlement"]["status"] == "payment"
    assert date.fromisoformat(january["settlement"]["deadlines"]["payment"]) < date(2026, 2, 20)
    assert january["settlement"]["overdue"] is True
    for quarter, due in ((2, "2026-06-25"), (3, "2026-09-25"), (4, "2026-12-25")):
        body = report(client, headers=bearer(jan.auditor), quarter=quarter)
        assert body["due_on"] == due
        assert body["total"]["utilisation"] is None  # nothing issued in those months yet


def test_quarterly_report_xlsx(client):
    jan = build_quarter(client)
    body = report(client)
    response = client.get(f"{REPORT}.xlsx", params=Q1, headers=bearer(jan.finance))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert (
        f"filename*=UTF-8''{quote('季度报告_110105_2026Q1.xlsx', safe='')}"
        in response.headers["content-disposition"]
    )
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["季度报告"]
    rows = {row[0]: row[1:] for row in workbook["季度报告"].iter_rows(values_only=True) if row and row[0]}
    assert rows["区"][0] == "朝阳区(110105)"
    assert rows["报送截止日期"][0].date() == date(2026, 3, 25)
    assert list(rows["指标"][:4]) == ["2026-01", "2026-02", "2026-03", "本季度"]
    periods = [*body["months"], body["total"]]
    assert list(rows["持券老年人数"][:4]) == [p["elders_with_vouchers"] for p in periods]
    assert [cell_fen(v) for v in rows["消费券面值(元)"][:4]] == [p["face_value_fen"] for p in periods]
    assert [cell_fen(v) for v in rows["抵扣金额(元)"][:4]] == [p["deduction_fen"] for p in periods]
    assert [cell_fen(v) for v in rows["机构服务抵扣金额(元)"][:4]] == [
        p["by_category"]["institution"]["deduction_fen"] for p in periods
    ]
    ratios = [
        None if v is None else str(Decimal(str(v)).quantize(Decimal("0.0001")))
        for v in rows["使用率(抵扣/面值)"][:4]
    ]
    assert ratios == [p["utilisation"] for p in periods]
    assert list(rows["结算状态"][:3]) == ["待支付", "未生成", "未生成"]
    assert [cell_fen(v) for v in rows["中央资金(元)"][:4]] == [p["funding"]["central_fen"] for p in periods]
    assert cell_fen(rows["到期释放金额(元)"][3]) == body["total"]["expired"]["released_fen"]


def test_quarterly_report_scoping_and_validation(client):
    jan = build_january(client)
    for path in (REPORT, f"{REPORT}.xlsx"):
        assert client.get(path, params=Q1, headers=bearer(jan.auditor)).status_code == 200
        assert client.get(path, params=Q1, headers=bearer(jan.civil)).status_code == 200
        assert_problem(
            client.get(path, params=Q1, headers=bearer(jan.civil_haidian)), 403, "DISTRICT_OUT_OF_SCOPE"
        )
        assert_problem(client.get(path, params=Q1, headers=bearer(jan.station["api_key"])), 403, "FORBIDDEN")
        assert_problem(client.get(path, params=Q1), 401)
        for bad in ({"quarter": 5}, {"quarter": 0}, {"year": 1999}, {"district_code": "11010"}):
            assert_problem(
                client.get(path, params={**Q1, **bad}, headers=admin_headers()), 422, "VALIDATION_ERROR"
            )
        assert_problem(
            client.get(path, params={**Q1, "district_code": "999999"}, headers=admin_headers()),
            422,
            "UNKNOWN_DISTRICT",
        )
        params = dict(Q1)
        del params["district_code"]
        assert_problem(client.get(path, params=params, headers=admin_headers()), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("deduction", "face", "expected"),
    [
        (0, 80000, "0.0000"),
        (80000, 80000, "1.0000"),
        (15000, 80000, "0.1875"),
        (1, 3, "0.3333"),
        (2, 3, "0.6667"),
        (5, 100000, "0.0001"),  # exactly half a unit of the 4th place rounds up
        (15, 100000, "0.0002"),
        (4, 100000, "0.0000"),
        (123456789012345, 987654321098765, "0.1250"),
        (1, 0, None),
    ],
)
def test_utilisation_is_exact(deduction, face, expected):
    assert utilisation_text(deduction, face) == expected


def test_quarters_and_due_dates():
    assert [str(m) for m in quarter_months(2026, 4)] == ["2026-10", "2026-11", "2026-12"]
    assert [report_due_on(2026, q).isoformat() for q in (1, 2, 3, 4)] == [
        "2026-03-25",
        "2026-06-25",
        "2026-09-25",
        "2026-12-25",
    ]
    with pytest.raises(ValueError):
        quarter_months(2026, 5)
