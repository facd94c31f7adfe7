"""Reversal of a redemption, and the month boundary.

The default redemption body (tests.factories.redemption_body) is item 11 上门洗浴 for 30000 fen
served at 09:00 on 2026-03-16; the ``client`` fixture freezes the clock at 10:00 that day."""

from __future__ import annotations

from tests.api.redemptions.helpers import (
    provider_headers,
    reverse,
    state,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    assert_problem,
    ledger_verify,
    make_provider,
    redeem,
    set_clock,
    voucher_of,
    vouchers_of,
)


def test_reversal_restores_the_balance_and_the_journal(client, elder, station):
    posted = redeem(client, station, elder["id"], amount_fen=30000).json()
    before = ledger_verify(client)
    response = reverse(client, station, posted["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {"id": posted["id"], "status": "reversed", "voucher_balance_fen": 80000}
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000
    got = client.get(f"{API}/redemptions/{posted['id']}", headers=provider_headers(station)).json()
    assert got["status"] == "reversed"
    assert got["deduction_fen"] == 15000  # the record is kept, marked reversed
    after = ledger_verify(client)
    assert after["ok"] is True, after
    assert after["entries"] == before["entries"] + 1
    # The released amount can be redeemed again.
    again = redeem(client, station, elder["id"], item=11, amount_fen=160000)
    assert again.status_code == 201, again.text
    assert again.json()["deduction_fen"] == 80000


def test_second_reversal_is_already_reversed(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    assert reverse(client, station, posted["id"]).status_code == 200
    before = state(client, elder["id"])
    assert_problem(reverse(client, station, posted["id"]), 409, "ALREADY_REVERSED")
    assert state(client, elder["id"]) == before
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000


def test_reversal_by_another_provider_is_not_found(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    other = make_provider(client)
    before = state(client, elder["id"])
    assert_problem(reverse(client, other, posted["id"]), 404)
    assert_problem(
        client.post(
            f"{API}/redemptions/00000000-0000-4000-8000-000000000000/reverse",
            headers=provider_headers(station),
        ),
        404,
    )
    assert state(client, elder["id"]) == before


def test_reversal_by_staff_is_refused(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    response = client.post(f"{API}/redemptions/{posted['id']}/reverse", headers=admin_headers())
    assert response.status_code in (403, 404), response.text
    assert voucher_of(client, elder["id"])["balance_fen"] == 65000


def test_reversal_after_the_month_is_month_closed(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    set_clock(client, "2026-04-01T00:00:00+08:00")
    before = ledger_verify(client)
    assert_problem(reverse(client, station, posted["id"]), 409, "MONTH_CLOSED")
    after = ledger_verify(client)
    assert after["entries"] == before["entries"]
    assert voucher_of(client, elder["id"])["balance_fen"] == 65000
    # Also once the expiry job has run.
    assert (
        client.post(f"{API}/jobs/expire", json={"month": "2026-03"}, headers=admin_headers()).status_code
        == 200
    )
    assert_problem(reverse(client, station, posted["id"]), 409, "MONTH_CLOSED")


def test_reversal_on_the_last_second_of_the_month(client, elder, station):
    posted = redeem(client, station, elder["id"]).json()
    set_clock(client, "2026-03-31T23:59:59+08:00")
    response = reverse(client, station, posted["id"])
    assert response.status_code == 200, response.text


def test_reversal_of_a_capped_redemption_restores_what_was_deducted(client, elder, station, institution):
    redeem(client, institution, elder["id"], item=2, amount_fen=150000)  # 60000
    capped = redeem(client, station, elder["id"], amount_fen=50000).json()  # 20000 (cap)
    assert capped["deduction_fen"] == 20000
    response = reverse(client, station, capped["id"])
    assert response.status_code == 200, response.text
    assert response.json()["voucher_balance_fen"] == 20000
    assert ledger_verify(client)["ok"] is True


def test_reversal_replay_of_the_original_key_still_replays_the_original(client, elder, station):
    posted = redeem(client, station, elder["id"], key="k-rev")
    assert reverse(client, station, posted.json()["id"]).status_code == 200
    again = redeem(client, station, elder["id"], key="k-rev")
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert voucher_of(client, elder["id"])["balance_fen"] == 80000  # nothing re-deducted


# --- the month boundary --------------------------------------------------------------------------
def test_last_second_of_the_month_redeems_march(client, elder, station):
    set_clock(client, "2026-03-31T23:59:59+08:00")
    response = redeem(client, station, elder["id"], served_at="2026-03-31T23:59:00+08:00")
    assert response.status_code == 201, response.text
    assert response.json()["voucher_id"] == elder["voucher"]["id"]


def test_first_second_of_the_next_month_refuses_the_march_voucher(client, elder, station):
    set_clock(client, "2026-04-01T00:00:00+08:00")
    before = ledger_verify(client)
    # A March service is outside the voucher valid now (April's); refused, nothing issued.
    march = redeem(client, station, elder["id"], served_at="2026-03-31T23:59:00+08:00")
    assert_problem(march, 422, "SERVED_AT_OUT_OF_RANGE")
    assert ledger_verify(client)["entries"] == before["entries"]
    assert vouchers_of(client, elder["id"], "2026-04") == []
    voucher = voucher_of(client, elder["id"])
    assert voucher["status"] == "expired"
    assert voucher["balance_fen"] == 80000  # not released until the expiry job runs
    april = redeem(client, station, elder["id"], served_at="2026-04-01T00:00:00+08:00")
    assert april.status_code == 201, april.text
    assert april.json()["month"] == "2026-04"
