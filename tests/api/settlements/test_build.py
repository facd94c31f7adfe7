"""Building a district's monthly batch over HTTP: which redemptions it holds, who may build,
the month must have ended, one batch per district-month; a held redemption is IN_SETTLEMENT.
The January scenario: tests/api/settlements/scenario.py."""

from __future__ import annotations

from tests.api.settlements.scenario import (
    BATCH_FIELDS,
    DISTRICT,
    LINE_FIELDS,
    OTHER,
    TOTAL_FIELDS,
    build,
    built,
    civil_review,
    finance_review,
    funding_of,
    get_batch,
    line_of,
    ok,
    reverse,
)
from tests.conftest import admin_headers
from tests.factories import API, assert_problem, bearer, ledger_verify, redeem, run_job, set_clock, staff


# --- building a batch ------------------------------------------------------------------------------
def test_month_not_ended_before_february_1_beijing(client, january):
    set_clock(client, "2026-01-31T15:59:59Z")  # 23:59:59 Beijing
    assert_problem(build(client, january.civil), 409, "MONTH_NOT_ENDED")
    assert_problem(build(client, january.civil, month="2026-02"), 409, "MONTH_NOT_ENDED")
    set_clock(client, "2026-01-31T16:00:00Z")  # 00:00 on 2-1 in Beijing
    assert build(client, january.civil).status_code == 201


def test_build_holds_the_months_posted_redemptions_of_the_districts_elders(client, january):
    # February: vouchers issued, one more redemption that belongs to February's batch.
    set_clock(client, "2026-02-03T10:00:00+08:00")
    assert run_job(client, "issue", "2026-02").status_code == 200
    feb = redeem(client, january.a, january.e1["id"], served_at="2026-02-03T09:00:00+08:00")
    assert feb.status_code == 201, feb.text

    batch = built(client, january.civil)
    assert BATCH_FIELDS <= set(batch)
    assert batch["district_code"] == DISTRICT
    assert batch["month"] == "2026-01"
    assert batch["status"] == "civil_review"
    assert batch["deadlines"] == {"civil_review": "2026-02-13", "finance_review": None, "payment": None}
    assert batch["overdue"] is False
    assert batch["working_days_left"] == 8  # 2-4, 5, 6, 9, 10, 11, 12, 13
    assert set(batch["totals"]) == TOTAL_FIELDS | {
        "clawback_fen",
        "payment_due_fen",
    }  # the contract's, and clawbacks
    assert batch["totals"] == {
        "redemptions": 4,  # r1, r2, r3, r6: not r4 (reversed), r5 (110108's elder), February's
        "elders": 2,
        "providers": 3,
        "amount_fen": 30000 + 100000 + 1001 + 12345,
        "deduction_fen": 15000 + 40000 + 501 + 4938,
        "rejected_fen": 0,
        "payable_fen": 60439,
        "clawback_fen": 0,
        "payment_due_fen": 60439,
    }
    assert (
        batch["funding"]
        == funding_of(60439)
        == {"central_fen": 51373, "city_fen": 4533, "district_fen": 4533}
    )
    assert len(batch["lines"]) == 3
    for line in batch["lines"]:
        assert LINE_FIELDS <= set(line)
    # The provider of another district serving this district's elder is in the batch.
    c = line_of(batch, january.c)
    assert (c["redemptions"], c["deduction_fen"], c["rejected_fen"], c["payable_fen"], c["paid"]) == (
        1,
        501,
        0,
        501,
        False,
    )
    a, b = line_of(batch, january.a), line_of(batch, january.b)
    assert (a["redemptions"], a["deduction_fen"], a["payable_fen"]) == (1, 15000, 15000)
    assert (b["redemptions"], b["deduction_fen"], b["payable_fen"]) == (2, 44938, 44938)
    assert sum(line["payable_fen"] for line in batch["lines"]) == batch["totals"]["payable_fen"]

    # The other district's batch holds r5 only (not C's redemption for 110105's elder).
    other = built(client, january.other_civil, district_code=OTHER)
    assert other["totals"]["redemptions"] == 1
    assert other["totals"]["deduction_fen"] == 15000
    assert [line["provider_id"] for line in other["lines"]] == [january.a["id"]]

    # Listing and reading.
    listed = client.get(
        f"{API}/settlements",
        params={"district_code": DISTRICT, "month": "2026-01"},
        headers=january.civil.headers,
    )
    assert [item["id"] for item in ok(listed)] == [batch["id"]]
    assert [item["id"] for item in ok(client.get(f"{API}/settlements", headers=january.civil.headers))] == [
        batch["id"]
    ]
    assert {item["id"] for item in ok(client.get(f"{API}/settlements", headers=january.auditor.headers))} == {
        batch["id"],
        other["id"],
    }
    assert get_batch(client, batch["id"], january.auditor)["totals"] == batch["totals"]
    assert get_batch(client, batch["id"], january.finance)["totals"] == batch["totals"]


def test_a_second_batch_is_settlement_exists(client, january):
    set_clock(client, "2026-02-03T10:00:00+08:00")
    first = built(client, january.civil)
    assert_problem(build(client, january.civil), 409, "SETTLEMENT_EXISTS")
    assert_problem(build(client, staff(client, "district_civil", DISTRICT)), 409, "SETTLEMENT_EXISTS")
    assert [b["id"] for b in ok(client.get(f"{API}/settlements", headers=admin_headers()))] == [first["id"]]


def test_who_may_build(client, january):
    set_clock(client, "2026-02-03T10:00:00+08:00")
    assert_problem(build(client, january.finance), 403)
    assert_problem(build(client, january.auditor), 403)
    assert_problem(
        client.post(
            f"{API}/settlements",
            json={"district_code": DISTRICT, "month": "2026-01"},
            headers=bearer(january.a["api_key"]),
        ),
        403,
    )
    # Another district's officer cannot build this district's batch.
    response = build(client, january.other_civil)
    assert response.status_code in (403, 404), response.text
    assert ok(client.get(f"{API}/settlements", headers=admin_headers())) == []


def test_an_empty_district_month_builds_an_empty_batch(client, january):
    set_clock(client, "2026-02-03T10:00:00+08:00")
    civil = staff(client, "district_civil", "110101")
    batch = built(client, civil, district_code="110101")
    assert batch["totals"] == dict.fromkeys(TOTAL_FIELDS | {"clawback_fen", "payment_due_fen"}, 0)
    assert batch["funding"] == {"central_fen": 0, "city_fen": 0, "district_fen": 0}
    assert batch["lines"] == []


def test_an_empty_batch_is_settled_once_finance_approves(client, january):
    """Nothing to pay: "when every line is paid the status is settled" holds as soon as finance
    approves. Otherwise the batch stays in ``payment`` for ever (no line can be paid) and turns
    overdue three working days later."""
    set_clock(client, "2026-02-03T10:00:00+08:00")
    civil = staff(client, "district_civil", "110101")
    finance = staff(client, "district_finance", "110101")
    batch = built(client, civil, district_code="110101")
    ok(civil_review(client, batch["id"], civil))
    approved = ok(finance_review(client, batch["id"], finance, approve=True))
    set_clock(client, "2026-03-16T10:00:00+08:00")
    later = get_batch(client, batch["id"])
    assert (approved["status"], later["status"], later["overdue"]) == ("settled", "settled", False), (
        approved["status"],
        later["status"],
        later["overdue"],
    )


# --- IN_SETTLEMENT ---------------------------------------------------------------------------------
def test_a_held_redemption_cannot_be_reversed(client, january):
    set_clock(client, "2026-02-03T10:00:00+08:00")
    before_verify = ledger_verify(client)
    # Before any batch, after the month: MONTH_CLOSED.
    assert_problem(reverse(client, january.a, january.r["r1"]["id"]), 409, "MONTH_CLOSED")
    batch = built(client, january.civil)
    after_build = ledger_verify(client)
    assert after_build["entries"] == before_verify["entries"]  # building moves no money
    # Held by the batch: IN_SETTLEMENT (its settlement has started), whatever the provider.
    for name, provider in (("r1", january.a), ("r2", january.b), ("r3", january.c), ("r6", january.b)):
        assert_problem(reverse(client, provider, january.r[name]["id"]), 409, "IN_SETTLEMENT")
    # Not held (110108's elder, 110108 has no batch yet): still MONTH_CLOSED.
    assert_problem(reverse(client, january.a, january.r["r5"]["id"]), 409, "MONTH_CLOSED")
    # The reversed one stays ALREADY_REVERSED.
    assert_problem(reverse(client, january.a, january.r["r4"]["id"]), 409, "ALREADY_REVERSED")
    built(client, january.other_civil, district_code=OTHER)
    assert_problem(reverse(client, january.a, january.r["r5"]["id"]), 409, "IN_SETTLEMENT")
    # Nothing changed.
    assert ledger_verify(client)["entries"] == before_verify["entries"]
    assert get_batch(client, batch["id"])["totals"]["deduction_fen"] == 60439
    # Also after a rejection and after payment.
    ok(
        civil_review(
            client, batch["id"], january.civil, [{"redemption_id": january.r["r2"]["id"], "reason": "缺凭证"}]
        )
    )
    assert_problem(reverse(client, january.b, january.r["r2"]["id"]), 409, "IN_SETTLEMENT")
