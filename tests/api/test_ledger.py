"""The journal and GET /ledger/verify (CONTRACT.md, "Jobs"): every balance recomputed from an
append-only double-entry journal. The ``client`` fixture freezes the clock at
2026-03-16T10:00:00+08:00."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DatabaseError

from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    ledger_verify,
    make_provider,
    make_staff,
    redeem,
    run_job,
    set_clock,
    voucher_of,
)


def verify_as(client, headers):
    return client.get(f"{API}/ledger/verify", headers=headers)


# --- who may verify ------------------------------------------------------------------------------
def test_city_admin_and_auditor_may_verify(client):
    for headers in (admin_headers(), bearer(make_staff(client, role="auditor"))):
        response = verify_as(client, headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] is True
        assert body["entries"] == 0
        assert body["vouchers_checked"] == 0
        assert body["mismatches"] == []


def test_others_may_not_verify(client):
    for token in (
        make_staff(client, role="district_civil", district_code="110105"),
        make_staff(client, role="district_finance", district_code="110105"),
        make_provider(client)["api_key"],
    ):
        assert_problem(verify_as(client, bearer(token)), 403)
    assert_problem(client.get(f"{API}/ledger/verify"), 401)


# --- a realistic month ---------------------------------------------------------------------------
def test_verify_after_issue_redemptions_reversal_and_expiry(client):
    station = make_provider(client)
    institution = make_provider(client, kind="institution")
    a = approved_elder(client)  # issue entries: 1 each at approval
    b = approved_elder(client)
    c = approved_elder(client, district_code="110108")
    assert ledger_verify(client)["entries"] == 3
    r1 = redeem(client, station, a["id"], amount_fen=30000)  # 15000
    r2 = redeem(client, institution, a["id"], item=2, amount_fen=100000)  # 40000
    r3 = redeem(client, station, b["id"], item=7, amount_fen=1001)  # 501
    r4 = redeem(client, institution, c["id"], item=2, amount_fen=500000)  # 80000 (cap)
    for response in (r1, r2, r3, r4):
        assert response.status_code == 201, response.text
    assert (
        client.post(
            f"{API}/redemptions/{r1.json()['id']}/reverse", headers=bearer(station["api_key"])
        ).status_code
        == 200
    )
    # Refusals in between leave no trace.
    assert redeem(client, station, c["id"]).status_code == 409  # exhausted
    assert redeem(client, station, a["id"], id_checked=False).status_code == 422
    mid = ledger_verify(client)
    assert mid["ok"] is True, mid
    assert mid["entries"] == 3 + 4 + 1
    assert mid["lines"] == 2 * mid["entries"]
    assert voucher_of(client, a["id"])["balance_fen"] == 80000 - 40000
    assert voucher_of(client, b["id"])["balance_fen"] == 80000 - 501
    assert voucher_of(client, c["id"])["balance_fen"] == 0

    set_clock(client, "2026-04-01T00:00:05+08:00")
    expired = run_job(client, "expire", "2026-03").json()
    assert (expired["expired"], expired["released_fen"]) == (3, 40000 + 79499)
    issued = run_job(client, "issue", "2026-04").json()
    assert (issued["issued"], issued["already_issued"]) == (3, 0)
    end = ledger_verify(client)
    assert end["ok"] is True, end
    assert end["mismatches"] == []
    # expire: one entry (Chaoyang, two vouchers with money left); issue: one entry per district.
    assert end["entries"] == mid["entries"] + 1 + 2
    assert end["lines"] == mid["lines"] + (2 + 1) + (2 + 1) + (1 + 1)
    assert end["vouchers_checked"] == 6

    # Provider payables: what each was paid for its posted, unreversed redemptions.
    payable: dict[str, int] = {}
    for r in client.get(f"{API}/redemptions", headers=admin_headers()).json()["items"]:
        if r["status"] == "posted":
            payable[r["provider_id"]] = payable.get(r["provider_id"], 0) + r["deduction_fen"]
    assert payable == {station["id"]: 501, institution["id"]: 40000 + 80000}


def test_verify_with_a_revocation(client):
    station = make_provider(client)
    a = approved_elder(client)
    dead = approved_elder(client)
    assert redeem(client, station, a["id"], amount_fen=30000).status_code == 201
    redemption = redeem(client, station, dead["id"], amount_fen=30000)
    assert redemption.status_code == 201
    reversed_ = client.post(
        f"{API}/redemptions/{redemption.json()['id']}/reverse", headers=bearer(station["api_key"])
    )
    assert reversed_.status_code == 200
    assert redeem(client, station, dead["id"], amount_fen=20000).status_code == 201  # 10000
    before = ledger_verify(client)
    assert before["entries"] == 2 + 2 + 1 + 1
    response = client.post(
        f"{API}/elders/{dead['id']}/suspend", json={"reason": "deceased"}, headers=admin_headers()
    )
    assert response.status_code == 200, response.text
    revoked = ledger_verify(client)
    assert revoked["ok"] is True, revoked
    assert revoked["entries"] == before["entries"] + 1, "a revoke entry releases the 70000 left"
    assert voucher_of(client, dead["id"])["status"] == "revoked"
    set_clock(client, "2026-04-01T00:00:05+08:00")
    expired = run_job(client, "expire", "2026-03").json()
    assert (expired["expired"], expired["released_fen"]) == (1, 65000)
    assert run_job(client, "issue", "2026-04").json()["issued"] == 1
    end = ledger_verify(client)
    assert end["ok"] is True, end
    assert end["entries"] == revoked["entries"] + 1 + 1
    assert end["vouchers_checked"] == 3


# --- verify finds what is wrong ------------------------------------------------------------------
def test_verify_reports_a_tampered_voucher_balance(client):
    from app.db import session_scope
    from app.models.vouchers import Voucher

    elder = approved_elder(client)
    with session_scope() as session:
        session.execute(update(Voucher).values(balance_fen=Voucher.balance_fen - 1))
    report = ledger_verify(client)
    assert report["ok"] is False
    assert report["mismatches"] == [
        {
            "kind": "voucher_balance",
            "voucher_id": elder["voucher"]["id"],
            "stored_fen": 79999,
            "journal_fen": 80000,
        }
    ]


def test_verify_reports_an_unbalanced_entry(client):
    from app import clock
    from app.db import session_scope
    from app.models.ledger import JournalEntry, JournalLine

    approved_elder(client)
    with session_scope() as session:
        entry_id = session.execute(
            insert(JournalEntry)
            .values(
                district_code="110105",
                kind="issue",
                month=clock.current_month().first_day,
                created_at=clock.now(),
                created_by="test",
            )
            .returning(JournalEntry.id)
        ).scalar_one()
        session.execute(
            insert(JournalLine).values(
                entry_id=entry_id, district_code="110105", account="program_issued", amount_fen=-5
            )
        )
    report = ledger_verify(client)
    assert report["ok"] is False
    assert {"kind": "unbalanced_entry", "entry_id": str(entry_id), "sum_fen": -5} in report["mismatches"]


def test_journal_lines_cannot_be_updated(client):
    from app.db import session_scope
    from app.models.ledger import JournalLine

    approved_elder(client)
    with pytest.raises(DatabaseError):
        with session_scope() as session:
            session.execute(update(JournalLine).values(amount_fen=JournalLine.amount_fen * 2))
    assert ledger_verify(client)["ok"] is True


def test_every_stored_entry_sums_to_zero(client):
    """Straight from the tables: after a busy month no entry is out of balance."""
    from sqlalchemy import func

    from app.db import session_scope
    from app.models.ledger import JournalLine

    station = make_provider(client)
    elders = [approved_elder(client) for _ in range(3)]
    for elder in elders:
        for amount in (333, 4999, 12345):
            assert redeem(client, station, elder["id"], item=7, amount_fen=amount).status_code == 201
    set_clock(client, "2026-04-01T00:00:05+08:00")
    run_job(client, "expire", "2026-03")
    run_job(client, "issue", "2026-04")
    with session_scope(write=False) as session:
        sums = session.execute(
            select(JournalLine.entry_id, func.sum(JournalLine.amount_fen)).group_by(JournalLine.entry_id)
        ).all()
        voucher_total = session.scalar(
            select(func.sum(JournalLine.amount_fen)).where(JournalLine.account == "voucher")
        )
        assert session.execute(text("SELECT count(*) FROM journal_entries")).scalar_one() == len(sums)
    assert sums and all(total == 0 for _entry, total in sums)
    assert voucher_total == 3 * 80000  # March all released; April untouched
    assert ledger_verify(client)["ok"] is True
