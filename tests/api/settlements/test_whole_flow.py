"""The whole settlement over HTTP: build, civil review with rejections, return, resubmission,
approval, payments, every event in the audit trail, reconciliation with the journal and
verify. The January scenario: tests/api/settlements/scenario.py."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from tests.api.settlements.scenario import (
    DISTRICT,
    UNKNOWN_ID,
    at,
    built,
    civil_review,
    finance_review,
    funding_of,
    get_batch,
    journal_payable,
    line_of,
    ok,
    pay,
    unchanged,
)
from tests.factories import assert_problem, ledger_verify, make_provider, set_clock


# --- the whole flow --------------------------------------------------------------------------------
def test_the_whole_flow_with_audit_reconciliation_and_verify(client, january):
    j = january
    set_clock(client, "2026-02-03T10:00:00+08:00")
    batch = built(client, j.civil)
    bid = batch["id"]
    month = date(2026, 1, 1)

    # Reconciliation at build: payable = the month's redemption journal entries (posted minus
    # reversals) of the district.
    assert journal_payable(DISTRICT, month, ("redeem",)) == 60439 + 15000
    assert journal_payable(DISTRICT, month, ("reverse",)) == -15000
    assert journal_payable(DISTRICT, month, ("redeem", "reverse")) == batch["totals"]["payable_fen"] == 60439

    # Civil review with rejections, submitted early (2-5, before 2-13).
    set_clock(client, "2026-02-05T15:00:00+08:00")
    rejections = [
        {"redemption_id": j.r["r2"]["id"], "reason": "缺少入住协议"},
        {"redemption_id": j.r["r3"]["id"], "reason": "服务记录与收费单据不符"},
    ]
    reviewed = ok(civil_review(client, bid, j.civil, rejections))
    assert reviewed["status"] == "finance_review"
    assert reviewed["deadlines"] == {
        "civil_review": "2026-02-13",
        "finance_review": "2026-02-12",  # 2-6, 9, 10, 11, 12
        "payment": None,
    }
    assert reviewed["overdue"] is False
    assert reviewed["working_days_left"] == 5
    assert reviewed["totals"]["rejected_fen"] == 40501
    assert reviewed["totals"]["payable_fen"] == 60439 - 40501 == 19938
    assert reviewed["totals"]["deduction_fen"] == 60439  # unchanged: rejections are separate
    assert reviewed["totals"]["redemptions"] == 4
    assert (
        reviewed["funding"]
        == funding_of(19938)
        == {"central_fen": 16947, "city_fen": 1496, "district_fen": 1495}
    )
    assert sum(reviewed["funding"].values()) == 19938
    a, b, c = (line_of(reviewed, p) for p in (j.a, j.b, j.c))
    assert (a["deduction_fen"], a["rejected_fen"], a["payable_fen"]) == (15000, 0, 15000)
    assert (b["deduction_fen"], b["rejected_fen"], b["payable_fen"]) == (44938, 40000, 4938)
    assert (c["deduction_fen"], c["rejected_fen"], c["payable_fen"]) == (501, 501, 0)
    assert sum(line["payable_fen"] for line in reviewed["lines"]) == 19938
    event = reviewed["events"][-1]
    assert event["action"] == "submit_civil_review"
    assert (event["from_status"], event["to_status"]) == ("civil_review", "finance_review")
    assert event["actor"] == j.civil.actor
    assert at(event["at"]) == at("2026-02-05T15:00:00+08:00")
    assert event["details"]["rejections"] == [
        {"redemption_id": j.r["r2"]["id"], "reason": "缺少入住协议"},
        {"redemption_id": j.r["r3"]["id"], "reason": "服务记录与收费单据不符"},
    ]
    # The rejection is recorded against the provider with the reason, and journaled.
    assert journal_payable(DISTRICT, month, ("reject",)) == -40501
    assert ledger_verify(client)["ok"] is True

    # Finance returns it: back to civil review, finance deadline cleared.
    set_clock(client, "2026-02-06T11:00:00+08:00")
    returned = ok(finance_review(client, bid, j.finance, approve=False, note="请补充B机构的说明"))
    assert returned["status"] == "civil_review"
    assert returned["deadlines"] == {"civil_review": "2026-02-13", "finance_review": None, "payment": None}
    assert returned["totals"]["payable_fen"] == 19938  # rejections stay
    event = returned["events"][-1]
    assert (event["action"], event["from_status"], event["to_status"]) == (
        "return",
        "finance_review",
        "civil_review",
    )
    assert event["actor"] == j.finance.actor
    assert event["details"] == {"note": "请补充B机构的说明"}

    # Resubmitted on its due date, with one more rejection (r6, 4938 of B's).
    set_clock(client, "2026-02-13T17:00:00+08:00")
    resubmitted = ok(
        civil_review(client, bid, j.civil, [{"redemption_id": j.r["r6"]["id"], "reason": "重复收费"}])
    )
    assert resubmitted["status"] == "finance_review"
    assert resubmitted["deadlines"]["finance_review"] == "2026-02-27"  # 2-14, [2-15..23], 24-27
    assert resubmitted["totals"]["rejected_fen"] == 40501 + 4938
    payable = 60439 - 40501 - 4938
    assert resubmitted["totals"]["payable_fen"] == payable == 15000
    assert resubmitted["funding"] == funding_of(payable)
    b = line_of(resubmitted, j.b)
    assert (b["rejected_fen"], b["payable_fen"]) == (44938, 0)
    # Each rejected item keeps its own reason; the first reason stays when resubmitted.
    from app.db import session_scope
    from app.models.settlements import SettlementItem

    with session_scope(write=False) as session:
        reasons = dict(
            session.execute(
                select(SettlementItem.redemption_id, SettlementItem.rejection_reason).where(
                    SettlementItem.batch_id == uuid.UUID(bid), SettlementItem.rejected.is_(True)
                )
            ).all()
        )
    assert {str(k): v for k, v in reasons.items()} == {
        j.r["r2"]["id"]: "缺少入住协议",
        j.r["r3"]["id"]: "服务记录与收费单据不符",
        j.r["r6"]["id"]: "重复收费",
    }

    # Finance approves on the make-up Saturday 2-14: payment due on the 3rd working day after.
    set_clock(client, "2026-02-14T09:30:00+08:00")
    approved = ok(finance_review(client, bid, j.finance, approve=True, note="同意"))
    assert approved["status"] == "payment"
    assert approved["deadlines"] == {
        "civil_review": "2026-02-13",
        "finance_review": "2026-02-27",
        "payment": "2026-02-26",  # 2-24, 25, 26
    }
    assert approved["overdue"] is False
    assert approved["working_days_left"] == 3

    # Payments.
    set_clock(client, "2026-02-24T10:00:00+08:00")
    snapshot = unchanged(get_batch(client, bid))
    assert_problem(pay(client, bid, j.civil, j.a["id"], 14999), 422, "AMOUNT_MISMATCH")
    assert_problem(pay(client, bid, j.civil, j.a["id"], 15001), 422, "AMOUNT_MISMATCH")
    assert_problem(pay(client, bid, j.civil, j.b["id"], 4938), 422, "AMOUNT_MISMATCH")  # all rejected now
    assert_problem(pay(client, bid, j.civil, UNKNOWN_ID, 0), 404)
    assert_problem(pay(client, bid, j.civil, "not-an-id", 0), 404)
    outsider = make_provider(client, district_code=DISTRICT)  # listed, but not in the batch
    assert_problem(pay(client, bid, j.civil, outsider["id"], 0), 404)
    assert_problem(pay(client, bid, j.finance, j.a["id"], 15000), 403)
    assert unchanged(get_batch(client, bid)) == snapshot

    paid_a = ok(pay(client, bid, j.civil, j.a["id"], 15000, "BJ-2026-0001"))
    assert paid_a["status"] == "payment"
    line = line_of(paid_a, j.a)
    assert (line["paid"], line["paid_on"], line["payment_reference"]) == (True, "2026-02-24", "BJ-2026-0001")
    event = paid_a["events"][-1]
    assert (event["action"], event["from_status"], event["to_status"]) == ("pay", "payment", "payment")
    assert event["details"] == {"provider_id": j.a["id"], "amount_fen": 15000, "reference": "BJ-2026-0001"}
    assert_problem(pay(client, bid, j.civil, j.a["id"], 15000, "BJ-2026-0001"), 409, "ALREADY_PAID")

    ok(pay(client, bid, j.civil, j.b["id"], 0, "ZERO-B"))
    set_clock(client, "2026-02-25T10:00:00+08:00")
    settled = ok(pay(client, bid, j.civil, j.c["id"], 0, "ZERO-C"))
    assert settled["status"] == "settled"
    assert all(line["paid"] for line in settled["lines"])
    assert settled["overdue"] is False
    assert settled["working_days_left"] is None
    assert settled["events"][-1]["action"] == "settle"
    assert (settled["events"][-1]["from_status"], settled["events"][-1]["to_status"]) == (
        "payment",
        "settled",
    )

    # Every transition has an audit event: who, when, what.
    events = settled["events"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("build", None, "civil_review"),
        ("submit_civil_review", "civil_review", "finance_review"),
        ("return", "finance_review", "civil_review"),
        ("submit_civil_review", "civil_review", "finance_review"),
        ("approve", "finance_review", "payment"),
        ("pay", "payment", "payment"),
        ("pay", "payment", "payment"),
        ("pay", "payment", "payment"),
        ("settle", "payment", "settled"),
    ]
    assert [e["actor"] for e in events] == [
        j.civil.actor,
        j.civil.actor,
        j.finance.actor,
        j.civil.actor,
        j.finance.actor,
        j.civil.actor,
        j.civil.actor,
        j.civil.actor,
        j.civil.actor,
    ]
    assert [at(e["at"]) for e in events] == [
        at(t)
        for t in (
            "2026-02-03T10:00:00+08:00",
            "2026-02-05T15:00:00+08:00",
            "2026-02-06T11:00:00+08:00",
            "2026-02-13T17:00:00+08:00",
            "2026-02-14T09:30:00+08:00",
            "2026-02-24T10:00:00+08:00",
            "2026-02-24T10:00:00+08:00",
            "2026-02-25T10:00:00+08:00",
            "2026-02-25T10:00:00+08:00",
        )
    ]
    assert all(e["at"].endswith("+08:00") for e in events)
    assert events[0]["details"] == {"redemptions": 4, "deduction_fen": 60439}
    assert events[4]["details"] == {"note": "同意"}

    # Reconciliation: payable = the month's redemption journal entries minus rejections, and
    # the payments drew the providers' payable down by exactly that.
    redemptions_net = journal_payable(DISTRICT, month, ("redeem", "reverse"))
    rejections_net = journal_payable(DISTRICT, month, ("reject",))
    assert redemptions_net + rejections_net == settled["totals"]["payable_fen"] == 15000
    assert journal_payable(DISTRICT, month, ("pay",)) == -15000
    assert redemptions_net == settled["totals"]["deduction_fen"]
    assert -rejections_net == settled["totals"]["rejected_fen"]
    report = ledger_verify(client)
    assert report["ok"] is True, report
    assert report["mismatches"] == []

    # Settled: everything is out of turn now, and never overdue.
    for response in (
        civil_review(client, bid, j.civil),
        finance_review(client, bid, j.finance, approve=True),
        pay(client, bid, j.civil, j.a["id"], 15000),
    ):
        assert_problem(response, 409, "INVALID_STATE")
    set_clock(client, "2026-12-31T10:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is False
