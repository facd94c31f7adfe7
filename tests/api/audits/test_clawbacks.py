"""Clawbacks over HTTP (issue 5; CONTRACT.md "Settlement"): a fake service found after civil
review is taken back from the provider's next payment, netted up to the line's payable and
carried over; the provider's statement shows it. The scenario is tests/api/audits/scenario.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import openpyxl

from tests.api.audits.scenario import (
    APRIL,
    DISTRICT,
    approve,
    assert_ledger_ok,
    build,
    civil_review,
    draw,
    get_batch,
    line_of,
    ok,
    pay,
    record,
    recorded,
    redeemed,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    Staff,
    approved_elder,
    assert_problem,
    bearer,
    ledger_verify,
    make_provider,
    run_job,
    set_clock,
    staff,
)


def cell_fen(value) -> int:
    """An XLSX yuan amount (int or float) as fen."""
    return int((Decimal(str(value)) * 100).to_integral_value())


@dataclass
class Settled:
    """January settled and sampled for the clawback scenarios (clock 2026-02-03)."""

    civil: Staff
    finance: Staff
    a: dict
    b: dict
    elder: dict
    january: dict  # r1: A's January redemption for ``elder``
    batch: dict  # January's batch, settled
    sample: dict  # January's redemption sample (population 1: ``elder``)


def settled_january(client, amount_fen: int) -> Settled:
    """One elder of 110105 redeems ``amount_fen`` with station A in January; the batch is built,
    reviewed, approved and paid in full on 2026-02-03; January's sample is drawn."""
    set_clock(client, "2026-01-10T10:00:00+08:00")
    civil = staff(client, "district_civil", DISTRICT)
    finance = staff(client, "district_finance", DISTRICT)
    a = make_provider(client, district_code=DISTRICT, name="朝阳站A")
    b = make_provider(client, district_code=DISTRICT, name="朝阳站B")
    elder = approved_elder(client, district_code=DISTRICT)
    january = redeemed(client, a, elder, amount_fen, served_at="2026-01-10T10:00:00+08:00")
    set_clock(client, "2026-02-03T10:00:00+08:00")
    assert run_job(client, "issue", "2026-02").status_code == 200
    batch = build(client, civil, "2026-01")
    civil_review(client, batch["id"], civil)
    approve(client, batch["id"], finance)
    paid = ok(pay(client, batch["id"], civil, a, january["deduction_fen"]))
    assert paid["status"] == "settled"
    response = draw(client, civil, month="2026-01")
    assert response.status_code == 201, response.text
    sample = response.json()
    assert sample["elder_ids"] == [elder["id"]]
    return Settled(civil, finance, a, b, elder, january, paid, sample)


def february_with_clawback(client, s: Settled) -> tuple[dict, dict]:
    """A's two February redemptions for the elder (15000 + 15000), the fake-service finding on
    January's r1 (settled: a clawback), February's batch built on 2026-03-03. Returns the
    finding and the batch."""
    for _ in range(2):
        redeemed(client, s.a, s.elder, 30000, served_at="2026-02-03T09:00:00+08:00")
    finding = recorded(client, s.sample["id"], s.civil, s.elder["id"], "fake_service", [s.january["id"]])
    set_clock(client, "2026-03-03T10:00:00+08:00")
    return finding, build(client, s.civil, "2026-02")


# === clawbacks netted from the next payment =======================================================
def test_fake_service_after_settlement_is_clawed_back_from_the_next_payment(client):
    """A fake-service finding on an already paid redemption books a clawback (once: a second
    finding on it does nothing); the provider's next batch nets it from the line (clawback_fen,
    payment_due_fen = payable - clawback); paying the full payable is AMOUNT_MISMATCH, paying
    the amount due settles the batch; the journal verifies throughout."""
    s = settled_january(client, 30000)
    clawback = s.january["deduction_fen"]
    assert clawback == 15000
    for _ in range(2):
        redeemed(client, s.a, s.elder, 30000, served_at="2026-02-03T09:00:00+08:00")
    before = ledger_verify(client)
    finding = recorded(client, s.sample["id"], s.civil, s.elder["id"], "fake_service", [s.january["id"]])
    assert (finding["excluded_fen"], finding["clawback_fen"]) == (0, clawback)
    assert finding["redemptions"] == [
        {"redemption_id": s.january["id"], "deduction_fen": clawback, "effect": "clawback"}
    ]
    after = assert_ledger_ok(client)
    assert after["entries"] == before["entries"] + 1  # the clawback entry
    # January's batch, paid in full, is left alone.
    january = get_batch(client, s.batch["id"])
    assert (january["status"], january["totals"]["clawback_fen"], january["totals"]) == (
        "settled",
        0,
        s.batch["totals"],
    )

    twice = recorded(client, s.sample["id"], s.civil, s.elder["id"], "fake_service", [s.january["id"]])
    assert (twice["excluded_fen"], twice["clawback_fen"]) == (0, 0)
    assert [r["effect"] for r in twice["redemptions"]] == ["none"]
    assert ledger_verify(client)["entries"] == after["entries"]
    assert_ledger_ok(client)
    listed = ok(
        client.get(f"{API}/audit-findings", params={"outcome": "fake_service"}, headers=admin_headers())
    )
    assert {f["id"] for f in listed["items"]} == {finding["id"], twice["id"]}
    assert sum(f["clawback_fen"] for f in listed["items"]) == clawback

    set_clock(client, "2026-03-03T10:00:00+08:00")
    batch = build(client, s.civil, "2026-02")
    line = line_of(batch, s.a)
    assert (line["payable_fen"], line["clawback_fen"], line["payment_due_fen"]) == (
        30000,
        clawback,
        30000 - clawback,
    )
    assert (
        batch["totals"]["payable_fen"],
        batch["totals"]["clawback_fen"],
        batch["totals"]["payment_due_fen"],
    ) == (
        30000,
        clawback,
        30000 - clawback,
    )
    assert (
        batch["funding"]["central_fen"] + batch["funding"]["city_fen"] + batch["funding"]["district_fen"]
        == 30000
    )
    assert_ledger_ok(client)

    civil_review(client, batch["id"], s.civil)
    approve(client, batch["id"], s.finance)
    assert_problem(pay(client, batch["id"], s.civil, s.a, 30000), 422, "AMOUNT_MISMATCH")
    assert line_of(get_batch(client, batch["id"]), s.a)["paid"] is False
    paid = ok(pay(client, batch["id"], s.civil, s.a, 30000 - clawback))
    assert paid["status"] == "settled"
    assert line_of(paid, s.a)["paid"] is True
    assert line_of(paid, s.a)["clawback_fen"] == clawback
    assert_ledger_ok(client)

    # Recovered in full: A's March line nets nothing more.
    assert run_job(client, "issue", "2026-03").status_code == 200
    redeemed(client, s.a, s.elder, 30000, served_at="2026-03-03T09:00:00+08:00")
    set_clock(client, APRIL)
    march_batch = build(client, s.civil, "2026-03")
    assert (line_of(march_batch, s.a)["clawback_fen"], march_batch["totals"]["clawback_fen"]) == (0, 0)


def test_a_clawback_found_while_the_next_batch_is_in_civil_review_is_netted_at_once(client):
    """February's batch already built (civil review): the clawback booked by a later finding on
    January's paid redemption is netted from A's open line immediately, not only at the next build."""
    s = settled_january(client, 30000)
    redeemed(client, s.a, s.elder, 30000, served_at="2026-02-03T09:00:00+08:00")
    redeemed(client, s.b, s.elder, 30000, served_at="2026-02-03T09:00:00+08:00")
    set_clock(client, "2026-03-03T10:00:00+08:00")
    february = build(client, s.civil, "2026-02")
    assert february["totals"]["clawback_fen"] == 0
    finding = recorded(client, s.sample["id"], s.civil, s.elder["id"], "fake_service", [s.january["id"]])
    assert [r["effect"] for r in finding["redemptions"]] == ["clawback"]
    now = get_batch(client, february["id"])
    a_line, b_line = line_of(now, s.a), line_of(now, s.b)
    assert (a_line["payable_fen"], a_line["clawback_fen"], a_line["payment_due_fen"]) == (15000, 15000, 0)
    assert (b_line["clawback_fen"], b_line["payment_due_fen"]) == (0, 15000)  # only A owes it
    assert (now["totals"]["clawback_fen"], now["totals"]["payment_due_fen"]) == (15000, 15000)
    assert now["totals"]["payable_fen"] == february["totals"]["payable_fen"] == 30000
    assert_ledger_ok(client)


def february_carrying_a_clawback(client) -> tuple[Settled, dict, dict]:
    """January's 50000 paid to A, then found fake (a clawback); A redeems 10000 + 15000 and B
    15000 in February; February's batch built on 2026-03-03 (March vouchers issued). Returns the
    scenario, the batch and A's 10000 redemption."""
    s = settled_january(client, 100000)
    assert s.january["deduction_fen"] == 50000
    finding = recorded(client, s.sample["id"], s.civil, s.elder["id"], "fake_service", [s.january["id"]])
    assert finding["clawback_fen"] == 50000
    small = redeemed(client, s.a, s.elder, 20000, served_at="2026-02-03T09:00:00+08:00")  # 10000
    redeemed(client, s.a, s.elder, 30000, served_at="2026-02-03T09:00:00+08:00")  # 15000
    redeemed(client, s.b, s.elder, 30000, served_at="2026-02-03T09:00:00+08:00")  # 15000
    set_clock(client, "2026-03-03T10:00:00+08:00")
    assert run_job(client, "issue", "2026-03").status_code == 200
    return s, build(client, s.civil, "2026-02"), small


def test_a_clawback_larger_than_the_next_line_carries_over(client):
    """A clawback is netted only up to the line's payable (amount due 0, paid as 0); the rest
    carries over to the provider's next batch. Another provider's line is untouched."""
    s, february, _small = february_carrying_a_clawback(client)
    a_line = line_of(february, s.a)
    assert (a_line["payable_fen"], a_line["clawback_fen"], a_line["payment_due_fen"]) == (25000, 25000, 0)
    assert (line_of(february, s.b)["clawback_fen"], line_of(february, s.b)["payment_due_fen"]) == (0, 15000)
    assert (february["totals"]["clawback_fen"], february["totals"]["payment_due_fen"]) == (25000, 15000)
    assert_ledger_ok(client)

    civil_review(client, february["id"], s.civil)
    approve(client, february["id"], s.finance)
    assert_problem(pay(client, february["id"], s.civil, s.a, 25000), 422, "AMOUNT_MISMATCH")
    assert line_of(ok(pay(client, february["id"], s.civil, s.a, 0)), s.a)["paid"] is True
    assert ok(pay(client, february["id"], s.civil, s.b, 15000))["status"] == "settled"
    assert_ledger_ok(client)

    # March: the remaining 25000 is netted from A's next line (80000 payable).
    redeemed(client, s.a, s.elder, 160000, served_at="2026-03-03T09:00:00+08:00")
    set_clock(client, APRIL)
    march_batch = build(client, s.civil, "2026-03")
    a_line = line_of(march_batch, s.a)
    assert (a_line["payable_fen"], a_line["clawback_fen"], a_line["payment_due_fen"]) == (80000, 25000, 55000)
    assert [line["provider_id"] for line in march_batch["lines"]] == [s.a["id"]]
    assert march_batch["totals"]["clawback_fen"] == 25000
    civil_review(client, march_batch["id"], s.civil)
    approve(client, march_batch["id"], s.finance)
    assert ok(pay(client, march_batch["id"], s.civil, s.a, 55000))["status"] == "settled"
    assert_ledger_ok(client)


def test_a_rejection_on_a_line_carrying_a_clawback_re_nets_it(client):
    """The civil reviewer rejecting part of a line whose payable is all netted against a clawback:
    the line's payable drops and the clawback netted from it drops with it (the rest carries)."""
    s, february, small = february_carrying_a_clawback(client)
    response = client.post(
        f"{API}/settlements/{february['id']}/civil-review",
        json={"rejections": [{"redemption_id": small["id"], "reason": "无服务记录"}]},
        headers=s.civil.headers,
    )
    assert response.status_code == 200, response.text
    a_line = line_of(response.json(), s.a)
    assert (a_line["payable_fen"], a_line["clawback_fen"], a_line["payment_due_fen"]) == (15000, 15000, 0)
    assert response.json()["totals"]["clawback_fen"] == 15000
    assert_ledger_ok(client)


def test_fake_service_on_a_line_carrying_a_clawback_is_excluded(client):
    """A fake-service finding during civil review on a redemption whose line is netted against an
    earlier clawback: excluded, and the clawback netted from the line shrinks with its payable."""
    s, february, small = february_carrying_a_clawback(client)
    sample = draw(client, s.civil, month="2026-02")
    assert sample.status_code == 201, sample.text
    assert sample.json()["elder_ids"] == [s.elder["id"]]
    response = record(client, sample.json()["id"], s.civil, s.elder["id"], "fake_service", [small["id"]])
    assert response.status_code == 201, response.text
    assert [r["effect"] for r in response.json()["redemptions"]] == ["excluded"]
    a_line = line_of(get_batch(client, february["id"]), s.a)
    assert (a_line["payable_fen"], a_line["clawback_fen"], a_line["payment_due_fen"]) == (15000, 15000, 0)
    assert_ledger_ok(client)


def test_the_providers_statement_shows_the_clawback(client):
    """The provider's own February statement (XLSX) shows the clawback netted from its line
    (抵扣追回款(元)) and the amount due after it."""
    s = settled_january(client, 30000)
    _finding, batch = february_with_clawback(client, s)
    civil_review(client, batch["id"], s.civil)
    approve(client, batch["id"], s.finance)
    ok(pay(client, batch["id"], s.civil, s.a, 15000))
    response = client.get(
        f"{API}/providers/{s.a['id']}/statement",
        params={"month": "2026-02", "format": "xlsx"},
        headers=bearer(s.a["api_key"]),
    )
    assert response.status_code == 200, response.text
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    summary = list(workbook["汇总"].iter_rows(values_only=True))
    labels = {row[0]: row[1] for row in summary if row and row[0] is not None and len(row) > 1}
    assert cell_fen(labels["抵扣追回款(元)"]) == 15000
    assert cell_fen(labels["应付金额(元)"]) == 30000
    header_at = next(i for i, row in enumerate(summary) if row and row[0] == "结算区")
    header = list(summary[header_at])
    line = summary[header_at + 1]
    assert cell_fen(line[header.index("抵扣追回款(元)")]) == 15000
    assert cell_fen(line[header.index("应支付金额(元)")]) == 15000
    # January's statement (the month found fake) shows no clawback: it is netted, not rewritten.
    january = client.get(
        f"{API}/providers/{s.a['id']}/statement",
        params={"month": "2026-01", "format": "xlsx"},
        headers=bearer(s.a["api_key"]),
    )
    labels = {
        row[0]: row[1]
        for row in openpyxl.load_workbook(io.BytesIO(january.content))["汇总"].iter_rows(values_only=True)
        if row and row[0] is not None and len(row) > 1
    }
    assert cell_fen(labels["抵扣追回款(元)"]) == 0
