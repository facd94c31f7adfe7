"""Review over HTTP: rejections (核减) refused or taken, roles, turns and districts, ids in
another spelling. The refusals are decided by app.rules.settlement (table-tested in
tests/rules/test_settlement_decisions.py); here they are seen through the API, and a refused
request changes nothing. The January scenario: tests/api/settlements/scenario.py."""

from __future__ import annotations

import uuid

from tests.api.settlements.scenario import (
    DISTRICT,
    OTHER,
    UNKNOWN_ID,
    built,
    civil_review,
    finance_review,
    get_batch,
    line_of,
    ok,
    pay,
    unchanged,
)
from tests.factories import API, assert_problem, bearer, ledger_verify

# --- rejections ------------------------------------------------------------------------------------


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
