"""Races at the point of service, against a real server: many terminals, one voucher.

Every request comes from its own thread and connection, and all are released at one barrier.
Each test checks the money first (no overdraft, no lost update, no double effect, a journal that
still explains every balance), then the answers (no 500, no 503, the contract's codes), so that
a failure says which of the two broke.
"""

from __future__ import annotations

import pytest

from tests.concurrency.conftest import (
    API,
    FACE_VALUE_FEN,
    all_redemptions,
    approve,
    approved_elders,
    assert_balances_follow_redemptions,
    assert_ledger_ok,
    assert_no_server_errors,
    create_elders,
    create_provider,
    fire_together,
    redemption_body,
    rows,
    scalar,
    summary,
    the_voucher,
)


def post_redemption(body: dict, key: str):
    return lambda client: client.post(f"{API}/redemptions", json=body, headers={"Idempotency-Key": key})


def assert_balance_chain(posted: list[dict]) -> None:
    """Each success saw exactly the balance the previous one left: no lost update."""
    balance = FACE_VALUE_FEN
    for body in sorted(posted, key=lambda b: -b["voucher_balance_fen"]):
        balance -= body["deduction_fen"]
        assert body["voucher_balance_fen"] == balance, (body, balance)
        assert body["voucher_balance_fen"] >= 0, body


@pytest.mark.parametrize(
    ("amount_fen", "deduction_fen"),
    [(3_000, 1_500), (7_000, 3_500)],
    ids=["1500-per-redemption", "3500-per-redemption-last-partial"],
)
def test_concurrent_redemptions_never_overdraw_one_voucher(live_server, admin, amount_fen, deduction_fen):
    # Two providers' terminals, 60 requests with distinct keys, against one voucher of 80,000 fen
    # whose demand (60 x deduction) is larger than its balance; 80,000 is not a multiple of
    # 1,500 or 3,500, so one success must take only what is left.
    providers = [create_provider(admin), create_provider(admin)]
    elder = approved_elders(admin, 1)[0]
    voucher_id = elder["voucher"]["id"]
    body = redemption_body(elder["id"], amount_fen=amount_fen)
    results = fire_together(
        live_server,
        [(providers[i % 2]["api_key"], post_redemption(body, f"race-{i}")) for i in range(60)],
    )
    posted = [r.body for r in results if r.status == 201]
    unknown = [r for r in results if r.error]  # the client gave up; the server may still commit

    # Money first: whatever the status codes, nothing may be overdrawn or lost.
    assert_balances_follow_redemptions()
    assert scalar("SELECT min(balance_fen) FROM vouchers") >= 0
    assert {b["voucher_id"] for b in posted} <= {voucher_id}
    for b in posted:
        assert b["self_pay_fen"] == b["eligible_fen"] - b["deduction_fen"], b
    assert_balance_chain(posted)
    listed = []
    for provider in providers:
        with live_server.client(token=provider["api_key"]) as terminal:
            listed += all_redemptions(terminal)
    assert {b["id"] for b in posted} <= {r["id"] for r in listed}
    assert len(listed) <= len(posted) + len(unknown), summary(results)
    assert_ledger_ok(admin)
    final = the_voucher(admin, elder["id"])
    if not unknown:
        assert sum(b["deduction_fen"] for b in posted) == FACE_VALUE_FEN - final["balance_fen"]
        assert len(listed) == len(posted)

    # Then the answers: a success or VOUCHER_EXHAUSTED, never a 500 or 503.
    assert_no_server_errors(results, live_server)
    refused = [r for r in results if r.status != 201]
    assert all(r.status == 409 and r.code == "VOUCHER_EXHAUSTED" for r in refused), summary(results)
    # Every request was served, so the voucher ends used up exactly, the last success taking
    # only what was left (deduction = min(rate x amount, balance)).
    full, rest = divmod(FACE_VALUE_FEN, deduction_fen)
    assert final["balance_fen"] == 0, summary(results)
    assert sorted(b["deduction_fen"] for b in posted) == sorted(
        [deduction_fen] * full + ([rest] if rest else [])
    ), summary(results)
    assert scalar("SELECT count(*) FROM journal_entries WHERE kind = 'redeem'") == len(posted)
    assert scalar("SELECT count(*) FROM idempotency_keys") == 60


def test_one_idempotency_key_sent_fifty_times_at_once_redeems_once(live_server, admin):
    provider = create_provider(admin)
    elder = approved_elders(admin, 1)[0]
    body = redemption_body(elder["id"], amount_fen=3_000)
    results = fire_together(
        live_server,
        [(provider["api_key"], post_redemption(body, "one-key-fifty-times"))] * 50,
    )

    created = [r for r in results if r.status == 201]
    assert len({r.body["id"] for r in created}) <= 1, summary(results)
    with live_server.client(token=provider["api_key"]) as terminal:
        listed = all_redemptions(terminal, elder_id=elder["id"])
    assert len(listed) <= 1, f"{len(listed)} redemptions for one key: {summary(results)}"
    assert_balances_follow_redemptions()
    assert scalar("SELECT count(*) FROM journal_entries WHERE kind = 'redeem'") == len(listed)
    assert_ledger_ok(admin)

    assert_no_server_errors(results, live_server)
    assert all(r.status == 201 for r in results), summary(results)
    assert len(listed) == 1
    assert {r.body["id"] for r in results} == {listed[0]["id"]}
    assert all(r.body == results[0].body for r in results)
    fresh = [r for r in results if not r.replayed]
    assert len(fresh) == 1, f"{len(fresh)} responses without Idempotent-Replayed: {summary(results)}"
    assert the_voucher(admin, elder["id"])["balance_fen"] == FACE_VALUE_FEN - 1_500


def test_one_key_raced_with_two_bodies_redeems_once(live_server, admin):
    # Half the requests carry one body, half another, all under one key: one body wins and the
    # other is IDEMPOTENCY_KEY_REUSED, never a second redemption.
    provider = create_provider(admin)
    elder = approved_elders(admin, 1)[0]
    bodies = [
        redemption_body(elder["id"], amount_fen=3_000),
        redemption_body(elder["id"], amount_fen=4_000),
    ]
    results = fire_together(
        live_server,
        [(provider["api_key"], post_redemption(bodies[i % 2], "one-key-two-bodies")) for i in range(40)],
    )

    assert scalar("SELECT count(*) FROM redemptions") <= 1, summary(results)
    created = [r for r in results if r.status == 201]
    assert all(r.body == created[0].body for r in created), summary(results)
    assert_balances_follow_redemptions()
    assert_ledger_ok(admin)

    assert_no_server_errors(results, live_server)
    assert created, summary(results)
    assert len([r for r in created if not r.replayed]) == 1, summary(results)
    losers = [r for r in results if r.status != 201]
    assert all(r.status == 422 and r.code == "IDEMPOTENCY_KEY_REUSED" for r in losers), summary(results)
    assert len(created) == 20 and len(losers) == 20, summary(results)
    winner = created[0].body
    assert the_voucher(admin, elder["id"])["balance_fen"] == FACE_VALUE_FEN - winner["deduction_fen"]


def test_racing_reversals_restore_the_balance_once(live_server, admin):
    provider = create_provider(admin)
    elder = approved_elders(admin, 1)[0]
    with live_server.client(token=provider["api_key"]) as terminal:
        response = terminal.post(
            f"{API}/redemptions",
            json=redemption_body(elder["id"], amount_fen=3_000),
            headers={"Idempotency-Key": "to-reverse"},
        )
    assert response.status_code == 201, response.text
    redemption = response.json()
    assert redemption["voucher_balance_fen"] == FACE_VALUE_FEN - 1_500

    def reverse(client):
        return client.post(f"{API}/redemptions/{redemption['id']}/reverse")

    results = fire_together(live_server, [(provider["api_key"], reverse)] * 20)

    done = [r for r in results if r.status == 200]
    assert len(done) <= 1, summary(results)
    assert scalar("SELECT count(*) FROM journal_entries WHERE kind = 'reverse'") <= 1
    assert scalar("SELECT max(balance_fen) FROM vouchers") <= FACE_VALUE_FEN
    assert_balances_follow_redemptions()
    assert_ledger_ok(admin)

    assert_no_server_errors(results, live_server)
    assert len(done) == 1, summary(results)
    assert done[0].body == {
        "id": redemption["id"],
        "status": "reversed",
        "voucher_balance_fen": FACE_VALUE_FEN,
    }
    others = [r for r in results if r.status != 200]
    assert all(r.status == 409 and r.code == "ALREADY_REVERSED" for r in others), summary(results)
    with live_server.client(token=provider["api_key"]) as terminal:
        stored = terminal.get(f"{API}/redemptions/{redemption['id']}")
    assert stored.status_code == 200 and stored.json()["status"] == "reversed", stored.text
    assert the_voucher(admin, elder["id"])["balance_fen"] == FACE_VALUE_FEN
    assert scalar("SELECT count(*) FROM journal_entries WHERE kind = 'reverse'") == 1


def test_reversals_racing_new_redemptions_on_one_voucher_lose_no_update(live_server, admin):
    # 10 posted redemptions are reversed while 20 new ones are posted against the same voucher:
    # additions to and subtractions from one balance, in parallel, must all land.
    provider = create_provider(admin)
    elder = approved_elders(admin, 1)[0]
    body = redemption_body(elder["id"], amount_fen=2_000)  # 1,000 fen off each time
    earlier = []
    with live_server.client(token=provider["api_key"]) as terminal:
        for i in range(10):
            response = terminal.post(
                f"{API}/redemptions", json=body, headers={"Idempotency-Key": f"earlier-{i}"}
            )
            assert response.status_code == 201, response.text
            earlier.append(response.json()["id"])

    def reverse(redemption_id):
        return lambda client: client.post(f"{API}/redemptions/{redemption_id}/reverse")

    requests = [(provider["api_key"], reverse(rid)) for rid in earlier] + [
        (provider["api_key"], post_redemption(body, f"later-{i}")) for i in range(20)
    ]
    results = fire_together(live_server, requests)

    assert_balances_follow_redemptions()
    assert_ledger_ok(admin)

    assert_no_server_errors(results, live_server)
    assert all(r.status == 200 for r in results[:10]), summary(results)
    assert all(r.status == 201 for r in results[10:]), summary(results)
    with live_server.client(token=provider["api_key"]) as terminal:
        listed = all_redemptions(terminal)
    assert len(listed) == 30
    assert {r["id"] for r in listed if r["status"] == "reversed"} == set(earlier)
    assert the_voucher(admin, elder["id"])["balance_fen"] == FACE_VALUE_FEN - 20 * 1_000


def test_approvals_racing_the_issue_job_give_each_elder_one_voucher(live_server, admin):
    elders = create_elders(admin, 20)
    approvals = [(None, lambda client, e=e: approve(client, e["id"])) for e in elders]
    issue = (None, lambda client: client.post(f"{API}/jobs/issue", json={"month": "2026-03"}))
    results = fire_together(live_server, approvals[:10] + [issue] * 3 + approvals[10:] + [issue] * 3)

    # Never two vouchers for one elder, whoever issued them, whatever was answered.
    assert scalar("SELECT count(*) FROM vouchers") == scalar("SELECT count(DISTINCT elder_id) FROM vouchers")
    # One issue line per voucher, whoever issued it.
    assert scalar("SELECT count(*) FROM journal_lines WHERE account = 'voucher'") == scalar(
        "SELECT count(*) FROM vouchers"
    )
    assert_ledger_ok(admin)

    assert_no_server_errors(results, live_server)
    assert all(r.status == 200 for r in results), summary(results)
    approved = [r.body for r in results if "voucher" in r.body]
    job_results = [r.body for r in results if "issued" in r.body]
    assert len(approved) == 20 and len(job_results) == 6
    for approval in approved:
        assert approval["voucher"] is not None, approval
        voucher = the_voucher(admin, approval["id"])  # exactly one March voucher
        assert voucher["id"] == approval["voucher"]["id"]
        assert voucher["balance_fen"] == FACE_VALUE_FEN
    assert scalar("SELECT count(*) FROM vouchers") == 20
    by_job = scalar("SELECT count(*) FROM vouchers WHERE issue_job_run_id IS NOT NULL")
    assert sum(j["issued"] for j in job_results) == by_job


def test_one_elder_approved_ten_times_at_once_is_approved_once(live_server, admin):
    elder = create_elders(admin, 1)[0]
    results = fire_together(live_server, [(None, lambda client: approve(client, elder["id"]))] * 10)

    assert scalar("SELECT count(*) FROM vouchers") == 1
    assert_ledger_ok(admin)
    assert_no_server_errors(results, live_server)
    ok = [r for r in results if r.status == 200]
    approvals = rows("SELECT from_status, to_status FROM elder_status_changes WHERE to_status = 'approved'")
    assert len(ok) == 1 and len(approvals) == 1, (
        f"one elder approved {len(ok)} times at once, {len(approvals)} approval records "
        f"{approvals}: {summary(results)}"
    )
    assert all(r.status == 409 and r.code == "INVALID_STATE" for r in results if r.status != 200)
