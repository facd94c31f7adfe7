"""``voucher`` (app/cli/) in-process with Typer's CliRunner, on SQLite and PostgreSQL.

Data is built over HTTP with the factories, the command runs against the same database (the
``client`` fixture's settings, sandbox clock included), and its effect is checked over HTTP
again. ``COLUMNS=200`` keeps rich tables on one line per row.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import holidays
import pytest
from typer.testing import CliRunner

from app.cli import app, server
from tests.cli.conftest import APRIL_2, CHAOYANG, DONGCHENG, HAIDIAN, MARCH, batches, cells, short, yuan
from tests.conftest import admin_headers
from tests.factories import API, approved_elder, set_clock, vouchers_of


def overrides(client) -> list[dict]:
    response = client.get(f"{API}/calendar/overrides", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def job_runs(client) -> list[dict]:
    response = client.get(f"{API}/jobs/runs", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


def test_settle_build_makes_one_batch_per_district_and_skips_existing(client, march, voucher):
    result = voucher("settle", "build", "--month", MARCH)
    assert result.exit_code == 0, result.output
    built = {b["district_code"]: b for b in batches(client, month=MARCH)}
    assert set(built) == {CHAOYANG, HAIDIAN}  # only districts with posted redemptions
    for code, batch in built.items():
        assert batch["status"] == "civil_review"
        assert batch["totals"]["payable_fen"] == march["deductions"][code]
        assert batch["id"] not in result.output  # shown short
        row = next(line for line in result.output.splitlines() if short(batch["id"]) in line)
        assert code in row and yuan(march["deductions"][code]) in row
        # The 10th working day of April 2026 (Qingming: 4-6 April off): 1-3, 7-10, 13-15.
        assert batch["deadlines"]["civil_review"] == "2026-04-15" and "2026-04-15" in row
    # Redemptions, elders, providers.
    assert cells(result.output, short(built[CHAOYANG]["id"]))[1:5] == [
        short(built[CHAOYANG]["id"]),
        "2",
        "2",
        "1",
    ]
    assert cells(result.output, short(built[HAIDIAN]["id"]))[2:5] == ["1", "1", "1"]
    assert "新生成 2 个批次" in result.output

    again = voucher("settle", "build", "--month", MARCH)
    assert again.exit_code == 0, again.output
    assert again.output.count("SETTLEMENT_EXISTS") == 2
    assert (
        f"(批次 {short(built[CHAOYANG]['id'])})" in again.output
        and "新生成 0 个批次,已存在跳过 2 个" in again.output
    )
    assert {b["id"] for b in batches(client, month=MARCH)} == {b["id"] for b in built.values()}

    quiet = voucher("settle", "build", "--month", "2026-02")  # ended, no redemptions
    assert quiet.exit_code == 0 and "没有已入账的核销" in quiet.output
    assert batches(client, month="2026-02") == []

    # An explicit district without redemptions gets an empty batch; one already built is skipped.
    explicit = voucher("settle", "build", "--month", MARCH, "--district", DONGCHENG, "--district", CHAOYANG)
    assert explicit.exit_code == 0, explicit.output
    assert "SETTLEMENT_EXISTS" in explicit.output and "新生成 1 个批次,已存在跳过 1 个" in explicit.output
    [empty] = batches(client, month=MARCH, district_code=DONGCHENG)
    assert empty["totals"]["redemptions"] == 0 and short(empty["id"]) in explicit.output


def test_settle_build_refusals_change_nothing(client, march, voucher):
    bad_month = voucher("settle", "build", "--month", "2026-3")
    assert bad_month.exit_code == 2 and "YYYY-MM" in bad_month.output
    for args in (("--month", "2026-04"), ("--month", "2026-04", "--district", CHAOYANG)):
        not_ended = voucher("settle", "build", *args)
        assert not_ended.exit_code == 2 and "MONTH_NOT_ENDED" in not_ended.output, not_ended.output
    unknown = voucher("settle", "build", "--month", MARCH, "--district", CHAOYANG, "--district", "999999")
    assert unknown.exit_code == 2 and "UNKNOWN_DISTRICT" in unknown.output
    assert batches(client) == []  # the known district was not built either


def test_settle_list_and_show(client, march, voucher):
    assert voucher("settle", "build", "--month", MARCH).exit_code == 0
    built = {b["district_code"]: b for b in batches(client, month=MARCH)}
    chaoyang = built[CHAOYANG]

    listed = voucher("settle", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if short(chaoyang["id"]) in line)
    assert "民政审核" in row and "2026-04-15" in row and "逾期" not in row
    assert yuan(march["deductions"][CHAOYANG]) in row
    # 2 April → 15 April: 3, 7, 8, 9, 10, 13, 14, 15.
    assert chaoyang["working_days_left"] == 8 and cells(listed.output, short(chaoyang["id"]))[7] == "8"
    assert short(built[HAIDIAN]["id"]) in listed.output and chaoyang["id"] not in listed.output

    only = voucher("settle", "list", "--district", HAIDIAN, "--month", MARCH)
    assert only.exit_code == 0 and short(built[HAIDIAN]["id"]) in only.output
    assert short(chaoyang["id"]) not in only.output
    assert "没有符合条件" in voucher("settle", "list", "--month", "2026-02").output

    shown = voucher("settle", "show", chaoyang["id"])
    assert shown.exit_code == 0, shown.output
    assert chaoyang["id"] in shown.output and "朝阳测试驿站" in shown.output
    assert march["providers"][CHAOYANG]["id"] in shown.output
    funding = chaoyang["funding"]
    for fen in (
        march["deductions"][CHAOYANG],
        funding["central_fen"],
        funding["city_fen"],
        funding["district_fen"],
    ):
        assert yuan(fen) in shown.output
    assert "生成批次" in shown.output and "命令行 tester(市级管理员)" in shown.output

    missing = voucher("settle", "show", "00000000-0000-4000-8000-000000000000")
    assert missing.exit_code == 2 and "NOT_FOUND" in missing.output


def test_jobs_overdue_flags_late_batches_once(client, march, voucher):
    assert voucher("settle", "build", "--month", MARCH).exit_code == 0
    nothing = voucher("jobs", "overdue")
    assert nothing.exit_code == 0 and "新标记逾期结算批次 0 个" in nothing.output

    set_clock(client, "2026-04-16T09:00:00+08:00")  # the day after the civil-review deadline
    flagged = voucher("jobs", "overdue")
    assert flagged.exit_code == 0, flagged.output
    assert "新标记逾期结算批次 2 个" in flagged.output
    assert all(b["overdue"] for b in batches(client))
    assert [r["counts"] for r in job_runs(client) if r["job"] == "flag_overdue"][0] == {"flagged": 2}
    assert "新标记逾期结算批次 0 个" in voucher("jobs", "overdue").output  # once per stage

    listed = voucher("settle", "list")
    assert "民政审核(逾期)" in listed.output and "逾期 2 个" in listed.output


def october_tenth_working_day(extra_days_off: frozenset[date] = frozenset()) -> date:
    """Computed from the holidays package directly, not through the service."""
    official = holidays.China(years=[2026])
    day, count = date(2026, 9, 30), 0
    while count < 10:
        day += timedelta(days=1)
        working = day in official.weekend_workdays or (day.weekday() < 5 and day not in official)
        count += working and day not in extra_days_off
    return day


def test_calendar_show_lists_the_tenth_working_day(client, voucher):
    # National Day and Mid-Autumn 2026: 1-7 October off, Saturday 10 October worked.
    assert october_tenth_working_day() == date(2026, 10, 20)
    shown = voucher("calendar", "show", "--month", "2026-10")
    assert shown.exit_code == 0, shown.output
    assert "第 10 个工作日: 2026-10-20" in shown.output
    assert "2026-09 结算批次的民政审核截止日" in shown.output
    assert cells(shown.output, "2026-10-01")[1:4] == ["周四", "休息", "法定节假日"]
    assert cells(shown.output, "2026-10-10")[1:4] == ["周六", "第 3 个工作日", "调休上班"]
    assert cells(shown.output, "2026-10-20")[1:4] == ["周二", "第 10 个工作日", "工作日"]
    month = client.get(f"{API}/calendar", params={"month": "2026-10"}, headers=admin_headers()).json()
    assert f"共 {month['working_days']} 个工作日" in shown.output


def test_calendar_set_list_delete_round_trip(client, voucher):
    made = voucher("calendar", "set", "2026-10-09", "--holiday", "--note", "测试:国务院补充通知")
    assert made.exit_code == 0, made.output
    [row] = overrides(client)
    assert row["day"] == "2026-10-09" and row["working"] is False
    assert row["note"] == "测试:国务院补充通知" and row["set_by"] == "staff:cli:tester"
    month = client.get(f"{API}/calendar", params={"month": "2026-10"}, headers=admin_headers()).json()
    [ninth] = [d for d in month["days"] if d["day"] == "2026-10-09"]
    assert ninth == {"day": "2026-10-09", "working": False, "source": "override"}

    later = october_tenth_working_day(frozenset({date(2026, 10, 9)}))
    assert later == date(2026, 10, 21)
    assert f"第 10 个工作日: {later}" in voucher("calendar", "show", "--month", "2026-10").output

    assert voucher("calendar", "set", "2027-02-20", "--working", "--note", "调休").exit_code == 0
    listed = voucher("calendar", "list", "--year", "2026")
    assert listed.exit_code == 0, listed.output
    assert "2026-10-09" in listed.output and "休息日" in listed.output and "2027-02-20" not in listed.output
    assert "命令行 tester(市级管理员)" in listed.output and "staff:cli" not in listed.output
    assert "2027-02-20" in voucher("calendar", "list").output
    assert "没有人工校正" in voucher("calendar", "list", "--year", "2028").output

    # Setting again replaces the row.
    assert voucher("calendar", "set", "2026-10-09", "--working", "--note", "更正").exit_code == 0
    assert [(o["day"], o["working"], o["note"]) for o in overrides(client)] == [
        ("2026-10-09", True, "更正"),
        ("2027-02-20", True, "调休"),
    ]

    deleted = voucher("calendar", "delete", "2026-10-09")
    assert deleted.exit_code == 0, deleted.output
    assert [o["day"] for o in overrides(client)] == ["2027-02-20"]
    gone = voucher("calendar", "delete", "2026-10-09")
    assert gone.exit_code == 2 and "NOT_FOUND" in gone.output


@pytest.mark.parametrize(
    "args",
    [
        ("calendar", "set", "2026-10-32", "--holiday", "--note", "x"),
        ("calendar", "set", "20261009", "--holiday", "--note", "x"),
        ("calendar", "set", "2026-10-09", "--note", "x"),  # neither --working nor --holiday
        ("calendar", "set", "2026-10-09", "--holiday", "--note", "  "),
        ("calendar", "show", "--month", "2026-1"),
        ("calendar", "delete", "tomorrow"),
    ],
)
def test_calendar_bad_arguments_change_nothing(client, voucher, args):
    result = voucher(*args)
    assert result.exit_code == 2, result.output
    assert overrides(client) == []


def test_jobs_issue_then_ledger_verify(client, voucher):
    elder = approved_elder(client)  # approval issues March's voucher already
    issued = voucher("jobs", "issue", "--month", MARCH)
    assert issued.exit_code == 0, issued.output
    assert "新发放 0 张,此前已发放 1 张" in issued.output
    [run] = [r for r in job_runs(client) if r["job"] == "issue"]
    assert run["trigger"] == "cli" and run["counts"] == {"issued": 0, "already_issued": 1}

    verified = voucher("ledger", "verify")
    assert verified.exit_code == 0, verified.output
    assert "账本平衡" in verified.output

    for bad in ("2026-3", "2026-13", "march"):
        refused = voucher("jobs", "issue", "--month", bad)
        assert refused.exit_code == 2, refused.output
    not_current = voucher("jobs", "issue", "--month", "2026-04")
    assert not_current.exit_code == 2 and "MONTH_NOT_CURRENT" in not_current.output
    assert len(job_runs(client)) == 1  # the refusals recorded nothing
    assert len(vouchers_of(client, elder["id"])) == 1


def test_jobs_expire_reports_the_released_balance(client, voucher):
    approved_elder(client)
    early = voucher("jobs", "expire", "--month", MARCH)
    assert early.exit_code == 2 and "MONTH_NOT_ENDED" in early.output
    set_clock(client, APRIL_2)
    expired = voucher("jobs", "expire", "--month", MARCH)
    assert expired.exit_code == 0, expired.output
    assert "失效 1 张" in expired.output
    assert voucher("ledger", "verify").exit_code == 0


def test_demo_reports_the_loaders_steps(client, voucher, monkeypatch):
    """The loader's ``progress(step, done, total)`` drives a rich progress bar."""
    monkeypatch.setattr(server, "upgrade", lambda *a, **k: None)
    calls = []

    def with_progress(session, *, elders_per_district: int = 150, seed: int = 2026, progress=None):
        for done, step in enumerate(("登记演示老年人", "登记演示老年人", "演示核销"), 1):
            progress(step, done, 3)
            calls.append((step, done))
        return SimpleNamespace(loaded=False)

    monkeypatch.setattr(server, "load_demo", with_progress)
    result = voucher("demo", "--elders-per-district", "3")
    assert result.exit_code == 0, result.output
    assert [done for _step, done in calls] == [1, 2, 3]
    assert "演示核销" in result.output and "3/3" in result.output and "演示数据已存在" in result.output


def test_staff_create_prints_a_working_token(client, voucher):
    made = voucher(
        "staff", "create", "--name", "朝阳民政", "--role", "district_civil", "--district", CHAOYANG
    )
    assert made.exit_code == 0, made.output
    token = made.output.split("令牌(仅显示一次):")[1].split()[0]
    response = client.get(f"{API}/settlements", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    refused = voucher("staff", "create", "--name", "x", "--role", "district_civil")  # no district
    assert refused.exit_code == 2 and "INVALID_ROLE" in refused.output
    assert voucher("staff", "create", "--name", "x", "--role", "mayor").exit_code == 2


def test_demo_loads_once_and_the_ledger_balances(client, voucher, monkeypatch):
    monkeypatch.setattr(server, "upgrade", lambda *a, **k: None)  # the test database is migrated
    # An 80-column terminal (the README's start command in a plain terminal).
    loaded = CliRunner(env={"COLUMNS": "80", "USER": "tester"}).invoke(
        app, ["demo", "--elders-per-district", "3"]
    )
    assert loaded.exit_code == 0, loaded.output
    assert "demo-city-admin" in loaded.output and "本月演示核销" in loaded.output
    # Tokens are printed whole, whatever the terminal's width: they are what one types.
    assert "demo-chaoyang-provider-10" in loaded.output
    again = voucher("demo", "--elders-per-district", "3")
    assert again.exit_code == 0 and "演示数据已存在" in again.output
    assert voucher("ledger", "verify").exit_code == 0


def test_settle_show_reads_payments_and_the_review_history(client, march, voucher):
    """A batch reviewed (returned once), approved and paid over HTTP: ``settle show`` prints the
    payment on the provider's line and every event, review steps titled by their transition."""
    assert voucher("settle", "build", "--month", MARCH, "--district", CHAOYANG).exit_code == 0
    [batch] = batches(client, district_code=CHAOYANG)
    url = f"{API}/settlements/{batch['id']}"
    for action, body in (
        ("civil-review", {"rejections": []}),
        ("finance-review", {"approve": False, "note": "退回补正"}),
        ("civil-review", {"rejections": []}),
        ("finance-review", {"approve": True}),
    ):
        response = client.post(f"{url}/{action}", json=body, headers=admin_headers())
        assert response.status_code == 200, response.text
    [line] = response.json()["lines"]
    payment = {
        "provider_id": line["provider_id"],
        "amount_fen": line["payment_due_fen"],
        "reference": "PAY-1",
    }
    response = client.post(f"{url}/payments", json=payment, headers=admin_headers())
    assert response.status_code == 200 and response.json()["status"] == "settled", response.text

    shown = voucher("settle", "show", batch["id"])
    assert shown.exit_code == 0, shown.output
    assert cells(shown.output, "状态 ")[1] == "已结算"
    assert cells(shown.output, "朝阳测试驿站")[-1] == "已支付 2026-04-02 PAY-1"
    history = [
        cells(row, "│")[1:3] for row in shown.output.split("办理记录")[1].splitlines() if "2026-04-02" in row
    ]
    assert history == [
        ["生成批次", "民政审核"],
        ["民政审核提交", "民政审核 → 财政复审"],
        ["财政复审退回", "财政复审 → 民政审核"],
        ["民政审核提交", "民政审核 → 财政复审"],
        ["财政复审通过", "财政复审 → 待支付"],
        ["支付", "待支付 → 待支付"],
        ["结算完成", "待支付 → 已结算"],
    ]
    assert "逾期" not in voucher("settle", "list", "--district", CHAOYANG).output
