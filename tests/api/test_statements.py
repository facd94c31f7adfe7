"""Settlement statements (issue 4, item 5): the batch CSV and XLSX, and the provider's monthly
statement. The scenario (``build_january``) runs the settlement over HTTP as a district would:
elders approved on 2026-01-10, redemptions by three providers (one registered in 海淀区 serving
朝阳区 elders too), one reversal, the month closed, both districts' batches built on 2026-02-03,
one redemption rejected at civil review, finance approval and one provider paid."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import openpyxl

from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    make_provider,
    make_staff,
    redeem,
    set_clock,
)

CSV_HEADER = [
    "服务机构",
    "统一社会信用代码",
    "核销编号",
    "老年人",
    "服务项目",
    "服务时间",
    "消费金额(元)",
    "长护险支付(元)",
    "抵扣金额(元)",
    "核减",
    "核减原因",
    "应付(元)",
    "缺少凭证",
]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SERVED_AT = "2026-01-10T10:00:00+08:00"  # the instant the elders are approved
STATION_NAME = "朝阳/阳光:养老驿站[东区]"  # characters a sheet title may not hold
INSTITUTION_NAME = "北京市朝阳区康乐长期照护服务有限责任公司第一分公司附属照护中心"  # > 31 characters
COMPANY_NAME = "海淀居家养老服务有限公司"
REJECTION_REASON = "=重复核销"  # would be a formula if written carelessly


@dataclass
class January:
    civil: str
    finance: str
    civil_haidian: str
    auditor: str
    station: dict
    institution: dict
    company: dict
    elders: list[dict]
    batch: dict  # 朝阳区 (110105), after review, approval and the station's payment
    batch_haidian: dict  # 海淀区 (110108), as built
    redemptions: dict[str, dict] = field(default_factory=dict)
    rejected_id: str = ""
    reversed_id: str = ""


def _redeem(client, provider: dict, elder: dict, **body) -> dict:
    response = redeem(client, provider, elder["id"], served_at=SERVED_AT, **body)
    assert response.status_code == 201, response.text
    return response.json()


def build_january(client) -> January:
    """January 2026 settled over HTTP as far as the payment stage (see the module docstring)."""
    set_clock(client, "2026-01-10T10:00:00+08:00")
    civil = make_staff(client, role="district_civil", district_code="110105")
    finance = make_staff(client, role="district_finance", district_code="110105")
    civil_haidian = make_staff(client, role="district_civil", district_code="110108")
    auditor = make_staff(client, role="auditor")
    station = make_provider(client, kind="station", name=STATION_NAME)
    institution = make_provider(client, kind="institution", name=INSTITUTION_NAME)
    company = make_provider(client, kind="home_care_company", district_code="110108", name=COMPANY_NAME)
    elders = [
        approved_elder(client, district_code="110105", birth="19480305"),
        approved_elder(client, district_code="110105", birth="19500101"),
        approved_elder(client, district_code="110108", birth="19460707"),
    ]
    for elder in elders:
        assert elder["voucher"]["face_value_fen"] == 80000
    e1, e2, e3 = elders
    found = {
        # 上门洗浴 300.00 at 50 %: 150.00
        "bath": _redeem(client, station, e1, item=11, amount_fen=30000),
        # 上门送餐 9.99 at 50 %: 4.995 -> 5.00 (rejected at review)
        "meal": _redeem(client, station, e1, item=7, amount_fen=999),
        # 长期照护服务 1000.01 at 40 %: 400.004 -> 400.00
        "care": _redeem(client, institution, e2, item=2, amount_fen=100001),
        # a 海淀区 company serving a 朝阳区 elder: (123.45 - 10.00 LTCI) at 50 % -> 56.73
        "cross": _redeem(client, company, e2, item=11, amount_fen=12345, ltci_paid_fen=1000),
        # a 海淀区 elder: 150.00, settled by 海淀区
        "haidian": _redeem(client, company, e3, item=11, amount_fen=30000),
    }
    assert [found[k]["deduction_fen"] for k in ("bath", "meal", "care", "cross")] == [15000, 500, 40000, 5673]
    reversed_one = _redeem(client, station, e2, item=11, amount_fen=20000)
    response = client.post(
        f"{API}/redemptions/{reversed_one['id']}/reverse", headers=bearer(station["api_key"])
    )
    assert response.status_code == 200, response.text

    set_clock(client, "2026-02-03T10:00:00+08:00")
    response = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-01"}, headers=bearer(civil)
    )
    assert response.status_code == 201, response.text
    batch_id = response.json()["id"]
    response = client.post(
        f"{API}/settlements",
        json={"district_code": "110108", "month": "2026-01"},
        headers=bearer(civil_haidian),
    )
    assert response.status_code == 201, response.text
    batch_haidian = response.json()
    response = client.post(
        f"{API}/settlements/{batch_id}/civil-review",
        json={"rejections": [{"redemption_id": found["meal"]["id"], "reason": REJECTION_REASON}]},
        headers=bearer(civil),
    )
    assert response.status_code == 200, response.text
    response = client.post(
        f"{API}/settlements/{batch_id}/finance-review", json={"approve": True}, headers=bearer(finance)
    )
    assert response.status_code == 200, response.text
    response = client.post(
        f"{API}/settlements/{batch_id}/payments",
        json={"provider_id": station["id"], "amount_fen": 15000, "reference": "PAY-2026-0001"},
        headers=bearer(civil),
    )
    assert response.status_code == 200, response.text
    batch = response.json()
    assert batch["status"] == "payment"
    assert batch["totals"]["deduction_fen"] == 61173 and batch["totals"]["rejected_fen"] == 500
    return January(
        civil=civil,
        finance=finance,
        civil_haidian=civil_haidian,
        auditor=auditor,
        station=station,
        institution=institution,
        company=company,
        elders=elders,
        batch=batch,
        batch_haidian=batch_haidian,
        redemptions=found,
        rejected_id=found["meal"]["id"],
        reversed_id=reversed_one["id"],
    )


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv"), response.headers["content-type"]
    assert response.content.startswith("\ufeff".encode()), "UTF-8 BOM expected"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def read_xlsx(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    return openpyxl.load_workbook(io.BytesIO(response.content))


def fen(text: str) -> int:
    """Yuan text with exactly two decimals back to fen (refusing anything else)."""
    whole, _, cents = text.partition(".")
    assert len(cents) == 2 and whole.lstrip("-").isdigit(), text
    return int(Decimal(text) * 100)


def cell_fen(value) -> int:
    """An XLSX yuan amount (read back by openpyxl as int or float) as fen."""
    return int((Decimal(str(value)) * 100).to_integral_value())


def assert_filename(response, chinese: str) -> None:
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;"), disposition
    assert f"filename*=UTF-8''{quote(chinese, safe='')}" in disposition, disposition


# --- the batch CSV -----------------------------------------------------------------------------
def test_batch_csv_rows_headers_and_totals_reconcile(client):
    jan = build_january(client)
    batch = jan.batch
    response = client.get(f"{API}/settlements/{batch['id']}/statement.csv", headers=bearer(jan.civil))
    rows = read_csv(response)
    assert_filename(response, "结算单_110105_2026-01.csv")
    assert rows[0] == CSV_HEADER
    body = [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]
    assert len(body) == batch["totals"]["redemptions"] == 4
    # Totals reconcile exactly with the batch.
    totals = batch["totals"]
    assert sum(fen(r["消费金额(元)"]) for r in body) == totals["amount_fen"] == 143345
    assert sum(fen(r["抵扣金额(元)"]) for r in body) == totals["deduction_fen"]
    assert sum(fen(r["应付(元)"]) for r in body) == totals["payable_fen"] == 60673
    assert sum(fen(r["抵扣金额(元)"]) for r in body if r["核减"] == "是") == totals["rejected_fen"]
    assert {r["核销编号"] for r in body} == {
        jan.redemptions[k]["id"] for k in ("bath", "meal", "care", "cross")
    }
    assert jan.reversed_id not in {r["核销编号"] for r in body}
    by_id = {r["核销编号"]: r for r in body}
    # The rejected row is marked, its reason kept (defused as a formula), nothing payable.
    rejected = by_id[jan.rejected_id]
    assert (rejected["核减"], rejected["核减原因"], rejected["应付(元)"]) == (
        "是",
        "'" + REJECTION_REASON,
        "0.00",
    )
    assert rejected["抵扣金额(元)"] == "5.00"
    cross = by_id[jan.redemptions["cross"]["id"]]
    assert cross["服务机构"] == COMPANY_NAME
    assert cross["统一社会信用代码"] == jan.company["credit_code"]
    assert (cross["消费金额(元)"], cross["长护险支付(元)"], cross["抵扣金额(元)"], cross["应付(元)"]) == (
        "123.45",
        "10.00",
        "56.73",
        "56.73",
    )
    assert cross["核减"] == "否" and cross["核减原因"] == ""
    assert cross["服务项目"] == "11 上门洗浴"
    assert cross["服务时间"] == "2026-01-10 10:00:00"  # Beijing time
    assert cross["老年人"] == "李**"  # masked, never the full name
    assert all(r["缺少凭证"] == "是" for r in body)  # nothing was uploaded
    # Grouped by provider: each provider's rows are contiguous.
    order = [r["服务机构"] for r in body]
    assert order == sorted(order, key=order.index)


def test_batch_statements_are_scoped(client):
    jan = build_january(client)
    batch_id = jan.batch["id"]
    for suffix in ("csv", "xlsx"):
        url = f"{API}/settlements/{batch_id}/statement.{suffix}"
        assert client.get(url, headers=bearer(jan.auditor)).status_code == 200
        assert client.get(url, headers=bearer(jan.finance)).status_code == 200
        assert client.get(url, headers=admin_headers()).status_code == 200
        assert_problem(client.get(url, headers=bearer(jan.civil_haidian)), 404, "NOT_FOUND")
        assert_problem(client.get(url, headers=bearer(jan.station["api_key"])), 403, "FORBIDDEN")
        assert_problem(client.get(url), 401)
        assert_problem(
            client.get(f"{API}/settlements/not-an-id/statement.{suffix}", headers=bearer(jan.civil)), 404
        )
        assert_problem(
            client.get(
                f"{API}/settlements/00000000-0000-4000-8000-000000000000/statement.{suffix}",
                headers=bearer(jan.civil),
            ),
            404,
            "NOT_FOUND",
        )


# --- the batch XLSX ----------------------------------------------------------------------------
def test_batch_xlsx_summary_first_then_one_sheet_per_provider(client):
    jan = build_january(client)
    batch = jan.batch
    response = client.get(f"{API}/settlements/{batch['id']}/statement.xlsx", headers=bearer(jan.civil))
    workbook = read_xlsx(response)
    assert_filename(response, "结算单_110105_2026-01.xlsx")
    assert workbook.sheetnames[0] == "汇总"
    assert len(workbook.sheetnames) == 1 + batch["totals"]["providers"] == 4
    provider_sheets = workbook.sheetnames[1:]
    assert "朝阳阳光养老驿站东区" in provider_sheets  # forbidden characters stripped
    assert INSTITUTION_NAME[:31] in provider_sheets  # truncated to Excel's 31 characters
    assert COMPANY_NAME in provider_sheets

    summary = list(workbook["汇总"].iter_rows(values_only=True))
    labels = {row[0]: row[1] for row in summary if row and row[0] is not None and len(row) > 1}
    assert labels["区"] == "朝阳区(110105)"
    assert labels["月份"] == "2026-01"
    assert labels["状态"] == "待支付"
    assert labels["民政审核截止日"].date().isoformat() == batch["deadlines"]["civil_review"] == "2026-02-13"
    assert labels["财政复审截止日"].date().isoformat() == batch["deadlines"]["finance_review"]
    assert labels["支付截止日"].date().isoformat() == batch["deadlines"]["payment"]
    assert labels["核销笔数"] == batch["totals"]["redemptions"]
    for label, key in (
        ("消费金额(元)", "amount_fen"),
        ("抵扣金额(元)", "deduction_fen"),
        ("核减金额(元)", "rejected_fen"),
        ("应付金额(元)", "payable_fen"),
    ):
        assert cell_fen(labels[label]) == batch["totals"][key], label
    for label, key in (
        ("中央资金(元)", "central_fen"),
        ("市级资金(元)", "city_fen"),
        ("区级资金(元)", "district_fen"),
    ):
        assert cell_fen(labels[label]) == batch["funding"][key], label

    header_at = next(i for i, row in enumerate(summary) if row and row[0] == "服务机构")
    assert summary[header_at][:11] == (
        "服务机构",
        "统一社会信用代码",
        "笔数",
        "抵扣金额(元)",
        "核减金额(元)",
        "应付金额(元)",
        "抵扣追回款(元)",
        "应支付金额(元)",
        "是否已支付",
        "支付日期",
        "支付凭证号",
    )
    line_rows = summary[header_at + 1 : header_at + 1 + len(batch["lines"])]
    lines = {line["provider_name"]: line for line in batch["lines"]}
    assert {row[0] for row in line_rows} == set(lines)
    for row in line_rows:
        line = lines[row[0]]
        assert row[2] == line["redemptions"]
        assert tuple(cell_fen(cell) for cell in row[3:8]) == (
            line["deduction_fen"],
            line["rejected_fen"],
            line["payable_fen"],
            line["clawback_fen"],
            line["payment_due_fen"],
        )
        assert row[8] == ("是" if line["paid"] else "否")
        if line["paid"]:
            assert row[9].date().isoformat() == line["paid_on"] == "2026-02-03"
            assert row[10] == line["payment_reference"] == "PAY-2026-0001"
        else:
            assert row[9] is None and row[10] is None
    total_row = summary[header_at + 1 + len(batch["lines"])]
    assert total_row[0] == "合计" and cell_fen(total_row[5]) == batch["totals"]["payable_fen"]

    # Each provider sheet lists that provider's redemptions as the CSV does; sums match its line.
    seen = 0
    for title in provider_sheets:
        rows = list(workbook[title].iter_rows(values_only=True))
        assert list(rows[0]) == CSV_HEADER
        body, total = rows[1:-1], rows[-1]
        names = {row[0] for row in body}
        assert len(names) == 1
        line = lines[names.pop()]
        assert len(body) == line["redemptions"]
        assert sum(cell_fen(row[8]) for row in body) == line["deduction_fen"] == cell_fen(total[8])
        assert sum(cell_fen(row[11]) for row in body) == line["payable_fen"] == cell_fen(total[11])
        assert total[0] == "合计"
        seen += len(body)
        for row in body:
            if row[2] == jan.rejected_id:
                # Marked, and the reason stays text: never a formula.
                assert (row[9], row[10], cell_fen(row[11])) == ("是", REJECTION_REASON, 0)
                assert workbook[title].cell(row=body.index(row) + 2, column=11).data_type == "s"
    assert seen == batch["totals"]["redemptions"]


# --- the provider's statement ------------------------------------------------------------------
def test_provider_statement_with_its_own_token(client):
    jan = build_january(client)
    url = f"{API}/providers/{jan.company['id']}/statement"
    response = client.get(url, params={"month": "2026-01"}, headers=bearer(jan.company["api_key"]))
    rows = read_csv(response)
    assert rows[0] == ["结算区", *CSV_HEADER]
    body, total = rows[1:-1], rows[-1]
    # Paid by two districts' batches: 朝阳区 for its 朝阳区 elder, 海淀区 for its own.
    assert [row[0] for row in body] == ["朝阳区", "海淀区"]  # by district code
    assert {row[3] for row in body} == {jan.redemptions["cross"]["id"], jan.redemptions["haidian"]["id"]}
    expected = sum(
        line["payable_fen"]
        for batch in (jan.batch, jan.batch_haidian)
        for line in batch["lines"]
        if line["provider_id"] == jan.company["id"]
    )
    assert expected == 5673 + 15000
    assert sum(fen(row[12]) for row in body) == expected
    assert total[1] == "合计" and total[3] == "2 笔"
    assert fen(total[12]) == expected and fen(total[9]) == expected
    assert fen(total[7]) == 12345 + 30000

    # XLSX: a summary with its line in each batch, then every redemption.
    response = client.get(
        url, params={"month": "2026-01", "format": "xlsx"}, headers=bearer(jan.company["api_key"])
    )
    workbook = read_xlsx(response)
    assert workbook.sheetnames == ["汇总", "明细"]
    summary = list(workbook["汇总"].iter_rows(values_only=True))
    labels = {row[0]: row[1] for row in summary if row and row[0] is not None and len(row) > 1}
    assert labels["服务机构"] == COMPANY_NAME
    assert cell_fen(labels["应付金额(元)"]) == expected
    header_at = next(i for i, row in enumerate(summary) if row and row[0] == "结算区")
    assert [row[0] for row in summary[header_at + 1 :]] == ["朝阳区", "海淀区"]
    detail = list(workbook["明细"].iter_rows(values_only=True))
    assert list(detail[0]) == ["结算区", *CSV_HEADER]
    assert sum(cell_fen(row[12]) for row in detail[1:-1]) == expected == cell_fen(detail[-1][12])
    assert "filename*=UTF-8''" in response.headers["content-disposition"]


def test_provider_statement_visibility(client):
    jan = build_january(client)
    station_url = f"{API}/providers/{jan.station['id']}/statement"
    company_url = f"{API}/providers/{jan.company['id']}/statement"
    month = {"month": "2026-01"}
    # The station's own statement: its two redemptions, one rejected.
    rows = read_csv(client.get(station_url, params=month, headers=bearer(jan.station["api_key"])))
    body = rows[1:-1]
    assert len(body) == 2 and {row[0] for row in body} == {"朝阳区"}
    assert [row[10] for row in body if row[3] == jan.rejected_id] == ["是"]
    assert fen(rows[-1][12]) == 15000
    # Another provider's statement is not there for it.
    assert_problem(
        client.get(company_url, params=month, headers=bearer(jan.station["api_key"])), 404, "NOT_FOUND"
    )
    assert_problem(
        client.get(station_url, params=month, headers=bearer(jan.company["api_key"])), 404, "NOT_FOUND"
    )
    # Staff: city-wide roles see every district's batches; district staff only their own.
    for token in (jan.auditor, None):
        headers = bearer(token) if token else admin_headers()
        rows = read_csv(client.get(company_url, params=month, headers=headers))
        assert len(rows) - 2 == 2
    rows = read_csv(client.get(company_url, params=month, headers=bearer(jan.civil)))
    assert [row[0] for row in rows[1:-1]] == ["朝阳区"]
    rows = read_csv(client.get(company_url, params=month, headers=bearer(jan.civil_haidian)))
    assert [row[0] for row in rows[1:-1]] == ["海淀区"]
    assert_problem(client.get(station_url, params=month, headers=bearer(jan.civil_haidian)), 404, "NOT_FOUND")
    # No batch holds its redemptions that month; unknown ids; bad parameters.
    assert_problem(
        client.get(station_url, params={"month": "2026-02"}, headers=bearer(jan.station["api_key"])),
        404,
        "NOT_FOUND",
    )
    assert_problem(
        client.get(f"{API}/providers/nope/statement", params=month, headers=admin_headers()), 404, "NOT_FOUND"
    )
    assert_problem(
        client.get(station_url, params={"month": "2026-01", "format": "pdf"}, headers=admin_headers()),
        422,
        "VALIDATION_ERROR",
    )
    assert_problem(client.get(station_url, headers=admin_headers()), 422, "VALIDATION_ERROR")
