"""``kill -9`` of the server in the middle of a redemption load, then a restart on the same data.

What a terminal was told (201) must be true after the crash; what it was not told (the
connection broke) may or may not have happened, and re-sending it with the same
Idempotency-Key must settle it exactly once. The journal must explain every balance.

PostgreSQL only: the question is what a committed transaction of the production database
survives; the SQLite file of a development deployment is not the system of record.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from tests.concurrency.conftest import (
    API,
    FACE_VALUE_FEN,
    all_redemptions,
    approved_elders,
    assert_ledger_ok,
    create_provider,
    redemption_body,
    rows,
    scalar,
    set_clock,
    the_voucher,
)
from tests.conftest import DEFAULT_NOW

ELDERS = 20
THREADS = 8
LOAD_SECONDS = 1.5
MAX_EXTRA_LOAD_SECONDS = 10.0
AMOUNT_FEN = 600  # 300 fen off the voucher each time: the load never exhausts a voucher
LOAD_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
MAX_REQUESTS_PER_THREAD = 5_000


@dataclass
class Sent:
    key: str
    body: dict
    status: int | None = None
    response: dict | None = None
    error: str | None = None


def redemption_load(server, api_key: str, elders: list[dict], stop: threading.Event):
    """THREADS terminals posting redemptions (distinct keys) until stopped or cut off."""
    sent: list[Sent] = []
    lock = threading.Lock()

    def terminal(t: int) -> None:
        with server.client(token=api_key, timeout=LOAD_TIMEOUT) as client:
            for i in range(MAX_REQUESTS_PER_THREAD):
                if stop.is_set():
                    return
                elder = elders[(t + i * THREADS) % len(elders)]
                record = Sent(f"crash-{t}-{i}", redemption_body(elder["id"], amount_fen=AMOUNT_FEN))
                with lock:
                    sent.append(record)
                try:
                    response = client.post(
                        f"{API}/redemptions", json=record.body, headers={"Idempotency-Key": record.key}
                    )
                except httpx.HTTPError as error:
                    record.error = f"{type(error).__name__}: {error}"
                    return  # the server is gone: this terminal stops
                record.status = response.status_code
                record.response = response.json()

    threads = [threading.Thread(target=terminal, args=(t,), daemon=True) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    return sent, threads


def assert_balances_follow_posted_redemptions(admin, terminal, elders) -> list[dict]:
    """Each voucher's balance is its face value minus its posted deductions, no more, no less."""
    redemptions = all_redemptions(terminal)
    for elder in elders:
        voucher = the_voucher(admin, elder["id"])
        posted = [
            r["deduction_fen"]
            for r in redemptions
            if r["voucher_id"] == voucher["id"] and r["status"] == "posted"
        ]
        assert voucher["balance_fen"] == FACE_VALUE_FEN - sum(posted), (voucher, len(posted))
        assert voucher["balance_fen"] >= 0
    return redemptions


def assert_every_redemption_journalled() -> None:
    assert (
        scalar(
            "SELECT count(*) FROM redemptions r WHERE NOT EXISTS (SELECT 1 FROM journal_entries e "
            "WHERE e.redemption_id = r.id AND e.kind = 'redeem')"
        )
        == 0
    )
    assert (
        scalar(
            "SELECT count(*) FROM journal_entries e WHERE NOT EXISTS "
            "(SELECT 1 FROM journal_lines l WHERE l.entry_id = e.id)"
        )
        == 0
    )
    # A key is claimed in the transaction that stores its response: never one without the other.
    assert rows("SELECT key FROM idempotency_keys WHERE response_status = 0") == []


# Crash recovery is tested on PostgreSQL, the production system of record; SQLite is the
# single-file development database.
@pytest.mark.backends("postgresql")
def test_kill_9_during_redemption_load_keeps_what_was_acknowledged_and_duplicates_nothing(
    backend, start_server
):
    server = start_server()
    with server.client() as admin:
        set_clock(admin, DEFAULT_NOW)
        provider = create_provider(admin)
        elders = approved_elders(admin, ELDERS)

    stop = threading.Event()
    sent, threads = redemption_load(server, provider["api_key"], elders, stop)
    time.sleep(LOAD_SECONDS)
    # On a slow machine, let the load run (bounded) until every terminal has been answered once.
    deadline = time.monotonic() + MAX_EXTRA_LOAD_SECONDS
    while sum(s.status == 201 for s in list(sent)) < THREADS and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL, requests in flight
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a load thread did not stop after the server died"

    acknowledged = [s for s in sent if s.status == 201]
    unknown = [s for s in sent if s.error is not None]
    refused = [s for s in sent if s.status is not None and s.status != 201]
    assert not refused, [(s.status, s.response) for s in refused[:5]]
    assert len(acknowledged) >= THREADS, f"too little load before the kill: {len(acknowledged)}"
    assert unknown, "the kill cut no request off"

    restarted = start_server()
    with restarted.client() as admin, restarted.client(token=provider["api_key"]) as terminal:
        # 1. Everything acknowledged survived, as it was acknowledged.
        for record in acknowledged:
            response = terminal.get(f"{API}/redemptions/{record.response['id']}")
            assert response.status_code == 200, (record.key, response.text)
            stored = response.json()
            assert stored["status"] == "posted"
            assert stored["deduction_fen"] == record.response["deduction_fen"]
            assert stored["voucher_id"] == record.response["voucher_id"]
        # 2. No half-written redemption; the journal explains every balance.
        assert_every_redemption_journalled()
        assert_ledger_ok(admin)
        before = assert_balances_follow_posted_redemptions(admin, terminal, elders)
        assert len(before) >= len(acknowledged)
        assert len(before) <= len(acknowledged) + len(unknown)

        # 3. What the terminals never heard back about is re-sent with the same key: either the
        # original outcome is replayed or it is posted now, never twice.
        replayed = fresh = 0
        resent_ids = []
        for record in unknown:
            response = terminal.post(
                f"{API}/redemptions", json=record.body, headers={"Idempotency-Key": record.key}
            )
            assert response.status_code == 201, (record.key, response.text)
            if response.headers.get("Idempotent-Replayed") == "true":
                replayed += 1
            else:
                fresh += 1
            resent_ids.append(response.json()["id"])
        assert len(before) == len(acknowledged) + replayed, (len(before), len(acknowledged), replayed, fresh)
        print(
            f"kill -9 after {LOAD_SECONDS} s: {len(acknowledged)} acknowledged, {len(unknown)} cut "
            f"off ({replayed} had committed and were replayed, {fresh} were posted on re-send)"
        )

        after = assert_balances_follow_posted_redemptions(admin, terminal, elders)
        assert_every_redemption_journalled()
        assert_ledger_ok(admin)
        all_ids = [s.response["id"] for s in acknowledged] + resent_ids
        assert len(set(all_ids)) == len(all_ids), "one redemption answered for two keys"
        assert sorted(r["id"] for r in after) == sorted(all_ids)
        assert scalar("SELECT count(*) FROM idempotency_keys") == len(acknowledged) + len(unknown)
