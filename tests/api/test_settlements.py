"""District settlement over HTTP (CONTRACT.md, "Settlement"; issue 4): building a batch from a
month's redemptions, the three review stages on the working-day calendar, rejections, payments,
the audit trail, deadlines and overdue, reconciliation with the journal, calendar overrides.

The January 2026 scenario (``january`` fixture), clock 2026-01-10 10:00 Beijing:

| redemption | provider              | elder (district)   | item, amount       | deduction | in 110105's batch |
|------------|-----------------------|--------------------|--------------------|-----------|-------------------|
| r1         | station A (110105)    | e1 (110105)        | 11, 30000          | 15000     | yes               |
| r2         | institution B (110105)| e1 (110105)        | 2, 100000          | 40000     | yes               |
| r3         | station C (110108)    | e2 (110105)        | 7, 1001            | 501       | yes (C serves a 110105 elder) |
| r4         | station A             | e2 (110105)        | 11, 30000          | 15000     | no: reversed in January |
| r5         | station A             | e3 (110108)        | 11, 30000          | 15000     | no: another district's elder |
| r6         | institution B         | e2 (110105)        | 2, 12345           | 4938      | yes               |

110105's January batch: 4 redemptions, 2 elders, 3 providers, amount 143346, deduction 60439.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import admin_headers
from tests.factories import (
    API,
    Staff,
    approved_elder,
    assert_problem,
    bearer,
    ledger_verify,
    make_provider,
    redeem,
    run_job,
    set_clock,
    staff,
)

DISTRICT = "110105"
OTHER = "110108"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
BATCH_FIELDS = {
    "id",
    "district_code",
    "month",
    "status",
    "deadlines",
    "overdue",
    "totals",
    "funding",
    "lines",
}
TOTAL_FIELDS = {
    "redemptions",
    "elders",
    "providers",
    "amount_fen",
    "deduction_fen",
    "rejected_fen",
    "payable_fen",
}
LINE_FIELDS = {"provider_id", "redemptions", "deduction_fen", "rejected_fen", "payable_fen", "paid"}


@dataclass
class January:
    civil: Staff
    finance: Staff
    other_civil: Staff
    other_finance: Staff
    auditor: Staff
    a: dict
    b: dict
    c: dict
    e1: dict
    e2: dict
    e3: dict
    r: dict[str, dict]


def jan_redeem(client, provider, elder, **body) -> dict:
    response = redeem(client, provider, elder["id"], served_at="2026-01-10T10:00:00+08:00", **body)
    assert response.status_code == 201, response.text
    return response.json()


def reverse(client, provider, redemption_id):
    return client.post(f"{API}/redemptions/{redemption_id}/reverse", headers=bearer(provider["api_key"]))


@pytest.fixture
def january(client) -> January:
    set_clock(client, "2026-01-10T10:00:00+08:00")
    a = make_provider(client, kind="station", district_code=DISTRICT, name="朝阳站A")
    b = make_provider(client, kind="institution", district_code=DISTRICT, name="朝阳机构B")
    c = make_provider(client, kind="station", district_code=OTHER, name="海淀站C")
    e1 = approved_elder(client, district_code=DISTRICT)
    e2 = approved_elder(client, district_code=DISTRICT)
    e3 = approved_elder(client, district_code=OTHER)
    for elder in (e1, e2, e3):
        assert elder["voucher"]["month"] == "2026-01"
    r = {
        "r1": jan_redeem(client, a, e1, item=11, amount_fen=30000),
        "r2": jan_redeem(client, b, e1, item=2, amount_fen=100000),
        "r3": jan_redeem(client, c, e2, item=7, amount_fen=1001),
        "r4": jan_redeem(client, a, e2, item=11, amount_fen=30000),
        "r5": jan_redeem(client, a, e3, item=11, amount_fen=30000),
        "r6": jan_redeem(client, b, e2, item=2, amount_fen=12345),
    }
    assert [r[k]["deduction_fen"] for k in sorted(r)] == [15000, 40000, 501, 15000, 15000, 4938]
    assert reverse(client, a, r["r4"]["id"]).status_code == 200
    return January(
        civil=staff(client, "district_civil", DISTRICT),
        finance=staff(client, "district_finance", DISTRICT),
        other_civil=staff(client, "district_civil", OTHER),
        other_finance=staff(client, "district_finance", OTHER),
        auditor=staff(client, "auditor"),
        a=a,
        b=b,
        c=c,
        e1=e1,
        e2=e2,
        e3=e3,
        r=r,
    )


# --- small helpers ---------------------------------------------------------------------------------
def build(client, who: Staff, month: str = "2026-01", district_code: str = DISTRICT):
    return client.post(
        f"{API}/settlements", json={"district_code": district_code, "month": month}, headers=who.headers
    )


def built(client, who: Staff, month: str = "2026-01", district_code: str = DISTRICT) -> dict:
    response = build(client, who, month, district_code)
    assert response.status_code == 201, response.text
    return response.json()


def get_batch(client, batch_id: str, who: Staff | None = None) -> dict:
    headers = who.headers if who else admin_headers()
    response = client.get(f"{API}/settlements/{batch_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def civil_review(client, batch_id: str, who: Staff, rejections: list | None = None):
    return client.post(
        f"{API}/settlements/{batch_id}/civil-review",
        json={"rejections": rejections or []},
        headers=who.headers,
    )


def finance_review(client, batch_id: str, who: Staff, approve: bool, note: str | None = None):
    body = {"approve": approve}
    if note is not None:
        body["note"] = note
    return client.post(f"{API}/settlements/{batch_id}/finance-review", json=body, headers=who.headers)


def pay(client, batch_id: str, who: Staff, provider_id: str, amount_fen: int, reference: str = "REF"):
    return client.post(
        f"{API}/settlements/{batch_id}/payments",
        json={"provider_id": provider_id, "amount_fen": amount_fen, "reference": reference},
        headers=who.headers,
    )


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def line_of(batch: dict, provider: dict) -> dict:
    found = [line for line in batch["lines"] if line["provider_id"] == provider["id"]]
    assert len(found) == 1, batch["lines"]
    return found[0]


def unchanged(batch: dict) -> tuple:
    """What a refused request must leave alone."""
    return (
        batch["status"],
        batch["deadlines"],
        batch["totals"],
        batch["funding"],
        batch["lines"],
        len(batch["events"]),
    )


def funding_of(payable: int) -> dict:
    """CONTRACT.md: central = round_half_up(payable x 0.85), city = round_half_up(rest / 2)."""
    from decimal import ROUND_HALF_UP, Decimal

    central = int((Decimal(payable) * Decimal("0.85")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    city = int((Decimal(payable - central) / 2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {"central_fen": central, "city_fen": city, "district_fen": payable - central - city}


def journal_payable(district_code: str, month: date, kinds: tuple[str, ...]) -> int:
    """Sum of the provider_payable lines of the journal entries of these kinds."""
    from app.db import session_scope
    from app.models.ledger import JournalEntry, JournalLine

    with session_scope(write=False) as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
                .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                .where(
                    JournalEntry.district_code == district_code,
                    JournalEntry.month == month,
                    JournalEntry.kind.in_(kinds),
                    JournalLine.account == "provider_payable",
                )
            )
        )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


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


# --- rejections ------------------------------------------------------------------------------------
@pytest.fixture
def batch(client, january) -> dict:
    set_clock(client, "2026-02-03T10:00:00+08:00")
    return built(client, january.civil)


def test_invalid_rejections_are_refused_and_change_nothing(client, january, batch):
    bid = batch["id"]
    before = unchanged(get_batch(client, bid))
    verify_before = ledger_verify(client)
    r = january.r
    for rejections in (
        [{"redemption_id": UNKNOWN_ID, "reason": "x"}],
        [{"redemption_id": "not-a-uuid", "reason": "x"}],
        [{"redemption_id": r["r4"]["id"], "reason": "reversed, not in the batch"}],
        [{"redemption_id": r["r5"]["id"], "reason": "another district's elder"}],
        [{"redemption_id": r["r1"]["id"], "reason": "a"}, {"redemption_id": r["r1"]["id"], "reason": "b"}],
        [
            {"redemption_id": r["r1"]["id"], "reason": "a"},
            {"redemption_id": r["r1"]["id"].upper(), "reason": "b"},
        ],
        [{"redemption_id": r["r1"]["id"], "reason": "valid"}, {"redemption_id": UNKNOWN_ID, "reason": "x"}],
    ):
        assert_problem(civil_review(client, bid, january.civil, rejections), 422, "INVALID_REJECTION")
    # Malformed: no reason, empty reason.
    for rejections in (
        [{"redemption_id": r["r1"]["id"]}],
        [{"redemption_id": r["r1"]["id"], "reason": ""}],
    ):
        assert_problem(civil_review(client, bid, january.civil, rejections), 422, "VALIDATION_ERROR")
    assert unchanged(get_batch(client, bid)) == before
    assert ledger_verify(client)["entries"] == verify_before["entries"]


def test_a_redemption_of_another_batch_is_an_invalid_rejection(client, january, batch):
    other = built(client, january.other_civil, district_code=OTHER)
    assert_problem(
        civil_review(
            client,
            other["id"],
            january.other_civil,
            [{"redemption_id": january.r["r1"]["id"], "reason": "x"}],
        ),
        422,
        "INVALID_REJECTION",
    )


def test_rejecting_everything_leaves_nothing_payable(client, january, batch):
    r = january.r
    rejections = [{"redemption_id": r[k]["id"], "reason": f"拒付{k}"} for k in ("r1", "r2", "r3", "r6")]
    reviewed = ok(civil_review(client, batch["id"], january.civil, rejections))
    assert reviewed["totals"]["rejected_fen"] == 60439
    assert reviewed["totals"]["payable_fen"] == 0
    assert reviewed["funding"] == {"central_fen": 0, "city_fen": 0, "district_fen": 0}
    assert all(line["payable_fen"] == 0 for line in reviewed["lines"])
    assert ledger_verify(client)["ok"] is True


# --- roles, turns, districts -----------------------------------------------------------------------
def test_wrong_role_is_forbidden(client, january, batch):
    bid = batch["id"]
    before = unchanged(get_batch(client, bid))
    assert_problem(civil_review(client, bid, january.finance), 403)
    assert_problem(civil_review(client, bid, january.auditor), 403)
    assert_problem(
        client.post(
            f"{API}/settlements/{bid}/civil-review",
            json={"rejections": []},
            headers=bearer(january.a["api_key"]),
        ),
        403,
    )
    ok(civil_review(client, bid, january.civil))
    assert_problem(finance_review(client, bid, january.civil, approve=True), 403)
    assert_problem(finance_review(client, bid, january.auditor, approve=True), 403)
    ok(finance_review(client, bid, january.finance, approve=True))
    assert_problem(pay(client, bid, january.finance, january.a["id"], 15000), 403)
    assert_problem(pay(client, bid, january.auditor, january.a["id"], 15000), 403)
    assert get_batch(client, bid)["status"] == "payment"
    assert before[0] == "civil_review"


def test_out_of_turn_is_invalid_state(client, january, batch):
    bid = batch["id"]
    before = unchanged(get_batch(client, bid))
    # civil_review: no finance review, no payment
    assert_problem(finance_review(client, bid, january.finance, approve=True), 409, "INVALID_STATE")
    assert_problem(finance_review(client, bid, january.finance, approve=False), 409, "INVALID_STATE")
    assert_problem(pay(client, bid, january.civil, january.a["id"], 15000), 409, "INVALID_STATE")
    assert unchanged(get_batch(client, bid)) == before
    ok(civil_review(client, bid, january.civil))
    # finance_review: no second civil review, no payment
    assert_problem(civil_review(client, bid, january.civil), 409, "INVALID_STATE")
    assert_problem(
        civil_review(
            client, bid, january.civil, [{"redemption_id": january.r["r1"]["id"], "reason": "late"}]
        ),
        409,
        "INVALID_STATE",
    )
    assert_problem(pay(client, bid, january.civil, january.a["id"], 15000), 409, "INVALID_STATE")
    ok(finance_review(client, bid, january.finance, approve=True))
    # payment: no reviews any more
    assert_problem(civil_review(client, bid, january.civil), 409, "INVALID_STATE")
    assert_problem(finance_review(client, bid, january.finance, approve=True), 409, "INVALID_STATE")
    assert_problem(finance_review(client, bid, january.finance, approve=False), 409, "INVALID_STATE")
    after = get_batch(client, bid)
    assert after["status"] == "payment"
    assert after["totals"]["rejected_fen"] == 0


def test_another_districts_officers_get_404(client, january, batch):
    bid = batch["id"]
    before = unchanged(get_batch(client, bid))
    for who in (january.other_civil, january.other_finance):
        assert_problem(client.get(f"{API}/settlements/{bid}", headers=who.headers), 404)
    assert_problem(civil_review(client, bid, january.other_civil), 404)
    ok(civil_review(client, bid, january.civil))
    assert_problem(finance_review(client, bid, january.other_finance, approve=True), 404)
    ok(finance_review(client, bid, january.finance, approve=True))
    assert_problem(pay(client, bid, january.other_civil, january.a["id"], 15000), 404)
    assert line_of(get_batch(client, bid), january.a)["paid"] is False
    # Unknown ids are 404 too.
    assert_problem(client.get(f"{API}/settlements/{UNKNOWN_ID}", headers=january.civil.headers), 404)
    assert_problem(client.get(f"{API}/settlements/not-an-id", headers=january.civil.headers), 404)
    # Listing another district's batches is refused or empty, never the batch.
    listed = client.get(
        f"{API}/settlements", params={"district_code": DISTRICT}, headers=january.other_civil.headers
    )
    assert listed.status_code in (200, 403, 404), listed.text
    if listed.status_code == 200:
        assert listed.json() == []
    assert ok(client.get(f"{API}/settlements", headers=january.other_civil.headers)) == []
    assert before[0] == "civil_review"


# --- deadlines and overdue -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "overdue", "left"),
    [
        ("2026-02-03T10:00:00+08:00", False, 8),
        ("2026-02-12T10:00:00+08:00", False, 1),
        ("2026-02-13T00:00:00+08:00", False, 0),
        ("2026-02-13T23:59:59+08:00", False, 0),  # the deadline day itself is in time
        ("2026-02-13T16:00:00Z", True, -1),  # 00:00 on 2-14 in Beijing: the make-up Saturday
        ("2026-02-14T09:00:00+08:00", True, -1),
        ("2026-02-15T09:00:00+08:00", True, -1),  # a holiday: still one working day late
        ("2026-02-24T09:00:00+08:00", True, -2),
    ],
)
def test_civil_review_overdue_and_working_days_left(client, january, batch, now, overdue, left):
    set_clock(client, now)
    got = get_batch(client, batch["id"])
    assert (got["overdue"], got["working_days_left"]) == (overdue, left)
    listed = ok(client.get(f"{API}/settlements", headers=january.civil.headers))
    assert listed[0]["overdue"] is overdue


def test_stages_submitted_late(client, january, batch):
    bid = batch["id"]
    # Civil review submitted late, on 2-24 (due 2-13).
    set_clock(client, "2026-02-24T10:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is True
    reviewed = ok(civil_review(client, bid, january.civil))
    assert reviewed["overdue"] is False  # the current stage is finance's now
    # finance: 5th working day after 2-24: 25, 26, 27, 28 (make-up Sat), 3-2
    assert reviewed["deadlines"] == {
        "civil_review": "2026-02-13",
        "finance_review": "2026-03-02",
        "payment": None,
    }
    assert reviewed["working_days_left"] == 5
    set_clock(client, "2026-03-02T18:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is False
    set_clock(client, "2026-03-03T09:00:00+08:00")
    late = get_batch(client, bid)
    assert (late["overdue"], late["working_days_left"]) == (True, -1)
    # Finance approves late too (3-3): payment due 3-6 (4, 5, 6).
    approved = ok(finance_review(client, bid, january.finance, approve=True))
    assert approved["deadlines"]["payment"] == "2026-03-06"
    assert approved["overdue"] is False
    set_clock(client, "2026-03-07T09:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is True
    # Late payments still settle it; a settled batch is not overdue.
    for provider, amount in ((january.a, 15000), (january.b, 44938), (january.c, 501)):
        last = ok(pay(client, bid, january.civil, provider["id"], amount))
    assert last["status"] == "settled"
    assert last["overdue"] is False


def test_stages_submitted_early(client, january, batch):
    bid = batch["id"]
    set_clock(client, "2026-02-04T10:00:00+08:00")
    reviewed = ok(civil_review(client, bid, january.civil))
    # finance: 2-5, 6, 9, 10, 11
    assert reviewed["deadlines"]["finance_review"] == "2026-02-11"
    assert reviewed["working_days_left"] == 5
    set_clock(client, "2026-02-05T10:00:00+08:00")
    approved = ok(finance_review(client, bid, january.finance, approve=True))
    # payment: 2-6, 9, 10
    assert approved["deadlines"] == {
        "civil_review": "2026-02-13",
        "finance_review": "2026-02-11",
        "payment": "2026-02-10",
    }
    assert approved["working_days_left"] == 3
    set_clock(client, "2026-02-11T10:00:00+08:00")
    assert get_batch(client, bid)["overdue"] is True  # paid nothing by 2-10


def test_august_finance_review_due_on_the_makeup_sunday(client):
    set_clock(client, "2026-08-10T10:00:00+08:00")
    civil = staff(client, "district_civil", DISTRICT)
    finance = staff(client, "district_finance", DISTRICT)
    station = make_provider(client, district_code=DISTRICT)
    elder = approved_elder(client, district_code=DISTRICT, assessed_on="2026-08-01")
    assert redeem(client, station, elder["id"], served_at="2026-08-10T10:00:00+08:00").status_code == 201
    set_clock(client, "2026-09-14T16:00:00+08:00")
    batch = built(client, civil, month="2026-08")
    assert batch["deadlines"]["civil_review"] == "2026-09-14"
    assert batch["working_days_left"] == 0
    reviewed = ok(civil_review(client, batch["id"], civil))
    assert reviewed["deadlines"]["finance_review"] == "2026-09-20"  # Sunday, make-up working day
    set_clock(client, "2026-09-20T10:00:00+08:00")
    on_sunday = get_batch(client, batch["id"])
    assert (on_sunday["overdue"], on_sunday["working_days_left"]) == (False, 0)
    approved = ok(finance_review(client, batch["id"], finance, approve=True))
    assert approved["deadlines"]["payment"] == "2026-09-23"


# --- calendar overrides ------------------------------------------------------------------------------
def test_calendar_month_view(client):
    response = client.get(f"{API}/calendar", params={"month": "2026-02"}, headers=admin_headers())
    body = ok(response)
    assert body["month"] == "2026-02"
    assert body["working_days"] == 16
    by_day = {d["day"]: d for d in body["days"]}
    assert len(by_day) == 28
    assert by_day["2026-02-14"]["working"] is True  # make-up Saturday
    assert by_day["2026-02-14"]["source"] == "official"
    assert by_day["2026-02-28"]["working"] is True
    assert by_day["2026-02-16"]["working"] is False
    assert by_day["2026-02-16"]["source"] == "official"
    assert by_day["2026-02-23"]["working"] is False
    assert (by_day["2026-02-07"]["working"], by_day["2026-02-07"]["source"]) == (False, "weekend")
    assert (by_day["2026-02-02"]["working"], by_day["2026-02-02"]["source"]) == (True, "weekday")
    october = ok(client.get(f"{API}/calendar", params={"month": "2026-10"}, headers=admin_headers()))
    assert october["working_days"] == 18  # 22 weekdays - 5 holiday weekdays + 10-10
    # Any caller with a token may read it.
    civil = staff(client, "district_civil", DISTRICT)
    assert (
        client.get(f"{API}/calendar", params={"month": "2026-02"}, headers=civil.headers).status_code == 200
    )


def test_an_override_moves_decembers_civil_deadline(client):
    civil = staff(client, "district_civil", DISTRICT)
    set_clock(client, "2027-01-05T10:00:00+08:00")
    batch = built(client, civil, month="2026-12")
    assert batch["deadlines"]["civil_review"] == "2027-01-15"
    assert batch["working_days_left"] == 8  # 1-6, 7, 8, 11, 12, 13, 14, 15

    body = {"working": False, "note": "国务院2027年节假日安排:1月11日放假"}
    assert_problem(client.put(f"{API}/calendar/overrides/2027-01-11", json=body, headers=civil.headers), 403)
    response = client.put(f"{API}/calendar/overrides/2027-01-11", json=body, headers=admin_headers())
    override = ok(response)
    assert (override["day"], override["working"], override["note"]) == ("2027-01-11", False, body["note"])
    assert override["set_by"] == "staff:bootstrap-admin"
    assert at(override["set_at"]) == at("2027-01-05T10:00:00+08:00")

    january_2027 = ok(client.get(f"{API}/calendar", params={"month": "2027-01"}, headers=civil.headers))
    day = next(d for d in january_2027["days"] if d["day"] == "2027-01-11")
    assert (day["working"], day["source"]) == (False, "override")
    overrides = ok(client.get(f"{API}/calendar/overrides", headers=civil.headers))
    assert [o["day"] for o in overrides] == ["2027-01-11"]

    moved = get_batch(client, batch["id"], civil)
    assert moved["deadlines"]["civil_review"] == "2027-01-18"
    assert moved["working_days_left"] == 8  # 1-11 no longer counts, 1-18 does
    set_clock(client, "2027-01-16T10:00:00+08:00")
    assert get_batch(client, batch["id"])["overdue"] is False  # without the override: overdue

    # A make-up working day the other way: Saturday 1-16 declared a working day.
    ok(
        client.put(
            f"{API}/calendar/overrides/2027-01-16",
            json={"working": True, "note": "调休上班"},
            headers=admin_headers(),
        )
    )
    assert get_batch(client, batch["id"])["deadlines"]["civil_review"] == "2027-01-16"
    # Removing the overrides restores the package's calendar.
    for day in ("2027-01-11", "2027-01-16"):
        assert client.delete(f"{API}/calendar/overrides/{day}", headers=admin_headers()).status_code == 204
    assert_problem(client.delete(f"{API}/calendar/overrides/2027-01-11", headers=admin_headers()), 404)
    restored = get_batch(client, batch["id"])
    assert restored["deadlines"]["civil_review"] == "2027-01-15"
    assert restored["overdue"] is True


def test_the_override_updates_a_stage_deadline_too(client, january, batch):
    set_clock(client, "2026-02-13T10:00:00+08:00")
    reviewed = ok(civil_review(client, batch["id"], january.civil))
    assert reviewed["deadlines"]["finance_review"] == "2026-02-27"
    ok(
        client.put(
            f"{API}/calendar/overrides/2026-02-25",
            json={"working": False, "note": "test"},
            headers=admin_headers(),
        )
    )
    assert get_batch(client, batch["id"])["deadlines"]["finance_review"] == "2026-02-28"


# --- uuid ids: the upper-case spelling of an id is the same id -------------------------------------
def test_payment_with_a_provider_id_in_upper_case(client, january, batch):
    ok(civil_review(client, batch["id"], january.civil))
    ok(finance_review(client, batch["id"], january.finance, approve=True))
    paid = ok(pay(client, batch["id"], january.civil, january.a["id"].upper(), 15000))
    assert line_of(paid, january.a)["paid"] is True
    assert uuid.UUID(paid["id"])


def test_many_unknown_rejections_are_an_invalid_rejection_not_a_server_error(client, january, batch):
    """The request schema accepts up to 100,000 rejections. 70,000 ids none of which is in the
    batch must be refused as INVALID_REJECTION (422), on every backend: PostgreSQL's driver takes
    at most 65,535 bind parameters per statement, so the ids must not all go into one IN (…)."""
    rejections = [
        {"redemption_id": str(uuid.UUID(int=i + 1, version=4)), "reason": "x"} for i in range(70_000)
    ]
    response = civil_review(client, batch["id"], january.civil, rejections)
    assert_problem(response, 422, "INVALID_REJECTION")
    assert get_batch(client, batch["id"])["status"] == "civil_review"


def test_the_daily_job_flags_each_overdue_stage_once(client, january, batch):
    """The scheduler's daily job (app.jobs.service.run_flag_overdue) flags a batch when its
    current stage is past its deadline: once per stage, each flag an audit row."""
    from app.db import session_scope
    from app.jobs.service import run_flag_overdue
    from app.models.settlements import SettlementBatch

    bid = batch["id"]

    def run() -> int:
        with session_scope() as session:
            flagged, _run = run_flag_overdue(session, trigger="test")
        return flagged

    def stamp():
        with session_scope(write=False) as session:
            stored = session.get(SettlementBatch, uuid.UUID(bid))
            return stored.overdue_stage, stored.overdue_flagged_at

    def flags() -> list[dict]:
        events = get_batch(client, bid)["events"]
        return [(e["from_status"], e["details"], e["actor"]) for e in events if e["action"] == "flag_overdue"]

    set_clock(client, "2026-02-13T20:00:00+08:00")  # civil review due today: in time
    assert run() == 0
    assert stamp() == (None, None)
    set_clock(client, "2026-02-14T00:10:00+08:00")
    assert run() == 1
    assert stamp() == ("civil_review", at("2026-02-14T00:10:00+08:00"))
    set_clock(client, "2026-02-15T00:10:00+08:00")
    assert run() == 0  # this stage is flagged already
    # Submitted late (2-24): finance is due 3-2 and is not overdue yet.
    set_clock(client, "2026-02-24T10:00:00+08:00")
    ok(civil_review(client, bid, january.civil))
    set_clock(client, "2026-03-02T23:00:00+08:00")
    assert run() == 0
    set_clock(client, "2026-03-03T00:10:00+08:00")
    assert run() == 1  # late again, in the next stage
    assert stamp() == ("finance_review", at("2026-03-03T00:10:00+08:00"))
    assert run() == 0
    # Finance approves on time from here: payment due 3-6; paid in full, nothing more to flag.
    ok(finance_review(client, bid, january.finance, approve=True))
    for provider, amount in ((january.a, 15000), (january.b, 44938), (january.c, 501)):
        ok(pay(client, bid, january.civil, provider["id"], amount))
    set_clock(client, "2026-03-20T00:10:00+08:00")
    assert run() == 0
    assert flags() == [
        ("civil_review", {"stage": "civil_review", "due": "2026-02-13"}, "system:flag_overdue"),
        ("finance_review", {"stage": "finance_review", "due": "2026-03-02"}, "system:flag_overdue"),
    ]
